// RBAC in the emulator (--grants) against Azure's 403 shapes: a caller without the action gets
// AuthorizationFailed naming it, a PUT linking an identity it may not assign gets
// LinkedAuthorizationFailed, a job identity without AcrPull gets InaccessibleImage, the registry
// grants only what AcrPull allows, and the identity endpoint serves only the app's identities.
// Sources: learn.microsoft.com role-based-access-control/troubleshooting.md (both 403 messages),
// permissions/containers.md (Microsoft.ContainerInstance and ContainerRegistry actions),
// container-registry-roles.md (AcrPull = Microsoft.ContainerRegistry/registries/pull/read).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../local/azure-emulator/index';
import { createLogger } from '../../local/azure-emulator/log';
import type { DeployedGrantsFile, GrantsFile } from '../../local/azure-emulator/rbac';
import { bicepOrSkip } from '../../scripts/bicep-cli';
import { deployedGrants } from '../../scripts/deployed-grants';
import { IMAGES, removeDir, tempDir } from '../fixtures/emulator/harness';
import { call, miToken } from '../fixtures/emulator/raw-arm';

const SUB = '00000000-0000-4000-a000-0000000000aa';
const RG = 'aci-batch-jobs';
const RG_ID = `/subscriptions/${SUB}/resourceGroups/${RG}`;
const uami = (n: string) => `${RG_ID}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${n}`;
const REGISTRY = `/subscriptions/${SUB}/resourceGroups/aci-batch/providers/Microsoft.ContainerRegistry/registries/acibatch`;
const ASSIGN = 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action';
const MIO = [
  'Microsoft.ManagedIdentity/userAssignedIdentities/*/read',
  'Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action',
];
const ACR_PULL = 'Microsoft.ContainerRegistry/registries/pull/read';
const GROUPS = [
  'Microsoft.ContainerInstance/containerGroups/read',
  'Microsoft.ContainerInstance/containerGroups/write',
  'Microsoft.ContainerInstance/containerGroups/delete',
];

