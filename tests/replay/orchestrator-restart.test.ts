// Replay tier: onFailure restart through the real durable-functions replay — a failed attempt is
// restarted in place (its logs kept), a restart that fails makes the orchestrator create the group
// again, and when maxAttempts is used up the job fails and teardown still deletes the group.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startReplayHost, type ReplayHost } from '../fixtures/replay/harness';

let h: ReplayHost;
before(async () => {
  h = await startReplayHost();
});
after(() => h?.close());

const restartTwice = { body: { onFailure: 'restart', maxAttempts: 2 } };

test('restart: the first attempt fails, the restarted second one succeeds', async () => {
  const sc = h.world.define('restart-ok', { attempts: [{ end: 'failed' }, { end: 'succeeded' }] });
  const id = await h.submit('alpha', sc, restartTwice);
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'succeeded', JSON.stringify(s));
  assert.equal(s.error, null);
  assert.equal(s.attempts, 2);
  assert.deepEqual(h.world.restarted, [s.container.name], 'restarted in place');
  assert.deepEqual(h.world.created, [s.container.name], 'created once');
  assert.ok(s.result?.urls['logs.attempt-1'], "the failed attempt's logs were kept");
  assert.ok(s.result?.urls.result, "the second attempt's result was archived");
  assert.equal(s.container.state, 'deleted');
  assert.deepEqual(await h.ledgerEntries('alpha', id), { queued: 0, running: 0 });
});

test("restart: ARM still showing the previous attempt's terminated container is not taken for this attempt's end", async () => {
  // The first attempt runs at least 30 polls of 50 ms: longer than the 1 s of clock skew that
  // decideReadiness allows, so its container's startTime is recognisably the previous attempt's.
  const sc = h.world.define('restart-stale', {
    attempts: [
      { runningPolls: 30, end: 'oom' },
      { staleReads: 2, end: 'succeeded' },
    ],
  });
  const id = await h.submit('alpha', sc, restartTwice);
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'succeeded', JSON.stringify(s));
  assert.equal(s.attempts, 2);
  assert.ok(h.world.restarted.includes(s.container.name), 'restarted in place');
  assert.equal(h.world.created.filter((n) => n === s.container.name).length, 1, 'not created again');
});

test('restart failing: the group is created again and the job succeeds', async () => {
  const sc = h.world.define('restart-recreate', {
    restartFails: true,
    attempts: [{ end: 'oom' }, { end: 'succeeded' }],
  });
  const id = await h.submit('alpha', sc, restartTwice);
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'succeeded', JSON.stringify(s));
  assert.equal(s.attempts, 2);
  const name = s.container.name;
  assert.ok(h.world.restarted.includes(name), 'a restart was tried');
  assert.equal(h.world.created.filter((n) => n === name).length, 2, 'then the group was created again');
  assert.equal(s.container.state, 'deleted');
});

test('restart exhausted: both attempts fail, the job fails with the last error and is torn down', async () => {
  const sc = h.world.define('restart-exhausted', { attempts: [{ end: 'failed' }, { end: 'exited' }] });
  const id = await h.submit('alpha', sc, restartTwice);
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'failed');
  assert.equal(s.error?.code, 'ContainerExited', JSON.stringify(s.error));
  assert.equal(s.attempts, 2);
  assert.equal(s.container.state, 'deleted');
  assert.ok(h.world.deleted.includes(s.container.name) && !h.world.groups.has(s.container.name));
  assert.deepEqual(await h.ledgerEntries('alpha', id), { queued: 0, running: 0 });
});
