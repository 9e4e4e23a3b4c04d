// Replay tier: the admission phase and cancel through the real durable-functions replay — jobs
// queued behind maxConcurrentJobs are admitted in FIFO order, a cancel while queued creates no
// group, a cancel while running stops the batch and deletes the group, and a job whose queue
// entry was lost is queued again and completes. Tenant beta: maxConcurrentJobs 1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../local/kit';
import { startReplayHost, type ReplayHost } from '../fixtures/replay/harness';

let h: ReplayHost;
before(async () => {
  h = await startReplayHost();
});
after(() => h?.close());

const running = (id: string) => h.waitFor('beta', id, 'running', (s) => s.state === 'running');
const queued = (id: string) =>
  h.waitFor('beta', id, 'queued behind the running job', (s) => s.state === 'queued' && /^Queued/.test(s.message));

test('jobs queued behind maxConcurrentJobs are admitted one at a time, in FIFO order', async () => {
  const a = await h.submit('beta', h.world.define('fifo-first', { attempts: [{ end: 'hold' }] }));
  await running(a);
  const quick = h.world.define('fifo-next', { attempts: [{ runningPolls: 2 }] });
  const b = await h.submit('beta', quick);
  const c = await h.submit('beta', quick);
  await queued(b);
  await queued(c);
  assert.deepEqual(await h.ledgerEntries('beta', c), { queued: 1, running: 0 });
  assert.equal(h.world.created.length, 1, 'only the first job has a group');
  h.world.end(a, 'succeeded');
  const done = await Promise.all([a, b, c].map((id) => h.settled('beta', id)));
  assert.deepEqual(
    done.map((s) => s.state),
    ['succeeded', 'succeeded', 'succeeded'],
  );
  assert.deepEqual(
    h.world.created,
    done.map((s) => s.container.name),
    'groups created in submission order',
  );
});

test('a burst of submissions never runs more than maxConcurrentJobs groups at once', async () => {
  // Tenant alpha: maxConcurrentJobs 3, maxQueuedJobs 5 — five at once fill the queue exactly.
  const sc = h.world.define('burst', { attempts: [{ runningPolls: 3 }] });
  const ids = await Promise.all(Array.from({ length: 5 }, () => h.submit('alpha', sc)));
  const done = await Promise.all(ids.map((id) => h.settled('alpha', id)));
  assert.deepEqual(
    done.map((s) => s.state),
    ids.map(() => 'succeeded'),
  );
  const peak = h.world.peakGroups.get('alpha') ?? 0;
  assert.ok(peak >= 1 && peak <= 3, `at most 3 groups at once, saw ${peak}`);
  for (const id of ids) assert.deepEqual(await h.ledgerEntries('alpha', id), { queued: 0, running: 0 });
});

test('cancel while queued: canceled without a group, the queue entry is gone', async () => {
  const a = await h.submit('beta', h.world.define('cq-first', { attempts: [{ end: 'hold' }] }));
  await running(a);
  const b = await h.submit('beta', h.world.define('cq-second', {}));
  await queued(b);
  assert.equal(await h.cancel('beta', b), 202);
  const s = await h.settled('beta', b);
  assert.equal(s.state, 'canceled');
  assert.equal(s.error?.code, 'Canceled');
  assert.equal(s.attempts, 0);
  assert.equal(h.world.createAttempts.get(s.container.name), undefined, 'no group was created');
  assert.deepEqual(await h.ledgerEntries('beta', b), { queued: 0, running: 0 });
  h.world.end(a, 'succeeded');
  assert.equal((await h.settled('beta', a)).state, 'succeeded');
});

test('cancel while running: the agent is asked to stop, the group deleted, the slot released', async () => {
  const a = await h.submit('beta', h.world.define('cr', { attempts: [{ end: 'hold' }] }));
  const r = await running(a);
  assert.equal(await h.cancel('beta', a), 202);
  const s = await h.settled('beta', a);
  assert.equal(s.state, 'canceled');
  assert.equal(s.error?.code, 'Canceled');
  assert.ok(r.container.ip && h.world.agentCancels.includes(r.container.ip), 'the agent got a cancel');
  assert.equal(s.container.state, 'deleted');
  assert.ok(h.world.deleted.includes(s.container.name));
  assert.deepEqual(await h.ledgerEntries('beta', a), { queued: 0, running: 0 });
});

