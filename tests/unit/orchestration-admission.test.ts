// Admission ledger: FIFO per tenant, maxConcurrentJobs, maxQueuedJobs, global core/group/create
// caps — and a burst of concurrent submitters and grant-pollers over a compare-and-swap store never
// over-admits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  emptyLedger,
  enqueue,
  markCanceled,
  reconcile,
  release,
  tenantUsage,
  tryGrant,
  type LedgerEntry,
} from '../../orchestration/src/admission/ledger';
import { MemoryLedger } from '../fixtures/tenants/harness';

const T0 = new Date('2026-01-01T00:00:00Z');
const entry = (n: number, cores = 1): LedgerEntry => ({
  instanceId: `t--j-${n}`,
  jobId: `j-${n}`,
  cores,
  memoryGb: 1,
  enqueuedAt: T0.toISOString(),
});
const limits = { maxConcurrentJobs: 2, maxQueuedJobs: 3 };
const global = { maxCores: 100, maxGroups: 100, maxCreatesPer5Min: 100 };

describe('admission ledger', () => {
  test("FIFO: any poll admits the queue's admissible prefix, within maxConcurrentJobs", () => {
    const doc = emptyLedger();
    for (let i = 1; i <= 3; i++) assert.equal(enqueue(doc, 't', limits, entry(i)).result, 'enqueued');
    // j-3's poll admits j-1 and j-2 (the first two in line), not itself.
    assert.deepEqual(tryGrant(doc, 't', limits, global, 't--j-3', T0), {
      result: 'waiting',
      position: 0,
      blockedBy: 'tenant',
    });
    assert.deepEqual(tryGrant(doc, 't', limits, global, 't--j-1', T0), { result: 'granted' });
    assert.deepEqual(tryGrant(doc, 't', limits, global, 't--j-2', T0), { result: 'granted' });
    assert.deepEqual(tryGrant(doc, 't', limits, global, 't--j-1', T0), { result: 'granted' }, 'idempotent');
    assert.equal(release(doc, 't', 't--j-1', 'owner'), true);
    assert.equal(release(doc, 't', 't--j-1', 'owner'), false, 'release is idempotent');
    assert.deepEqual(tryGrant(doc, 't', limits, global, 't--j-3', T0), { result: 'granted' });
    assert.deepEqual(tenantUsage(doc, 't'), { running: 2, queued: 0, runningCores: 2 });
  });

  test('a job behind others reports its position; canceled entries do not block the line', () => {
    const doc = emptyLedger();
    const one = { maxConcurrentJobs: 1, maxQueuedJobs: 10 };
    for (let i = 1; i <= 4; i++) enqueue(doc, 't', one, entry(i));
    assert.deepEqual(tryGrant(doc, 't', one, global, 't--j-4', T0), {
      result: 'waiting',
      position: 2,
      blockedBy: 'queue',
    });
    markCanceled(doc, 't', 't--j-2');
    release(doc, 't', 't--j-1', 'owner');
    // j-4's poll admits j-3, past the canceled j-2; j-4 is next.
    assert.deepEqual(tryGrant(doc, 't', one, global, 't--j-4', T0), {
      result: 'waiting',
      position: 0,
      blockedBy: 'tenant',
    });
    assert.deepEqual(
      tryGrant(doc, 't', one, global, 't--j-3', T0),
      { result: 'granted' },
      'j-3 passed the canceled j-2',
    );
    assert.deepEqual(tryGrant(doc, 't', one, global, 't--j-2', T0), { result: 'canceled' });
  });

  test('global capacity is shared round-robin between tenants', () => {
    const doc = emptyLedger();
    const big = { maxConcurrentJobs: 10, maxQueuedJobs: 10 };
    for (let i = 0; i < 4; i++) enqueue(doc, 'a', big, { ...entry(i), instanceId: `a--${i}` });
    for (let i = 0; i < 4; i++) enqueue(doc, 'b', big, { ...entry(i), instanceId: `b--${i}` });
    tryGrant(doc, 'a', big, { maxCores: 4, maxGroups: 100, maxCreatesPer5Min: 100 }, 'a--0', T0, () => big);
    assert.deepEqual(
      doc.tenants.a!.running.map((e) => e.instanceId),
      ['a--0', 'a--1'],
    );
    assert.deepEqual(
      doc.tenants.b!.running.map((e) => e.instanceId),
      ['b--0', 'b--1'],
    );
  });

  test('maxQueuedJobs, re-enqueue, unknown and canceled entries', () => {
    const doc = emptyLedger();
    for (let i = 1; i <= 3; i++) enqueue(doc, 't', limits, entry(i));
    assert.deepEqual(enqueue(doc, 't', limits, entry(4)), { result: 'queueFull', queued: 3 });
    assert.equal(enqueue(doc, 't', limits, entry(2)).result, 'already');
    assert.deepEqual(tryGrant(doc, 't', limits, global, 't--j-99', T0), { result: 'notQueued' });
    assert.equal(markCanceled(doc, 't', 't--j-1'), true);
    assert.deepEqual(tryGrant(doc, 't', limits, global, 't--j-1', T0), { result: 'canceled' });
    assert.equal(tenantUsage(doc, 't').queued, 2);
  });

  test('global caps: cores, groups and creates per 5 minutes across tenants', () => {
    const doc = emptyLedger();
    const big = { maxConcurrentJobs: 10, maxQueuedJobs: 10 };
    enqueue(doc, 'a', big, { ...entry(1, 3), instanceId: 'a--1' });
    enqueue(doc, 'b', big, { ...entry(2, 2), instanceId: 'b--2' });
    const g = { maxCores: 4, maxGroups: 10, maxCreatesPer5Min: 10 };
    assert.equal(tryGrant(doc, 'a', big, g, 'a--1', T0).result, 'granted');
    assert.deepEqual(tryGrant(doc, 'b', big, g, 'b--2', T0), { result: 'waiting', position: 0, blockedBy: 'global' });
    release(doc, 'a', 'a--1', 'owner');
    assert.equal(tryGrant(doc, 'b', big, g, 'b--2', T0).result, 'granted');

    const creates = emptyLedger();
    for (let i = 0; i < 3; i++) enqueue(creates, 'a', big, { ...entry(i), instanceId: `a--${i}` });
    const g2 = { maxCores: 100, maxGroups: 100, maxCreatesPer5Min: 2 };
    assert.equal(tryGrant(creates, 'a', big, g2, 'a--0', T0).result, 'granted');
    assert.equal(tryGrant(creates, 'a', big, g2, 'a--1', T0).result, 'granted');
    assert.equal(tryGrant(creates, 'a', big, g2, 'a--2', T0).result, 'waiting');
    assert.equal(
      tryGrant(creates, 'a', big, g2, 'a--2', new Date(T0.getTime() + 5 * 60_000 + 1)).result,
      'granted',
      'the window slides',
    );
  });

  test('reconcile drops entries of finished or unknown instances', () => {
    const doc = emptyLedger();
    for (let i = 1; i <= 3; i++) enqueue(doc, 't', limits, entry(i));
    tryGrant(doc, 't', limits, global, 't--j-1', T0);
    assert.deepEqual(
      reconcile(doc, (id) => id !== 't--j-1' && id !== 't--j-3'),
      ['t--j-3', 't--j-1'],
    );
    assert.deepEqual(tenantUsage(doc, 't'), { running: 1, queued: 0, runningCores: 1 });
  });

  test('burst: 20 concurrent submitters and pollers on a CAS store never exceed maxConcurrentJobs, and all finish in FIFO order', async () => {
    const store = new MemoryLedger();
    const tl = { maxConcurrentJobs: 3, maxQueuedJobs: 50 };
    const g = { maxCores: 5, maxGroups: 100, maxCreatesPer5Min: 1000 };
    let running = 0;
    let peak = 0;
    let globalPeak = 0;
    const grantOrder: number[] = [];
    const others = new Set<string>();
    const jobs = Array.from({ length: 20 }, (_, i) => i);
    // Enqueue all at once (submit handlers), then each "orchestrator" polls for its slot and runs.
    await Promise.all(
      jobs.map((i) =>
        store.update((doc) => {
          const r = enqueue(doc, 't', tl, { ...entry(i), instanceId: `t--${String(i).padStart(2, '0')}` });
          return { changed: r.result === 'enqueued', result: r };
        }),
      ),
    );
    // Another tenant competes for the global core cap.
    await Promise.all(
      [0, 1, 2].map((i) =>
        store.update((doc) => ({
          changed: true,
          result: enqueue(doc, 'u', tl, { ...entry(i, 1), instanceId: `u--${i}` }),
        })),
      ),
    );
    const queueOrder = (await store.read()).tenants.t!.queue.map((e) => Number(e.instanceId.slice(3)));
    const runJob = async (tenant: string, id: string, onGrant: () => void) => {
      for (;;) {
        const r = await store.update((doc) => {
          const x = tryGrant(doc, tenant, tl, g, id, T0);
          return { changed: x.result === 'granted', result: x };
        });
        if (r.result === 'granted') break;
        await new Promise((res) => setImmediate(res));
      }
      onGrant();
      for (let k = 0; k < 3; k++) await new Promise((res) => setImmediate(res));
      await store.update((doc) => ({ changed: release(doc, tenant, id, 'owner'), result: undefined }));
    };
    await Promise.all([
      ...jobs.map((i) =>
        runJob('t', `t--${String(i).padStart(2, '0')}`, () => {
          running++;
          peak = Math.max(peak, running);
          globalPeak = Math.max(globalPeak, running + others.size);
          grantOrder.push(i);
        }).then(() => running--),
      ),
      ...[0, 1, 2].map((i) =>
        runJob('u', `u--${i}`, () => {
          others.add(`u--${i}`);
          globalPeak = Math.max(globalPeak, running + others.size);
        }).then(() => others.delete(`u--${i}`)),
      ),
    ]);
    assert.ok(peak <= 3, `peak ${peak} > maxConcurrentJobs`);
    assert.ok(peak >= 2, 'the burst did run jobs concurrently');
    assert.ok(globalPeak <= 5, `global peak ${globalPeak} > maxCores`);
    assert.deepEqual(grantOrder, queueOrder, 'slots are granted in FIFO order');
    assert.ok(store.conflicts > 0, 'the simulation did exercise write conflicts');
    assert.deepEqual((await store.read()).tenants, {});
  });
});
