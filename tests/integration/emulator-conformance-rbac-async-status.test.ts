// RBAC for the status URL of ACI's async operations (the Azure-AsyncOperation header of create, delete,
// start and restart: /subscriptions/{s}/providers/Microsoft.ContainerInstance/locations/{r}/operations/{id}).
// Source: MicrosoftDocs/azure-docs, articles/azure-resource-manager/management/async-operations.md,
// "Permission for tracking async status": permission at the resource group of the resource suffices,
// permission on the resource alone does not. Action name: permissions/containers.md
// (Microsoft.ContainerInstance/locations/operations/read). And the grants compiled from bicep/ must let the
// controller poll every operation it starts, or every job fails at create.
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

const SUB = '00000000-0000-4000-a000-0000000000ab';
const RG = 'aci-batch-jobs';
const RG_ID = `/subscriptions/${SUB}/resourceGroups/${RG}`;
const uami = (n: string) => `${RG_ID}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${n}`;
const STATUS = 'Microsoft.ContainerInstance/locations/operations/read';
const GROUPS = ['read', 'write', 'delete', 'start/action', 'restart/action'].map(
  (a) => `Microsoft.ContainerInstance/containerGroups/${a}`,
);
const ASSIGN = 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action';

const body = (e: Emulator, identity: string) => ({
  location: e.location,
  identity: { type: 'UserAssigned', userAssignedIdentities: { [identity]: {} } },
  properties: {
    osType: 'Linux',
    restartPolicy: 'Never',
    imageRegistryCredentials: [{ server: e.registryLoginServer, identity }],
    containers: [
      {
        name: 'job',
        properties: {
          image: `${e.registryLoginServer}/test/http:1.0`,
          ports: [{ port: 8080 }],
          resources: { requests: { cpu: 0.1, memoryInGB: 0.1 } },
        },
      },
    ],
  },
});
const groupUrl = (e: Emulator, rg: string, n: string) =>
  `${e.armEndpoint}/subscriptions/${e.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.ContainerInstance/containerGroups/${n}?api-version=2023-05-01`;
const asyncUrl = (r: { headers: Record<string, string | string[] | undefined> }) => {
  const u = r.headers['azure-asyncoperation'];
  assert.equal(typeof u, 'string', 'no Azure-AsyncOperation header');
  return u as string;
};

describe('azure emulator: RBAC of async-operation status reads (async-operations.md)', () => {
  const data = tempDir('emu-rbac-async-');
  let emu: Emulator;
  const tokens: Record<string, string> = {};
  const principals = ['rg-role', 'no-status', 'group-only', 'other-rg'];

  before(async () => {
    const ids = join(data, 'identities.json');
    const grantsFile = join(data, 'grants.json');
    writeFileSync(
      ids,
      JSON.stringify({ identities: [...principals, 'jobs'].map((name) => ({ name, resourceId: uami(name) })) }),
    );
    const grants: GrantsFile = {
      appIdentities: principals,
      assignments: [
        ...principals.map((principal) => ({ principal, scope: uami('jobs'), actions: [ASSIGN] })),
        { principal: 'jobs', scope: '/', actions: ['Microsoft.ContainerRegistry/registries/pull/read'] },
        // The deployed shape: one role on the jobs resource group holding the status read.
        { principal: 'rg-role', scope: RG_ID, actions: [...GROUPS, STATUS] },
        // The role as it was before: no status read anywhere.
        { principal: 'no-status', scope: RG_ID, actions: GROUPS },
        // The status read on the container group itself: resource level, which the doc says is not enough.
        { principal: 'group-only', scope: RG_ID, actions: GROUPS },
        {
          principal: 'group-only',
          scope: `${RG_ID}/providers/Microsoft.ContainerInstance/containerGroups/g-only`,
          actions: [STATUS],
        },
        // The status read on some other resource group: does not cover this group's operations.
        { principal: 'other-rg', scope: RG_ID, actions: GROUPS },
        { principal: 'other-rg', scope: `/subscriptions/${SUB}/resourceGroups/elsewhere`, actions: [STATUS] },
      ],
    };
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
    for (const n of principals) {
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

  /** Creates a group as `who` and reads the status of the create operation as `who`. */
  const createAndPoll = async (who: string, name: string) => {
    const put = await call(emu, 'PUT', groupUrl(emu, RG, name), { token: tokens[who], body: body(emu, uami('jobs')) });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    return call(emu, 'GET', asyncUrl(put), { token: tokens[who] });
  };

  it('the status read granted on the resource group covers the subscription-level operation URL', async () => {
    const r = await createAndPoll('rg-role', 'g-rg');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(typeof r.body.status, 'string');
    // Delete polls the same URL.
    const del = await call(emu, 'DELETE', groupUrl(emu, RG, 'g-rg'), { token: tokens['rg-role'] });
    if (del.status === 202)
      assert.equal((await call(emu, 'GET', asyncUrl(del), { token: tokens['rg-role'] })).status, 200);
  });

  it('without the status read the poll is 403 AuthorizationFailed naming the action and the resource group', async () => {
    const r = await createAndPoll('no-status', 'g-none');
    assert.equal(r.status, 403);
    assert.equal(r.body.error?.code, 'AuthorizationFailed');
    assert.match(
      r.body.error?.message ?? '',
      new RegExp(`perform action '${STATUS.replace(/\./g, '\\.')}' over scope '${RG_ID}'`),
    );
  });

  it('granted on the resource alone, or on another resource group, it does not cover the poll', async () => {
    assert.equal((await createAndPoll('group-only', 'g-only')).status, 403);
    assert.equal((await createAndPoll('other-rg', 'g-other')).status, 403);
  });

  it('the grants compiled from bicep/main.bicep let the controller poll its create, and lose it without the action', async (t) => {
    if (!bicepOrSkip(t)) return;
    const deployed = deployedGrants() as unknown as DeployedGrantsFile;
    const run = async (doc: DeployedGrantsFile): Promise<number> => {
      const dir = tempDir('emu-deployed-async-');
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
        const jobs = e.identities.find((i) => i.name === 'aci-batch-jobs')?.resourceId as string;
        const put = await call(e, 'PUT', groupUrl(e, 'aci-batch-jobs', 'polled'), {
          token: tok.token as string,
          body: body(e, jobs),
        });
        assert.equal(put.status, 201, JSON.stringify(put.body));
        return (await call(e, 'GET', asyncUrl(put), { token: tok.token as string })).status;
      } finally {
        await e.close();
        removeDir(dir);
      }
    };
    assert.equal(await run(deployed), 200, 'the deployed grants must cover polling the create');
    const without: DeployedGrantsFile = {
      ...deployed,
      grants: deployed.grants.map((g) =>
        g.permissions
          ? { ...g, permissions: { ...g.permissions, actions: g.permissions.actions.filter((a) => a !== STATUS) } }
          : g,
      ),
    };
    assert.equal(await run(without), 403);
  });
});
