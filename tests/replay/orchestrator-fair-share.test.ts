// Replay tier, weighted fair share (issue 13): tenants alpha and beta weighted 1 : 3 share a global
// cap of 4 groups, each with a backlog, through the real app and orchestrations. Every freed slot's
// grant is read from the admission ledger, so the share is judged from the order the ledger
// admitted jobs in (not from timing): it must be within 15 % of 1 : 3. The app's clock is the
// test's: each step (one job ends, its slot is granted again) is 10 s, so usage does not depend on
// how fast a shared machine runs the step.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../local/kit';
import type { LedgerEntry } from '../../orchestration/src/admission/ledger';
import { tenantsFixture } from '../fixtures/tenants/harness';
import { startReplayHost, type ReplayHost, type TenantId } from '../fixtures/replay/harness';

const BACKLOG = 50;
const STEPS = 56;
const CAP = 4;

let h: ReplayHost;
let clock = Date.now();
// The cap starts at 0 so that both backlogs are queued before the first grant; the test then opens it.
const globalLimits = { maxCores: 100, maxGroups: 0, maxCreatesPer5Min: 100_000 };
before(async () => {
  const tenants = tenantsFixture();
  for (const [id, weight] of [
    ['alpha', 1],
    ['beta', 3],
  ] as const)
    Object.assign(tenants.get(id)!.limits, { weight, maxConcurrentJobs: CAP, maxQueuedJobs: BACKLOG });
  h = await startReplayHost({ globalLimits, tenants, now: () => new Date(clock) });
});
after(() => h?.close());

type Running = LedgerEntry & { tenant: TenantId };
const runningNow = async (): Promise<Running[]> => {
  const doc = await h.ledger.read();
  return (['alpha', 'beta'] as const).flatMap((tenant) =>
    (doc.tenants[tenant]?.running ?? []).map((e) => ({ ...e, tenant })),
  );
};
const WAIT = { timeoutMs: 30_000, intervalMs: 20 };

test('weights 1 : 3 over a cap of 4 groups: the ledger admits the backlogs within 15 % of 1 : 3', async () => {
  const hold = h.world.define('fair-share-hold', { attempts: [{ end: 'hold' }] });
  // Queued jobs are woken by the slot-granted event; the poll is only the fallback that opens the cap.
  const opts = { body: { cpu: 1, memoryGb: 1 }, settings: { admissionPollSeconds: 0.5 } };
  for (let i = 0; i < BACKLOG; i++) for (const t of ['alpha', 'beta'] as const) await h.submit(t, hold, opts);
  const doc = await h.ledger.read();
  assert.deepEqual([doc.tenants.alpha?.queue.length, doc.tenants.beta?.queue.length], [BACKLOG, BACKLOG]);

  globalLimits.maxGroups = CAP;
  const first = await waitFor(
    'the first 4 grants',
    async () => ((await runningNow()).length === CAP ? true : false),
    WAIT,
  );
  assert.ok(first);
  const order: TenantId[] = (await runningNow()).map((e) => e.tenant);
  assert.deepEqual(
    [...order].sort(),
    ['alpha', 'beta', 'beta', 'beta'],
    'the fresh capacity is split by weight in one pass',
  );

  for (let step = 0; step < STEPS; step++) {
    const running = await runningNow();
    const oldest = running.reduce((a, b) => (Date.parse(b.grantedAt!) < Date.parse(a.grantedAt!) ? b : a));
    await h.waitFor(oldest.tenant, oldest.jobId, 'running', (s) => s.state === 'running');
    clock += 10_000;
    h.world.end(oldest.jobId, 'succeeded');
    const next = await waitFor(
      `the slot of ${oldest.jobId} to be granted again`,
      async () => {
        const now = await runningNow();
        if (now.length < CAP || now.some((e) => e.instanceId === oldest.instanceId)) return false;
        const known = new Set(running.map((e) => e.instanceId));
        return now.filter((e) => !known.has(e.instanceId));
      },
      WAIT,
    );
    assert.equal(next.length, 1, 'one release, one grant');
    order.push(next[0]!.tenant);
  }
  const alpha = order.filter((t) => t === 'alpha').length;
  const beta = order.filter((t) => t === 'beta').length;
  const ratio = beta / alpha;
  assert.ok(alpha < BACKLOG && beta < BACKLOG, `both tenants still had a backlog: ${order.join(' ')}`);
  assert.ok(
    ratio >= 3 * 0.85 && ratio <= 3 * 1.15,
    `beta : alpha = ${beta} : ${alpha} (${ratio.toFixed(2)}): ${order.join(' ')}`,
  );
});
