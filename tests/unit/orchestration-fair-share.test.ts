// Priority and weighted fair share (issue 13): a tenant's queue is ordered by job priority (higher
// first, FIFO among equals); a freed slot goes to the tenant with the lowest recent usage ÷ weight,
// usage being vCPU-seconds decaying with the configured half-life; maxConcurrentJobs and the global
// caps hold as before. Pure admit() checks, then two tenants weighted 1 : 3 over the admission
// service, judged from the order in which the ledger granted their jobs (no timing).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  admit,
  emptyLedger,
  enqueue,
  release,
  tryGrant,
  usageNow,
  type GlobalLimits,
  type LedgerDoc,
  type LedgerEntry,
  type TenantAdmissionLimits,
} from '../../orchestration/src/admission/ledger';
import { createAdmission } from '../../orchestration/src/admission/service';
import { MemoryLedger } from '../fixtures/tenants/harness';

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const job = (tenant: string, n: number, priority?: number, cores = 1): LedgerEntry => ({
  instanceId: `${tenant}--j-${n}`,
  jobId: `j-${n}`,
  cores,
  memoryGb: 1,
  enqueuedAt: T0.toISOString(),
  owner: `h-${tenant}-${n}`,
  ...(priority === undefined ? {} : { priority }),
});
const lim = (weight?: number, maxConcurrentJobs = 100): TenantAdmissionLimits => ({
  maxConcurrentJobs,
  maxQueuedJobs: 1000,
  ...(weight === undefined ? {} : { weight }),
});
const caps = (maxGroups: number, fairShareHalfLifeMinutes?: number): GlobalLimits => ({
  maxCores: 1000,
  maxGroups,
  maxCreatesPer5Min: 100_000,
  ...(fairShareHalfLifeMinutes === undefined ? {} : { fairShareHalfLifeMinutes }),
});
const runningIds = (doc: LedgerDoc, tenant: string) => doc.tenants[tenant]?.running.map((e) => e.jobId) ?? [];

describe('queue priority within a tenant', () => {
  test('higher priority first, FIFO among equals, absent = 0', () => {
    const doc = emptyLedger();
    const l = lim();
    enqueue(doc, 'a', l, job('a', 1));
    enqueue(doc, 'a', l, job('a', 2, 5));
    enqueue(doc, 'a', l, job('a', 3, 0));
    enqueue(doc, 'a', l, job('a', 4, 5));
    assert.deepEqual(enqueue(doc, 'a', l, job('a', 5, 1000)), { result: 'enqueued', position: 0 });
    const order: string[] = [];
    for (let i = 1; i <= 5; i++) {
      admit(doc, caps(i), at(i), () => l);
      order.push(runningIds(doc, 'a').at(-1)!);
    }
    assert.deepEqual(order, ['j-5', 'j-2', 'j-4', 'j-1', 'j-3']);
  });

  test("a waiting job's position counts only the jobs that will be admitted before it", () => {
    const doc = emptyLedger();
    const l = lim(1, 1);
    enqueue(doc, 'a', l, job('a', 1));
    tryGrant(doc, 'a', l, caps(10), 'a--j-1', T0);
    enqueue(doc, 'a', l, job('a', 2));
    enqueue(doc, 'a', l, job('a', 3, 9));
    assert.deepEqual(tryGrant(doc, 'a', l, caps(10), 'a--j-3', T0), {
      result: 'waiting',
      position: 0,
      blockedBy: 'tenant',
    });
    assert.deepEqual(tryGrant(doc, 'a', l, caps(10), 'a--j-2', T0), {
      result: 'waiting',
      position: 1,
      blockedBy: 'queue',
    });
  });

  test("priority orders a tenant's own queue only: it does not jump another tenant's fair share", () => {
    const doc = emptyLedger();
    enqueue(doc, 'a', lim(), job('a', 1, 1000));
    enqueue(doc, 'b', lim(), job('b', 1, 0));
    doc.usage = { a: { vcpuSeconds: 500, at: T0.toISOString() } };
    admit(doc, caps(1), T0, () => lim());
    assert.deepEqual(runningIds(doc, 'b'), ['j-1']);
    assert.deepEqual(runningIds(doc, 'a'), []);
  });
});

