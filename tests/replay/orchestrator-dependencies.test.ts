// Replay tier: job dependencies through the real durable-functions replay and the real app. The
// dependents' fallback re-check is set to 10 minutes, so a wake-up within the test's 30 s can only
// come from a DependencyEnded event (or from the first check, for a dependency that had already
// ended). A chain A → B → C where A fails ends B and C with DependencyFailed without a group
// (the cascade: B's own teardown tells C); a chain that succeeds runs in order; condition
// "finished" runs after a failure; a cancel while waiting creates no group.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TAGS } from '../../orchestration/src/contracts';
import { startReplayHost, type ReplayHost } from '../fixtures/replay/harness';

let h: ReplayHost;
before(async () => {
  h = await startReplayHost();
});
after(() => h?.close());

/** Only an event (or the first check) can wake a dependent within the test's deadline. */
const EVENTS_ONLY = { admissionPollSeconds: 600 };
const hasGroup = (id: string) => h.world.createdSpecs.some((s) => s.tags[TAGS.jobId] === id);
const after_ = (job: string, condition: 'succeeded' | 'finished' = 'succeeded') => ({
  body: { dependsOn: [{ job, condition }] },
  settings: EVENTS_ONLY,
});

test('A → B → C, A fails: B and C end with DependencyFailed, never get a group, and leave the ledger', async () => {
  const a = await h.submit('alpha', h.world.define('dep-a-fails', { attempts: [{ end: 'hold' }] }), {
    body: { maxAttempts: 1 },
  });
  await h.waitFor('alpha', a, 'running', (s) => s.state === 'running');
  const sc = h.world.define('dep-never-runs', {});
  const b = await h.submit('alpha', sc, after_(a));
  const c = await h.submit('alpha', sc, after_(b));
  const waitingB = await h.waitFor('alpha', b, 'waiting', (s) => s.message === 'Waiting for 1 of 1 dependencies');
  assert.equal(waitingB.phase, 'dependencies');
  assert.equal(waitingB.state, 'queued');
  assert.deepEqual(await h.ledgerEntries('alpha', c), { queued: 1, running: 0 });
  h.world.end(a, 'failed');
  const [sa, sb, sc2] = await Promise.all([a, b, c].map((id) => h.settled('alpha', id)));
  assert.equal(sa!.state, 'failed');
  assert.equal(sb!.state, 'failed');
  assert.equal(sb!.error?.code, 'DependencyFailed');
  assert.match(sb!.error!.message, new RegExp(`${a} ended failed; its condition "succeeded"`));
  assert.deepEqual(sb!.dependsOn, [{ job: a, condition: 'succeeded', state: 'failed' }]);
  assert.equal(sc2!.error?.code, 'DependencyFailed');
  assert.match(sc2!.error!.message, new RegExp(`${b} ended failed`));
  assert.ok(!hasGroup(b) && !hasGroup(c), 'no group for a job whose dependency failed');
  assert.equal(sb!.attempts, 0);
  for (const id of [b, c]) assert.deepEqual(await h.ledgerEntries('alpha', id), { queued: 0, running: 0 });
});

test('A → B → C all succeed: each starts only after the previous one ended, woken by its event', async () => {
  const hold = h.world.define('dep-chain-hold', { attempts: [{ end: 'hold' }] });
  const a = await h.submit('alpha', hold);
  const b = await h.submit('alpha', hold, after_(a));
  const c = await h.submit('alpha', h.world.define('dep-chain-quick', {}), after_(b));
  await h.waitFor('alpha', a, 'running', (s) => s.state === 'running');
  assert.ok(!hasGroup(b) && !hasGroup(c));
  h.world.end(a, 'succeeded');
  await h.waitFor('alpha', b, 'running', (s) => s.state === 'running');
  assert.equal((await h.get('alpha', a)).state, 'succeeded');
  assert.ok(!hasGroup(c), 'C waits for B');
  assert.equal((await h.get('alpha', c)).phase, 'dependencies');
  h.world.end(b, 'succeeded');
  const sc = await h.settled('alpha', c);
  assert.equal(sc.state, 'succeeded', JSON.stringify(sc));
  assert.deepEqual(sc.dependsOn, [{ job: b, condition: 'succeeded', state: 'succeeded' }]);
  const order = h.world.createdSpecs.map((s) => s.tags[TAGS.jobId]).filter((id) => [a, b, c].includes(id!));
  assert.deepEqual(order, [a, b, c]);
});

test('condition "finished" runs after a failed dependency; a dependency that already ended decides at once', async () => {
  const a = await h.submit('alpha', h.world.define('dep-fails-fast', { attempts: [{ end: 'failed' }] }));
  assert.equal((await h.settled('alpha', a)).state, 'failed');
  const ok = h.world.define('dep-after-end', {});
  const finished = await h.submit('alpha', ok, after_(a, 'finished'));
  const succeeded = await h.submit('alpha', ok, after_(a, 'succeeded'));
  const [f, s] = await Promise.all([finished, succeeded].map((id) => h.settled('alpha', id)));
  assert.equal(f!.state, 'succeeded', JSON.stringify(f));
  assert.deepEqual(f!.dependsOn, [{ job: a, condition: 'finished', state: 'failed' }]);
  assert.ok(hasGroup(finished));
  assert.equal(s!.error?.code, 'DependencyFailed');
  assert.ok(!hasGroup(succeeded));
});

test('cancel while waiting for a dependency: canceled, no group, the dependency runs on', async () => {
  const a = await h.submit('alpha', h.world.define('dep-cancel-hold', { attempts: [{ end: 'hold' }] }));
  const b = await h.submit('alpha', h.world.define('dep-canceled', {}), after_(a));
  await h.waitFor('alpha', a, 'running', (s) => s.state === 'running');
  await h.waitFor('alpha', b, 'waiting', (s) => s.phase === 'dependencies' && /of 1/.test(s.message));
  assert.equal(await h.cancel('alpha', b), 202);
  const sb = await h.settled('alpha', b);
  assert.equal(sb.state, 'canceled');
  assert.ok(!hasGroup(b));
  assert.equal((await h.get('alpha', a)).state, 'running');
  h.world.end(a, 'succeeded');
  assert.equal((await h.settled('alpha', a)).state, 'succeeded');
});