test('cancel while running across generations: the ledger record ends the job even if the event is carried over', async () => {
  // Two waits per generation: the cancel lands at or near a generation switch.
  const a = await h.submit('beta', h.world.define('crg', { attempts: [{ end: 'hold' }] }), {
    settings: { stepsPerGeneration: 2 },
  });
  await running(a);
  await waitFor('a generation switch while running', async () => (await h.generationOf('beta', a)) >= 3, {
    timeoutMs: 30_000,
  });
  assert.equal(await h.cancel('beta', a), 202);
  const s = await h.settled('beta', a);
  assert.equal(s.state, 'canceled');
  assert.equal(s.container.state, 'deleted');
  assert.deepEqual(await h.ledgerEntries('beta', a), { queued: 0, running: 0 });
});

test('queue timeout: a job that gets no slot in time fails with QueueTimeout, without a group', async () => {
  const a = await h.submit('beta', h.world.define('qt-first', { attempts: [{ end: 'hold' }] }));
  await running(a);
  const b = await h.submit('beta', h.world.define('qt-second', {}), { settings: { queueTimeoutMinutes: 0.02 } });
  const s = await h.settled('beta', b);
  assert.equal(s.state, 'failed');
  assert.equal(s.error?.code, 'QueueTimeout');
  assert.equal(s.attempts, 0);
  assert.equal(h.world.createAttempts.get(s.container.name), undefined, 'no group was created');
  assert.deepEqual(await h.ledgerEntries('beta', b), { queued: 0, running: 0 }, 'the queue entry was released');
  h.world.end(a, 'succeeded');
  assert.equal((await h.settled('beta', a)).state, 'succeeded');
});

test('cancel while provisioning: canceled at once, the group deleted, the slot released', async () => {
  // The provisioning deadline is an hour away: only the cancel can end this job within the test.
  const sc = h.world.define('cp', { attempts: [{ provision: 'pending' }] });
  const a = await h.submit('beta', sc, { settings: { provisionTimeoutSeconds: 3600 } });
  await h.waitFor('beta', a, 'provisioning', (s) => s.phase === 'provisioning');
  assert.equal(await h.cancel('beta', a), 202);
  const s = await h.settled('beta', a);
  assert.equal(s.state, 'canceled');
  assert.equal(s.container.state, 'deleted');
  assert.ok(h.world.deleted.includes(s.container.name) && !h.world.groups.has(s.container.name));
  assert.deepEqual(await h.ledgerEntries('beta', a), { queued: 0, running: 0 });
});

test('a queued job whose ledger entry was lost is queued again and completes (across generations)', async () => {
  const a = await h.submit('beta', h.world.define('lost-first', { attempts: [{ end: 'hold' }] }));
  await running(a);
  // Small generations: the queued job also hands over to new generations while it waits.
  const b = await h.submit('beta', h.world.define('lost-second', {}), { settings: { stepsPerGeneration: 2 } });
  await queued(b);
  // Storage rolled back (or a reconcile raced the submit): the entry is gone from the queue.
  await h.ledger.update((doc) => {
    const t = doc.tenants.beta!;
    const before = t.queue.length;
    t.queue = t.queue.filter((e) => e.jobId !== b);
    return { changed: t.queue.length !== before, result: null };
  });
  assert.deepEqual(await h.ledgerEntries('beta', b), { queued: 0, running: 0 });
  await waitFor('the job queued again by its own grant attempt', async () => {
    const e = await h.ledgerEntries('beta', b);
    return e.queued === 1 && e;
  });
  assert.equal((await h.get('beta', b)).state, 'queued');
  h.world.end(a, 'succeeded');
  const s = await h.settled('beta', b);
  assert.equal(s.state, 'succeeded', JSON.stringify(s));
  assert.ok((await h.generationOf('beta', b)) >= 2, 'the wait spanned generations');
  assert.deepEqual(await h.ledgerEntries('beta', b), { queued: 0, running: 0 });
});
