// The emulator against Azure's own contracts (issue 11): each test names the document, REST spec
// example or recorded response it follows, and checks status, error code and message shape with raw
// HTTPS (the SDK hides headers and some codes).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, type Emulator } from '../../local/azure-emulator/index';
import { createLogger } from '../../local/azure-emulator/log';
import { IMAGES, removeDir, tempDir, waitUntil } from '../fixtures/emulator/harness';
import { call, miToken, type RawResponse } from '../fixtures/emulator/raw-arm';

const RG = 'aci-batch-jobs';
const API = 'api-version=2023-05-01';

describe('azure emulator: conformance with Azure (ARM + ACI)', () => {
  const data = tempDir('emu-conf-');
  let emu: Emulator;
  let token = '';

  const url = (name: string, suffix = '') =>
    `${emu.armEndpoint}/subscriptions/${emu.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerInstance/containerGroups/${name}${suffix}?${API}`;
  const put = (name: string, body: unknown) => call(emu, 'PUT', url(name), { token, body });
  const get = (name: string) => call(emu, 'GET', url(name), { token });
  const state = async (name: string) =>
    ((await get(name)).body.properties as { instanceView?: { state?: string } } | undefined)?.instanceView?.state;

  function group(
    opts: {
      image?: string;
      cpu?: number;
      memoryInGB?: number;
      restartPolicy?: string;
      env?: string;
      limits?: unknown;
    } = {},
  ) {
    const jobs = emu.identities.find((i) => i.name === 'aci-batch-jobs')?.resourceId as string;
    return {
      location: emu.location,
      identity: { type: 'UserAssigned', userAssignedIdentities: { [jobs]: {} } },
      properties: {
        osType: 'Linux',
        restartPolicy: opts.restartPolicy ?? 'Never',
        imageRegistryCredentials: [{ server: emu.registryLoginServer, identity: jobs }],
        containers: [
          {
            name: 'job',
            properties: {
              image: `${emu.registryLoginServer}/${opts.image ?? 'test/http:1.0'}`,
              ports: [{ port: 8080 }],
              environmentVariables: [{ name: 'MARK', value: opts.env ?? 'a' }],
              resources: {
                requests: { cpu: opts.cpu ?? 0.5, memoryInGB: opts.memoryInGB ?? 0.5 },
                ...(opts.limits ? { limits: opts.limits } : {}),
              },
            },
          },
        ],
      },
    };
  }
  const err = (r: RawResponse) => [r.status, r.body.error?.code];
  /** Delete and wait until ARM no longer has it (a group still being created answers 409 meanwhile). */
  async function remove(name: string): Promise<void> {
    await waitUntil(
      `${name} deleted`,
      async () => [200, 204].includes((await call(emu, 'DELETE', url(name), { token })).status),
      20000,
    );
    await waitUntil(`${name} gone`, async () => (await get(name)).status === 404, 20000);
  }
  const running = (name: string) => waitUntil(`${name} running`, async () => (await state(name)) === 'Running', 20000);

  before(async () => {
    emu = await startEmulator({
      dataDir: data,
      imagesFile: IMAGES,
      provisioningDelayMs: 0,
      disableCgroups: true,
      stopGraceMs: 300,
      maxGroups: 3,
      maxCores: 2,
      logger: createLogger('warn'),
    });
    const controller = emu.identities.find((i) => i.name === 'aci-batch-controller');
    token = (await miToken(emu, 'https://management.azure.com', controller?.clientId)).token ?? '';
    assert.ok(token);
  });

  after(async () => {
    await emu?.close();
    removeDir(data);
  });

  it('row 6: an unknown api-version is 400 NoRegisteredProviderFound naming the supported ones; a malformed one 400 InvalidApiVersionParameter', async () => {
    // Azure/azure-cli#30444 (ARM's answer for Microsoft.ContainerInstance, 400 per nebari-dev/nebari#2374):
    // "No registered resource provider found for location 'chinaeast2' and API version '2024-05-01-preview'
    // for type 'containerGroups'. The supported api-versions are '…'. The supported locations are '…'."
    const base = `${emu.armEndpoint}/subscriptions/${emu.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerInstance/containerGroups/x`;
    const unknown = await call(emu, 'GET', `${base}?api-version=2099-01-01`, { token });
    assert.deepEqual(err(unknown), [400, 'NoRegisteredProviderFound']);
    assert.match(
      unknown.body.error?.message ?? '',
      /^No registered resource provider found for location 'westeurope' and API version '2099-01-01' for type 'containerGroups'\. The supported api-versions are '.*2023-05-01.*'\. The supported locations are 'westeurope'\.$/,
    );
    // ansible-collections/azure#188: "The api-version '…' is invalid. The supported versions are '…'."
    const bad = await call(emu, 'GET', `${base}?api-version=latest`, { token });
    assert.deepEqual(err(bad), [400, 'InvalidApiVersionParameter']);
    assert.match(bad.body.error?.message ?? '', /^The api-version 'latest' is invalid\. The supported versions are '/);
  });

  it('row 4: above 4 vCPU / 16 GB is 409 ServiceUnavailable; bad limits are ACI 400s', async () => {
    // container-instances-troubleshooting.md "Resource not available"; message as recorded in a
    // Terraform log for a 4 CPU / 32 GB request.
    const big = await put('too-big', group({ cpu: 1, memoryInGB: 32 }));
    assert.deepEqual(err(big), [409, 'ServiceUnavailable']);
    assert.equal(
      big.body.error?.message,
      "The requested resource is not available in the location 'westeurope' at this moment. Please retry with a different resource request or in another location. Resource requested: '1' CPU '32' GB memory 'Linux' OS",
    );
    // docker-archive/compose-cli#357 quotes both 400s from ACI.
    const less = await put('limits-less', group({ cpu: 1, memoryInGB: 1, limits: { cpu: 1, memoryInGB: 0.5 } }));
    assert.deepEqual(err(less), [400, 'ResourceLimitsLessThanRequests']);
    assert.match(
      less.body.error?.message ?? '',
      /The 'MemoryInGB' limit value must be greater than or equal to the request value\.$/,
    );
    const more = await put('limits-more', group({ cpu: 1, memoryInGB: 1, limits: { cpu: 1.5 } }));
    assert.deepEqual(err(more), [400, 'ContainerLimitGreaterThanContainerGroupTotalRequest']);
    assert.equal(
      more.body.error?.message,
      "The 'Cpu' limit '1.5' in container 'job' is greater than the total request '1' of container group 'limits-more'.",
    );
    const equal = await put('limits-ok', group({ cpu: 0.5, memoryInGB: 0.5, limits: { cpu: 0.5, memoryInGB: 0.5 } }));
    assert.equal(equal.status, 201);
    await remove('limits-ok');
  });

  it('row 3: changing CPU, memory or restart policy of an existing group is 400 InvalidContainerGroupUpdate; env changes redeploy', async () => {
    // azure-compute-docs container-instances-update.md "Properties that require container delete";
    // message as ARM returns it (MicrosoftDocs/azure-docs#31168).
    assert.equal((await put('upd', group())).status, 201);
    await running('upd');
    const cpu = await put('upd', group({ cpu: 1 }));
    assert.deepEqual(err(cpu), [400, 'InvalidContainerGroupUpdate']);
    assert.equal(
      cpu.body.error?.message,
      `The updates on container group 'upd' are invalid. If you are going to update the Cpu (old "0.5", new "1") for a container group, you must delete it first and then create a new one.`,
    );
    const policy = await put('upd', group({ restartPolicy: 'Always' }));
    assert.deepEqual(err(policy), [400, 'InvalidContainerGroupUpdate']);
    assert.match(policy.body.error?.message ?? '', /update the RestartPolicy \(old "Never", new "Always"\)/);
    assert.deepEqual(err(await put('upd', group({ memoryInGB: 1 }))), [400, 'InvalidContainerGroupUpdate']);
    const env = await put('upd', group({ env: 'b' }));
    assert.equal(env.status, 200, 'an updatable property (env) is redeployed');
    assert.match(String(env.headers['azure-asyncoperation']), /\/operations\//);
    await remove('upd');
  });

  it('row 2: an identical PUT to a stopped or terminated group deploys it again', async () => {
    // container-instances-update.md: "Once a container group is stopped (is in the Terminated state)
    // or deleted, the group is deployed as new."
    assert.equal((await put('again', group())).status, 201);
    await running('again');
    assert.equal((await call(emu, 'POST', url('again', '/stop'), { token })).status, 204);
    assert.equal(await state('again'), 'Stopped');
    const redo = await put('again', group());
    assert.equal(redo.status, 200);
    assert.ok(redo.headers['azure-asyncoperation'], 'a redeployment is an async operation');
    await running('again');
    await remove('again');
    // Terminated (restartPolicy Never, the process exited): deployed again too.
    assert.equal((await put('crash', group({ image: 'test/crash:1.0' }))).status, 201);
    await waitUntil('terminated', async () => ['Succeeded', 'Failed'].includes((await state('crash')) ?? ''), 20000);
    const before = (await get('crash')).body.properties as {
      containers: Array<{ properties: { instanceView: { currentState: { startTime: string } } } }>;
    };
    const first = before.containers[0]?.properties.instanceView.currentState.startTime;
    assert.equal((await put('crash', group({ image: 'test/crash:1.0' }))).status, 200);
    await waitUntil(
      'a new deployment',
      async () => {
        const p = (await get('crash')).body.properties as typeof before;
        return p.containers[0]?.properties.instanceView?.currentState?.startTime !== first;
      },
      20000,
    );
    await remove('crash');
  });

  it('row 1: a regional quota hit is 400 ContainerGroupQuotaReached with the recorded message', async () => {
    // MicrosoftDocs/SupportArticles-docs azure-container-instances "ContainerGroupQuotaReached":
    // "Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota
    // 'StandardSpotCores' exceeded in region '<region>'. Limit: '100', Usage: '12' Requested: '90'."
    const over = await put('q-cores', group({ cpu: 2.5, memoryInGB: 1 }));
    assert.deepEqual(err(over), [400, 'ContainerGroupQuotaReached']);
    assert.match(
      over.body.error?.message ?? '',
      /^Resource type 'Microsoft\.ContainerInstance\/containerGroups' container group quota 'StandardCores' exceeded in region 'westeurope'\. Limit: '2', Usage: '\d+(\.\d+)?' Requested: '2\.5'\.$/,
    );
    for (const n of ['q-1', 'q-2', 'q-3'])
      assert.equal((await put(n, group({ cpu: 0.1, memoryInGB: 0.1 }))).status, 201);
    const groups = await put('q-4', group({ cpu: 0.1, memoryInGB: 0.1 }));
    assert.deepEqual(err(groups), [400, 'ContainerGroupQuotaReached']);
    assert.match(
      groups.body.error?.message ?? '',
      /quota 'ContainerGroups' exceeded in region 'westeurope'\. Limit: '3', Usage: '3' Requested: '1'\.$/,
    );
    for (const n of ['q-1', 'q-2', 'q-3']) await remove(n);
  });

  it('creates and deletes report the 5-minute budget left in the recorded header', async () => {
    // azure-sdk-for-js arm-containerinstance recordings (create and delete tests):
    // "x-ms-ratelimit-remaining-subscription-resource-requests-pt5m": "99" with ACI's 100 per 5 minutes.
    const H = 'x-ms-ratelimit-remaining-subscription-resource-requests-pt5m';
    emu.setFaults({ createsPer5Min: 100, deletesPer5Min: 100 });
    try {
      const first = await put('rate-1', group({ cpu: 0.1, memoryInGB: 0.1 }));
      const second = await put('rate-2', group({ cpu: 0.1, memoryInGB: 0.1 }));
      assert.deepEqual([first.status, second.status], [201, 201]);
      const left = Number(first.headers[H]);
      assert.ok(left >= 0 && left < 100, `${H}: ${String(first.headers[H])}`);
      assert.equal(Number(second.headers[H]), left - 1, 'one create less left');
      await running('rate-1');
      const deleted = await call(emu, 'DELETE', url('rate-1'), { token });
      assert.match(String(deleted.headers[H]), /^\d+$/);
      await remove('rate-2');
    } finally {
      emu.setFaults({ createsPer5Min: 0, deletesPer5Min: 0 });
    }
  });

  it('async operation status has the recorded shape', async () => {
    // azure-sdk-for-js arm-containerinstance recordings/node/containerinstance_test/
    // recording_containergroups_create_test.json: 201 + Azure-AsyncOperation
    // …/providers/Microsoft.ContainerInstance/locations/<loc>/operations/<id>?api-version=2018-06-01,
    // whose GET answers {id: <group id>, status, startTime, properties: {events}}.
    const created = await put('op', group());
    assert.equal(created.status, 201);
    const op = String(created.headers['azure-asyncoperation']);
    assert.match(
      op,
      /\/providers\/Microsoft\.ContainerInstance\/locations\/westeurope\/operations\/[0-9a-f-]{36}\?api-version=2018-06-01$/,
    );
    const status = await call(emu, 'GET', op, { token });
    assert.equal(status.status, 200);
    assert.deepEqual(
      Object.keys(status.body)
        .filter((k) => k !== 'endTime')
        .sort(),
      ['id', 'properties', 'startTime', 'status'],
    );
    assert.match(String(status.body.id), /\/containerGroups\/op$/);
    await remove('op');
  });
});