describe('weighted fair share across tenants', () => {
  test('the freed slot goes to the lowest usage ÷ weight among tenants with queued jobs', () => {
    const doc = emptyLedger();
    enqueue(doc, 'a', lim(), job('a', 1));
    enqueue(doc, 'b', lim(), job('b', 1));
    // a: 100 / 1 = 100; b: 240 / 3 = 80 → b, although b used more.
    doc.usage = { a: { vcpuSeconds: 100, at: T0.toISOString() }, b: { vcpuSeconds: 240, at: T0.toISOString() } };
    const weights: Record<string, number> = { a: 1, b: 3 };
    admit(doc, caps(1), T0, (t) => lim(weights[t]));
    assert.deepEqual(runningIds(doc, 'b'), ['j-1']);
    // With equal weights a (100) is the lower one.
    delete doc.tenants.b;
    enqueue(doc, 'b', lim(), job('b', 1));
    admit(doc, caps(1), T0, () => lim(1));
    assert.deepEqual(runningIds(doc, 'a'), ['j-1']);
  });

  test('fresh capacity in one pass is split by weight; equal tenants alternate', () => {
    const doc = emptyLedger();
    for (let i = 0; i < 10; i++) for (const t of ['a', 'b']) enqueue(doc, t, lim(), job(t, i));
    admit(doc, caps(4), T0, (t) => lim(t === 'a' ? 1 : 3));
    assert.equal(runningIds(doc, 'a').length, 1);
    assert.equal(runningIds(doc, 'b').length, 3);
    const even = emptyLedger();
    for (let i = 0; i < 10; i++) for (const t of ['a', 'b']) enqueue(even, t, lim(), job(t, i));
    admit(even, caps(4), T0, () => lim());
    assert.deepEqual([runningIds(even, 'a').length, runningIds(even, 'b').length], [2, 2]);
  });

  test("a tenant's maxConcurrentJobs and the global caps hold whatever the weights", () => {
    const doc = emptyLedger();
    for (let i = 0; i < 10; i++) for (const t of ['a', 'b']) enqueue(doc, t, lim(), job(t, i));
    admit(doc, caps(4), T0, (t) => (t === 'b' ? lim(100, 1) : lim(1)));
    assert.deepEqual([runningIds(doc, 'a').length, runningIds(doc, 'b').length], [3, 1]);
    admit(doc, caps(4), at(10), (t) => (t === 'b' ? lim(100, 1) : lim(1)));
    assert.equal(runningIds(doc, 'a').length + runningIds(doc, 'b').length, 4, 'the group cap');
  });

  test('running jobs count toward usage as they run: a long job weighs on its tenant before it ends', () => {
    const doc = emptyLedger();
    enqueue(doc, 'a', lim(), job('a', 1));
    admit(doc, caps(10), T0, () => lim());
    // 1 core for 60 s with a very long half-life: ~60 vCPU-seconds, recorded nowhere yet.
    const u = usageNow(doc, 'a', at(60), { fairShareHalfLifeMinutes: 1e9 });
    assert.ok(Math.abs(u - 60) < 1e-3, String(u));
  });
});

