// startEmulator() in-process (how tests and benchmarks embed it), with the CA passed as
// tlsOptions instead of NODE_EXTRA_CA_CERTS, and the no-cgroups fallback.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import { ContainerRegistryClient } from '@azure/container-registry';
import { ManagedIdentityCredential } from '@azure/identity';
import { startEmulator, type Emulator } from '../../local/azure-emulator/index';
import { createLogger } from '../../local/azure-emulator/log';
import { IMAGES, pidAlive, removeDir, tempDir, waitUntil } from '../fixtures/emulator/harness';

describe('azure emulator: in-process startEmulator()', () => {
  const data = tempDir('emu-inproc-');
  let emu: Emulator;

  before(async () => {
    emu = await startEmulator({
      dataDir: data,
      imagesFile: IMAGES,
      provisioningDelayMs: 0,
      disableCgroups: true,
      stopGraceMs: 300,
      logger: createLogger('warn'),
    });
    // MSAL picks its managed-identity source on first use: set the App Service variables before that.
    process.env.IDENTITY_ENDPOINT = emu.identityEndpoint;
    process.env.IDENTITY_HEADER = emu.identityHeader;
  });

  after(async () => {
    await emu?.close();
    removeDir(data);
  });

  it('allows anonymous pulls only when started with anonymousPull', async () => {
    const dir = tempDir('emu-anon-');
    const open = await startEmulator({
      dataDir: dir,
      imagesFile: IMAGES,
      provisioningDelayMs: 0,
      disableCgroups: true,
      anonymousPull: true,
      logger: createLogger('error'),
    });
    try {
      const ca = readFileSync(open.caCertFile, 'utf8');
      const anonymous = new ContainerRegistryClient(open.registryEndpoint, {
        audience: 'https://containerregistry.azure.net',
        tlsOptions: { ca },
      });
      const props = await anonymous.getArtifact('test/http', 'latest').getManifestProperties();
      assert.match(props.digest, /^sha256:/);
      const names: string[] = [];
      const listed = await (async () => {
        try {
          for await (const n of anonymous.listRepositoryNames()) names.push(n);
          return 'listed';
        } catch (e) {
          return (e as { statusCode?: number }).statusCode;
        }
      })();
      assert.equal(listed, 401, 'anonymous access is pull-only: no catalog');
    } finally {
      await open.close();
      removeDir(dir);
    }
  });

  it('serves the SDKs with tlsOptions.ca and runs groups without cgroups when told to', async () => {
    assert.equal(emu.cgroups, false);
    const ca = readFileSync(emu.caCertFile, 'utf8');
    const jobs = emu.identities.find((i) => i.name === 'aci-batch-jobs');
    assert.ok(jobs?.resourceId);
    const credential = new ManagedIdentityCredential({ clientId: emu.identities[0]?.clientId ?? '' });
    const registry = new ContainerRegistryClient(emu.registryEndpoint, credential, { tlsOptions: { ca } });
    const digest = (await registry.getArtifact('test/crash', '1.0').getManifestProperties()).digest;
    const arm = new ContainerInstanceManagementClient(credential, emu.subscriptionId, {
      endpoint: emu.armEndpoint,
      credentialScopes: ['https://management.azure.com/.default'],
      tlsOptions: { ca },
    });
    await arm.containerGroups.beginCreateOrUpdateAndWait(
      'rg',
      'inproc',
      {
        location: emu.location,
        osType: 'Linux',
        restartPolicy: 'Never',
        identity: { type: 'UserAssigned', userAssignedIdentities: { [jobs.resourceId]: {} } },
        imageRegistryCredentials: [{ server: emu.registryLoginServer, identity: jobs.resourceId }],
        containers: [
          {
            name: 'c',
            image: `${emu.registryLoginServer}/test/crash@${digest}`,
            resources: { requests: { cpu: 1, memoryInGB: 1 } },
            environmentVariables: [
              { name: 'EXIT_CODE', value: '7' },
              { name: 'DELAY_MS', value: '200' },
            ],
          },
        ],
      },
      { updateIntervalInMs: 20 },
    );
    let last = await arm.containerGroups.get('rg', 'inproc');
    await waitUntil('exit', async () => {
      last = await arm.containerGroups.get('rg', 'inproc');
      return last.instanceView?.state === 'Failed';
    });
    assert.equal(last.containers[0]?.instanceView?.currentState?.exitCode, 7);
    const logs = await arm.containers.listLogs('rg', 'inproc', 'c');
    assert.equal(logs.content, 'line 1 of 3\nline 2 of 3\nline 3 of 3\nabout to exit\n');
    // A long-running group, then close(): nothing is left running.
    const httpDigest = (await registry.getArtifact('test/http', '1.0').getManifestProperties()).digest;
    await arm.containerGroups.beginCreateOrUpdateAndWait(
      'rg',
      'server',
      {
        location: emu.location,
        osType: 'Linux',
        identity: { type: 'UserAssigned', userAssignedIdentities: { [jobs.resourceId]: {} } },
        imageRegistryCredentials: [{ server: emu.registryLoginServer, identity: jobs.resourceId }],
        containers: [
          {
            name: 'web',
            image: `${emu.registryLoginServer}/test/http@${httpDigest}`,
            ports: [{ port: 8080 }],
            resources: { requests: { cpu: 1, memoryInGB: 1 } },
            environmentVariables: [{ name: 'PORT', value: '8080' }],
          },
        ],
      },
      { updateIntervalInMs: 20 },
    );
    const res = await fetch(`${emu.armEndpoint}/_emulator/groups`).catch(() => undefined);
    assert.equal(res, undefined, 'fetch does not trust the local CA without NODE_EXTRA_CA_CERTS');
    const groups = await new Promise<{ groups: Array<{ name: string; containers: Array<{ pid: number }> }> }>(
      (resolve, reject) => {
        httpsGet(
          `${emu.armEndpoint}/_emulator/groups`,
          { ca, headers: { authorization: `Bearer ${emu.adminToken}` } },
          (r) => {
            let d = '';
            r.on('data', (c: Buffer) => (d += c.toString()));
            r.on('end', () => resolve(JSON.parse(d)));
          },
        ).on('error', reject);
      },
    );
    const pid = groups.groups.find((g) => g.name === 'server')?.containers[0]?.pid;
    assert.ok(pid && pidAlive(pid));
    await emu.close();
    await waitUntil('server process gone', () => !pidAlive(pid), 5000);
  });
});
