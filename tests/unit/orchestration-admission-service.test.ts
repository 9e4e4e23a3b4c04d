// The admission service: the one owner of ledger changes. A job whose entry was lost is queued
// again (issue 10 finding 2: acknowledged work is never failed for a lost queue entry), a release
// by anyone but the owner changes nothing, a cancel is recorded on queued and running entries, and
// an unchanged ledger is never rewritten.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createAdmission } from '../../orchestration/src/admission/service';
import type { LedgerEntry } from '../../orchestration/src/admission/ledger';
import { MemoryLedger } from '../fixtures/tenants/harness';

const T0 = new Date('2026-01-01T00:00:00Z');
const entry = (n: number): LedgerEntry => ({
  instanceId: `t--j-${n}`,
  jobId: `j-${n}`,
  cores: 1,
  memoryGb: 1,
  enqueuedAt: T0.toISOString(),
  owner: `hash-${n}`,
});

function service(maxConcurrentJobs = 1, maxQueuedJobs = 1) {
  const store = new MemoryLedger();
  const admission = createAdmission({
    store,
    global: { maxCores: 100, maxGroups: 100, maxCreatesPer5Min: 100 },
    limitsOf: (t) => (t === 't' ? { maxConcurrentJobs, maxQueuedJobs } : undefined),
    now: () => T0,
  });
  return { store, admission };
}

describe('admission service', () => {
  test('a job whose entry was lost is queued again (even over maxQueuedJobs) instead of failing', async () => {
    const { admission } = service(1, 1);
    assert.equal((await admission.enqueue('t', entry(1))).result, 'enqueued');
    assert.deepEqual(await admission.grant('t', 't--j-1', entry(1)), {
      result: { result: 'granted' },
      granted: ['t--j-1'],
    });
    assert.equal((await admission.enqueue('t', entry(2))).result, 'enqueued');
    // j-3's entry is gone (e.g. storage rolled back after a crash); its queue is full.
    assert.deepEqual(
      (await admission.grant('t', 't--j-3')).result,
      { result: 'notQueued' },
      'without requeue: notQueued',
    );
    const r = (await admission.grant('t', 't--j-3', entry(3))).result;
    assert.deepEqual(r, { result: 'waiting', position: 1, blockedBy: 'queue' }, 'back in line, behind j-2');
    assert.equal((await admission.usage('t')).queued, 2);
  });

  test('release is owner-checked; cancel is recorded on queued and running entries', async () => {
    const { admission } = service(1, 5);
    await admission.enqueue('t', entry(1));
    await admission.enqueue('t', entry(2));
    await admission.grant('t', 't--j-1');
    assert.equal(await admission.cancel('t', 't--j-1'), true, 'running entry');
    assert.equal(await admission.cancel('t', 't--j-2'), true, 'queued entry');
    assert.equal(await admission.cancelRequested('t', 't--j-1'), true);
    assert.equal(await admission.cancelRequested('t', 't--j-9'), false);
    assert.equal((await admission.release('t', 't--j-1', 'hash-2')).result, false, 'not the owner');
    assert.equal((await admission.release('t', 't--j-1', 'hash-1')).result, true);
    assert.deepEqual((await admission.grant('t', 't--j-2')).result, { result: 'canceled' });
  });

  test('a release hands the freed slot to the next job in line and says which (to wake it)', async () => {
    const { admission } = service(1, 5);
    for (const n of [1, 2, 3]) await admission.enqueue('t', entry(n));
    assert.deepEqual((await admission.grant('t', 't--j-1')).granted, ['t--j-1']);
    assert.deepEqual((await admission.grant('t', 't--j-3')).result, {
      result: 'waiting',
      position: 1,
      blockedBy: 'queue',
    });
    const freed = await admission.release('t', 't--j-1', 'hash-1');
    assert.deepEqual(freed, { result: true, granted: ['t--j-2'] }, 'j-2 (first in line) got the slot at once');
    assert.deepEqual((await admission.grant('t', 't--j-2')).result, { result: 'granted' });
  });

  test('an unchanged ledger is not rewritten', async () => {
    const { store, admission } = service(1, 5);
    await admission.enqueue('t', entry(1));
    await admission.grant('t', 't--j-1');
    const before = JSON.stringify(await store.read());
    let writes = 0;
    const update = store.update.bind(store);
    store.update = (mutate) =>
      update((doc) => {
        const r = mutate(doc);
        if (r.changed) writes++;
        return r;
      });
    await admission.grant('t', 't--j-1');
    await admission.release('t', 't--j-1', 'someone-else');
    assert.equal(writes, 0);
    assert.equal(JSON.stringify(await store.read()), before);
  });

  test('cancelAll records the cancel of many jobs in one write and answers how many entries exist', async () => {
    const { store, admission } = service(1, 5);
    for (const n of [1, 2, 3]) await admission.enqueue('t', entry(n));
    await admission.grant('t', 't--j-1');
    let writes = 0;
    const update = store.update.bind(store);
    store.update = (mutate) => {
      writes++;
      return update(mutate);
    };
    assert.equal(await admission.cancelAll('t', ['t--j-1', 't--j-3', 't--j-9']), 2, 'j-9 has no entry');
    assert.equal(writes, 1, 'one compare-and-swap for all of them');
    assert.equal(await admission.cancelRequested('t', 't--j-1'), true, 'a running entry');
    assert.equal(await admission.cancelRequested('t', 't--j-3'), true, 'a queued entry');
    assert.equal(await admission.cancelRequested('t', 't--j-2'), false);
  });
});