describe('usage decay and recording', () => {
  test('a release folds the run into the tenant usage, decayed exactly over the run', () => {
    const doc = emptyLedger();
    enqueue(doc, 'a', lim(), job('a', 1, 0, 2));
    admit(doc, caps(10), T0, () => lim());
    release(doc, 'a', 'a--j-1', 'h-a-1', { now: at(60), global: { fairShareHalfLifeMinutes: 1 } });
    // ∫ 2 × 2^(-(60 - s)/60) ds over 60 s = 2 × 60 / ln 2 × (1 - 1/2).
    const expected = ((2 * 60) / Math.LN2) * 0.5;
    assert.ok(Math.abs(doc.usage!.a!.vcpuSeconds - expected) < 1e-6, JSON.stringify(doc.usage));
    assert.equal(doc.usage!.a!.at, at(60).toISOString());
    assert.equal(doc.tenants.a, undefined, 'the tenant left the queues; its usage stays');
  });

  test('usage halves every half-life, and the half-life decides who is "recent"', () => {
    const doc = emptyLedger();
    doc.usage = { a: { vcpuSeconds: 100, at: T0.toISOString() } };
    assert.ok(Math.abs(usageNow(doc, 'a', at(600), { fairShareHalfLifeMinutes: 10 }) - 50) < 1e-9);
    assert.ok(Math.abs(usageNow(doc, 'a', at(1200), { fairShareHalfLifeMinutes: 10 }) - 25) < 1e-9);
    // a used 1000 three hours ago; b used 200 just now.
    const pick = (halfLife: number) => {
      const d = emptyLedger();
      d.usage = {
        a: { vcpuSeconds: 1000, at: T0.toISOString() },
        b: { vcpuSeconds: 200, at: at(3 * 3600).toISOString() },
      };
      enqueue(d, 'a', lim(), job('a', 1));
      enqueue(d, 'b', lim(), job('b', 1));
      admit(d, caps(1, halfLife), at(3 * 3600), () => lim());
      return runningIds(d, 'a').length ? 'a' : 'b';
    };
    assert.equal(pick(60), 'a', 'half-life 1 h: 1000 decayed to 125 < 200');
    assert.equal(pick(600), 'b', 'half-life 10 h: 1000 decayed to ~812 > 200');
  });

  test('usage that decayed to nothing leaves the document (bounded)', () => {
    const doc = emptyLedger();
    doc.usage = { gone: { vcpuSeconds: 100, at: T0.toISOString() } };
    admit(doc, caps(1, 1), at(3600), () => lim());
    assert.equal(doc.usage, undefined);
  });
});

describe('two tenants weighted 1 : 3 sharing a cap of 4 groups (admission service)', () => {
  test('the order the ledger grants their backlogs gives slots within 15 % of 1 : 3', async () => {
    const store = new MemoryLedger();
    let clock = T0.getTime();
    const weights: Record<string, number> = { light: 1, heavy: 3 };
    const admission = createAdmission({
      store,
      global: { maxCores: 1000, maxGroups: 4, maxCreatesPer5Min: 100_000, fairShareHalfLifeMinutes: 30 },
      limitsOf: (t) => (t in weights ? { maxConcurrentJobs: 4, maxQueuedJobs: 1000, weight: weights[t]! } : undefined),
      now: () => new Date(clock),
    });
    const backlog = 100;
    for (let i = 0; i < backlog; i++)
      for (const t of ['light', 'heavy'])
        await admission.enqueue(t, { ...job(t, i), enqueuedAt: new Date(clock).toISOString() });
    // Runtimes vary per job (40-160 s, independent of the tenant); the clock only orders events.
    const runtime = (id: string) => 40 + ((Number(id.split('-').at(-1)) * 37) % 121);
    const order: string[] = [];
    const running = new Map<string, number>();
    const granted = (ids: string[]) => {
      for (const id of ids) {
        order.push(id.split('--')[0]!);
        running.set(id, clock + runtime(id) * 1000);
      }
    };
    granted((await admission.grant('light', 'light--j-0')).granted);
    // Every release hands the freed slot on; stop while both tenants still have a backlog.
    while (order.length < 120) {
      const [id, end] = [...running].sort((x, y) => x[1] - y[1])[0]!;
      running.delete(id);
      clock = end;
      const tenant = id.split('--')[0]!;
      granted((await admission.release(tenant, id, `h-${tenant}-${id.split('-').at(-1)}`)).granted);
    }
    const light = order.filter((t) => t === 'light').length;
    const heavy = order.filter((t) => t === 'heavy').length;
    assert.ok(light < backlog && heavy < backlog, 'both still had a backlog');
    const ratio = heavy / light;
    assert.ok(ratio >= 3 * 0.85 && ratio <= 3 * 1.15, `heavy : light = ${heavy} : ${light} (${ratio.toFixed(2)})`);
    // The ledger keeps one decayed number per tenant, nothing per job.
    const doc = await admission.read();
    assert.deepEqual(Object.keys(doc.usage ?? {}).sort(), ['heavy', 'light']);
  });
});