describe('azure emulator: RBAC with --grants (conformance with ARM 403s)', () => {
  const data = tempDir('emu-rbac-');
  let emu: Emulator;
  const tokens: Record<string, string> = {};

  const grants: GrantsFile = {
    registry: REGISTRY,
    appIdentities: ['controller', 'no-write', 'no-assign'],
    assignments: [
      { principal: 'controller', role: 'aci-batch container groups', scope: RG_ID, actions: GROUPS },
      // Managed Identity Operator's own action list (built-in role f1a07417-d97a-45cb-824c-7a7467783830).
      { principal: 'controller', role: 'Managed Identity Operator', scope: uami('jobs'), actions: MIO },
      { principal: 'controller', role: 'Managed Identity Operator', scope: uami('no-pull'), actions: [ASSIGN] },
      { principal: 'controller', role: 'AcrPull', scope: REGISTRY, actions: [ACR_PULL] },
      { principal: 'jobs', role: 'AcrPull', scope: REGISTRY, actions: [ACR_PULL] },
      // The same role minus write: what "removing one grant" looks like.
      {
        principal: 'no-write',
        scope: RG_ID,
        actions: ['Microsoft.ContainerInstance/containerGroups/*'],
        notActions: ['Microsoft.ContainerInstance/containerGroups/write'],
      },
      { principal: 'no-write', scope: uami('jobs'), actions: [ASSIGN] },
      { principal: 'no-assign', scope: RG_ID, actions: GROUPS },
    ],
  };

  const url = (name: string) =>
    `${emu.armEndpoint}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ContainerInstance/containerGroups/${name}?api-version=2023-05-01`;
  const group = (pullIdentity: string) => ({
    location: emu.location,
    identity: { type: 'UserAssigned', userAssignedIdentities: { [uami(pullIdentity)]: {} } },
    properties: {
      osType: 'Linux',
      restartPolicy: 'Never',
      imageRegistryCredentials: [{ server: emu.registryLoginServer, identity: uami(pullIdentity) }],
      containers: [
        {
          name: 'job',
          properties: {
            image: `${emu.registryLoginServer}/test/http:1.0`,
            ports: [{ port: 8080 }],
            resources: { requests: { cpu: 0.1, memoryInGB: 0.1 } },
          },
        },
      ],
    },
  });

  before(async () => {
    const ids = join(data, 'identities.json');
    const grantsFile = join(data, 'grants.json');
    const names = ['controller', 'jobs', 'no-pull', 'no-write', 'no-assign'];
    writeFileSync(ids, JSON.stringify({ identities: names.map((name) => ({ name, resourceId: uami(name) })) }));
    writeFileSync(grantsFile, JSON.stringify(grants));
    emu = await startEmulator({
      dataDir: join(data, 'emu'),
      imagesFile: IMAGES,
      identitiesFile: ids,
      grantsFile,
      subscriptionId: SUB,
      provisioningDelayMs: 0,
      disableCgroups: true,
      stopGraceMs: 300,
      logger: createLogger('warn'),
    });
    for (const n of ['controller', 'no-write', 'no-assign']) {
      const id = emu.identities.find((i) => i.name === n);
      const t = await miToken(emu, 'https://management.azure.com', id?.clientId);
      assert.equal(t.status, 200, t.body);
      tokens[n] = t.token as string;
    }
  });

  after(async () => {
    await emu?.close();
    removeDir(data);
  });

  it('the granted roles suffice: create, read and delete a group', async () => {
    const t = tokens.controller;
    assert.equal((await call(emu, 'PUT', url('ok'), { token: t, body: group('jobs') })).status, 201);
    assert.equal((await call(emu, 'GET', url('ok'), { token: t })).status, 200);
    assert.ok([200, 202].includes((await call(emu, 'DELETE', url('ok'), { token: t })).status));
  });

  it('a missing action is 403 AuthorizationFailed naming the action and the scope', async () => {
    const r = await call(emu, 'PUT', url('nw'), { token: tokens['no-write'], body: group('jobs') });
    assert.equal(r.status, 403);
    assert.equal(r.body.error?.code, 'AuthorizationFailed');
    const id = emu.identities.find((i) => i.name === 'no-write');
    assert.equal(
      r.body.error?.message,
      `The client '${id?.clientId}' with object id '${id?.principalId}' does not have authorization to perform action 'Microsoft.ContainerInstance/containerGroups/write' over scope '${RG_ID}/providers/Microsoft.ContainerInstance/containerGroups/nw' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    );
    // Reads stay allowed (404 for a group that is not there, not 403).
    assert.equal((await call(emu, 'GET', url('nw'), { token: tokens['no-write'] })).status, 404);
    // Outside the assignment's scope nothing is allowed.
    const other = await call(emu, 'GET', url('x').replace(`/resourceGroups/${RG}/`, '/resourceGroups/elsewhere/'), {
      token: tokens.controller,
    });
    assert.equal(other.body.error?.code, 'AuthorizationFailed');
  });

  it('linking a user-assigned identity without assign/action is 403 LinkedAuthorizationFailed', async () => {
    const r = await call(emu, 'PUT', url('na'), { token: tokens['no-assign'], body: group('jobs') });
    assert.equal(r.status, 403);
    assert.equal(r.body.error?.code, 'LinkedAuthorizationFailed');
    assert.match(
      r.body.error?.message ?? '',
      new RegExp(
        `has permission to perform action 'Microsoft\\.ContainerInstance/containerGroups/write' on scope '.*/containerGroups/na'; however, it does not have permission to perform action\\(s\\) '${ASSIGN.replace(/\./g, '\\.')}' on the linked scope\\(s\\) '${uami('jobs')}' \\(respectively\\) or the linked scope\\(s\\) are invalid\\.$`,
      ),
    );
  });

  it('a job identity without AcrPull cannot pull: 400 InaccessibleImage', async () => {
    const r = await call(emu, 'PUT', url('np'), { token: tokens.controller, body: group('no-pull') });
    assert.deepEqual([r.status, r.body.error?.code], [400, 'InaccessibleImage']);
  });

  it('the registry grants only what the caller may do (AcrPull) and the identity endpoint serves only the app', async () => {
    const pullStatus = async (name: string) => {
      const id = emu.identities.find((i) => i.name === name);
      const aad = await miToken(emu, 'https://containerregistry.azure.net', id?.clientId);
      const ex = await call(emu, 'POST', `${emu.registryEndpoint}/oauth2/exchange`, {
        form: { grant_type: 'access_token', service: emu.registryLoginServer, access_token: aad.token ?? '' },
      });
      const tok = await call(emu, 'POST', `${emu.registryEndpoint}/oauth2/token`, {
        form: {
          grant_type: 'refresh_token',
          service: emu.registryLoginServer,
          scope: 'repository:test/http:pull',
          refresh_token: String(ex.body.refresh_token),
        },
      });
      return (
        await call(emu, 'GET', `${emu.registryEndpoint}/v2/test/http/manifests/1.0`, {
          token: String(tok.body.access_token),
        })
      ).status;
    };
    assert.equal(await pullStatus('controller'), 200, 'AcrPull on the registry');
    assert.equal(await pullStatus('no-write'), 401, 'no AcrPull: the token carries no pull right');
    // appIdentities lists the app's identities: the job identity is ACI's, not the app's.
    const jobs = emu.identities.find((i) => i.name === 'jobs');
    assert.equal((await miToken(emu, 'https://management.azure.com', jobs?.clientId)).status, 400);
    assert.equal(
      (await miToken(emu, 'https://management.azure.com', 'aaaaaaaa-0000-4000-a000-000000000000')).status,
      400,
    );
  });

  it('the grants compiled from bicep/main.bicep suffice for the controller, and removing one is caught naming the action', async (t) => {
    if (!bicepOrSkip(t)) return;
    const deployed = deployedGrants() as unknown as DeployedGrantsFile;
    const run = async (doc: DeployedGrantsFile, fn: (e: Emulator, token: string) => Promise<void>) => {
      const dir = tempDir('emu-deployed-');
      writeFileSync(join(dir, 'grants.json'), JSON.stringify(doc));
      const e = await startEmulator({
        dataDir: join(dir, 'emu'),
        imagesFile: IMAGES,
        grantsFile: join(dir, 'grants.json'),
        provisioningDelayMs: 0,
        disableCgroups: true,
        stopGraceMs: 300,
        logger: createLogger('warn'),
      });
      try {
        const controller = e.identities.find((i) => i.name === 'aci-batch-controller');
        const tok = await miToken(e, 'https://management.azure.com', controller?.clientId);
        assert.equal(tok.status, 200, tok.body);
        await fn(e, tok.token as string);
      } finally {
        await e.close();
        removeDir(dir);
      }
    };
    const jobsGroup = (e: Emulator) => {
      const jobs = e.identities.find((i) => i.name === 'aci-batch-jobs')?.resourceId as string;
      const body = group('jobs') as ReturnType<typeof group> & {
        properties: { containers: Array<{ properties: { image: string } }> };
      };
      return {
        ...body,
        location: e.location,
        identity: { type: 'UserAssigned', userAssignedIdentities: { [jobs]: {} } },
        properties: {
          ...body.properties,
          imageRegistryCredentials: [{ server: e.registryLoginServer, identity: jobs }],
          containers: body.properties.containers.map((c) => ({
            ...c,
            properties: { ...c.properties, image: `${e.registryLoginServer}/test/http:1.0` },
          })),
        },
      };
    };
    const groupUrl = (e: Emulator, n: string) =>
      `${e.armEndpoint}/subscriptions/${e.subscriptionId}/resourceGroups/aci-batch-jobs/providers/Microsoft.ContainerInstance/containerGroups/${n}?api-version=2023-05-01`;
    await run(deployed, async (e, token) => {
      const put = await call(e, 'PUT', groupUrl(e, 'deployed'), { token, body: jobsGroup(e) });
      assert.equal(put.status, 201, JSON.stringify(put.body));
      assert.equal((await call(e, 'GET', groupUrl(e, 'deployed'), { token })).status, 200);
      assert.ok([200, 202].includes((await call(e, 'DELETE', groupUrl(e, 'deployed'), { token })).status));
    });
    const WRITE = 'Microsoft.ContainerInstance/containerGroups/write';
    const without: DeployedGrantsFile = {
      ...deployed,
      grants: deployed.grants.map((g) =>
        g.permissions
          ? { ...g, permissions: { ...g.permissions, actions: g.permissions.actions.filter((a) => a !== WRITE) } }
          : g,
      ),
    };
    await run(without, async (e, token) => {
      const put = await call(e, 'PUT', groupUrl(e, 'missing'), { token, body: jobsGroup(e) });
      assert.equal(put.status, 403);
      assert.equal(put.body.error?.code, 'AuthorizationFailed');
      assert.match(
        put.body.error?.message ?? '',
        new RegExp(`perform action '${WRITE.replace(/\./g, '\\.')}' over scope`),
      );
    });
  });
});
