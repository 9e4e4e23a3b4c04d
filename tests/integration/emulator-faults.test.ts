// Injected faults, quotas and slow operations surface through the real SDK as they do against Azure:
// retried 429/5xx, non-retried 409 capacity and 400 quota errors, failed LROs, 202 deletes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { admin, removeDir, scenario, startCli, tempDir, type RunningEmulator } from '../fixtures/emulator/harness';

type Err = { name: string; statusCode?: number; code?: string; message: string };

describe('azure emulator: faults, quotas and slow operations', () => {
  const data = tempDir('emu-fault-');
  let emu: RunningEmulator;

  before(async () => {
    emu = await startCli(data, ['--provisioning-delay-ms', '0', '--max-groups', '3', '--max-cores', '2']);
  });

  after(async () => {
    assert.equal(await emu?.stop('SIGTERM'), 0);
    removeDir(data);
  });

  it('surfaces throttling, transient errors, capacity, quota, failed provisioning and slow deletes like Azure', async () => {
    const o = await scenario(emu.ready, 'faults');
    const t = o.throttled as { provisioningState: string; waitedMs: number; left: number };
    assert.equal(t.provisioningState, 'Succeeded', '429 + Retry-After is retried by the SDK');
    assert.equal(t.left, 0, 'both throttled answers were consumed');
    const noRa = o.throttledNoRetryAfter as Err;
    assert.deepEqual([noRa.name, noRa.statusCode, noRa.code], ['RestError', 429, 'SubscriptionRequestsThrottled']);
    assert.equal(o.transient, 'f-1', 'transient 500s are retried');
    assert.equal(o.transientLeft, 0);
    assert.deepEqual(
      [(o.transientExhausted as Err).statusCode, (o.transientExhausted as Err).code],
      [503, 'ServiceUnavailable'],
    );
    const cap = o.capacity as Err;
    assert.deepEqual([cap.statusCode, cap.code], [409, 'ServiceUnavailable']);
    assert.match(cap.message, /requested resource is not available in the location 'westeurope'/);
    assert.equal(o.afterCapacity, 'Succeeded');
    // Quota is 400 ContainerGroupQuotaReached (MicrosoftDocs/SupportArticles-docs,
    // azure-container-instances "ContainerGroupQuotaReached"); 409 ServiceUnavailable is capacity.
    const gq = o.groupQuota as Err;
    assert.deepEqual([gq.statusCode, gq.code], [400, 'ContainerGroupQuotaReached']);
    assert.match(gq.message, /quota 'ContainerGroups' exceeded in region 'westeurope'\. Limit: '3', Usage: '3'/);
    const cq = o.coreQuota as Err;
    assert.deepEqual([cq.statusCode, cq.code], [400, 'ContainerGroupQuotaReached']);
    assert.match(cq.message, /quota 'StandardCores' exceeded .* Limit: '2'.* Requested: '3'/);
    const pf = o.provisioningFailed as Err;
    assert.equal(pf.name, 'Error', 'a failed LRO is a plain Error, as against Azure');
    assert.equal(pf.message, 'The long-running operation has failed. ContainerGroupDeploymentFailed. Injected failure');
    assert.equal(o.failedGroup, 'Failed');
    assert.equal(o.deleting, 'Deleting');
    assert.deepEqual(
      [(o.transitioning as Err).statusCode, (o.transitioning as Err).code],
      [409, 'ContainerGroupTransitioning'],
    );
    assert.equal((o.afterSlowDelete as Err).statusCode, 404);
    assert.deepEqual(
      [(o.whileCreating as Err).statusCode, (o.whileCreating as Err).code],
      [409, 'ContainerGroupTransitioning'],
    );
    assert.equal(o.slowCreate, 'Succeeded');
    assert.equal(o.samePutWhileCreating, 'Succeeded', 'a retried identical PUT joins the running operation');
    assert.deepEqual(
      [(o.otherPutWhileCreating as Err).statusCode, (o.otherPutWhileCreating as Err).code],
      [409, 'ContainerGroupTransitioning'],
    );
    const rate = o.createRate as Err & { retryAfter: number };
    assert.deepEqual([rate.statusCode, rate.code], [429, 'TooManyRequests']);
    assert.ok(rate.retryAfter > 200 && rate.retryAfter <= 300, `Retry-After ${rate.retryAfter}`);
    assert.deepEqual(o.afterReset, { groups: [] });
  });

  it('validates fault updates on the admin API', async () => {
    const ca = readFileSync(emu.ready.caCertFile, 'utf8');
    const bad = await admin<{ error: { code: string; message: string } }>(emu.ready, ca, 'faults', {
      throttle: { count: -1 },
      bogus: 1,
    });
    assert.equal(bad.error.code, 'InvalidFaults');
    assert.match(bad.error.message, /unknown fault 'bogus'/);
    const ok = await admin<{ latencyMs: number; capacity: { count: number } }>(emu.ready, ca, 'faults', {
      latencyMs: 5,
      capacity: { count: 2 },
    });
    assert.equal(ok.latencyMs, 5);
    assert.equal(ok.capacity.count, 2);
    const reset = await admin<{ faults: { latencyMs: number; capacity?: unknown } }>(emu.ready, ca, 'reset', {});
    assert.equal(reset.faults.latencyMs, 0);
    assert.equal(reset.faults.capacity, undefined);
  });
});
