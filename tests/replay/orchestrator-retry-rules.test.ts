// Replay tier: retry rules (issue 13) through the real durable-functions replay and the real HTTP
// API — an exit code a rule retries is retried until the attempt limit and one a rule refuses is
// not; an OOM kill under onOomKilled "retry-with-more-memory" is retried with double the memory,
// by deleting the group and creating it again (the fake ACI refuses a PUT that changes an existing
// group's memory with 400 InvalidContainerGroupUpdate, as ACI does: container-instances-update.md
// "Properties that require container delete").
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startReplayHost, type ReplayHost } from '../fixtures/replay/harness';

let h: ReplayHost;
before(async () => {
  h = await startReplayHost();
});
after(() => h?.close());

const rules = {
  onFailure: 'delete',
  retry: {
    attempts: 3,
    backoffSeconds: 0.05,
    rules: [
      { onExitCode: [3], action: 'retry' },
      { onExitCode: [4], action: 'fail' },
    ],
  },
};

test('exit 3 is retried per rule up to the attempt limit', async () => {
  const sc = h.world.define('retry-exit-3', { attempts: [{ end: 'exited', exitCode: 3 }] });
  const id = await h.submit('alpha', sc, { body: rules });
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'failed', JSON.stringify(s));
  assert.equal(s.error?.code, 'ContainerExited');
  assert.equal(s.attempts, 3);
  assert.equal(s.maxAttempts, 3);
  assert.equal(s.container.exitCode, 3);
  assert.deepEqual(
    s.attemptHistory?.map((a) => [a.attempt, a.exitCode, a.reason]),
    [
      [1, 3, 'ContainerExited'],
      [2, 3, 'ContainerExited'],
      [3, 3, 'ContainerExited'],
    ],
  );
  assert.equal(h.world.restarted.filter((n) => n === s.container.name).length, 2);
  assert.equal(s.container.state, 'deleted');
  assert.deepEqual(await h.ledgerEntries('alpha', id), { queued: 0, running: 0 });
});

test('exit 4 (the batch reports it) is not retried', async () => {
  const sc = h.world.define('retry-exit-4', { attempts: [{ end: 'failed', exitCode: 4 }, { end: 'succeeded' }] });
  const id = await h.submit('alpha', sc, { body: rules });
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'failed', JSON.stringify(s));
  assert.equal(s.error?.code, 'JobFailed');
  assert.equal(s.attempts, 1);
  assert.equal(s.container.exitCode, 4);
  assert.ok(!h.world.restarted.includes(s.container.name), 'no restart');
});

test('OOM with retry-with-more-memory succeeds on the second attempt with double the memory', async () => {
  const sc = h.world.define('retry-oom-memory', { attempts: [{ end: 'oom' }, { end: 'succeeded' }] });
  const id = await h.submit('alpha', sc, {
    body: { memoryGb: 2, onFailure: 'delete', retry: { attempts: 2 }, onOomKilled: 'retry-with-more-memory' },
  });
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'succeeded', JSON.stringify(s));
  assert.equal(s.attempts, 2);
  assert.equal(s.resources.memoryGb, 4);
  assert.deepEqual(
    s.attemptHistory?.map((a) => [a.attempt, a.memoryGb, a.exitCode, a.reason]),
    [
      [1, 2, 137, 'OOMKilled'],
      [2, 4, null, null],
    ],
  );
  const name = s.container.name;
  assert.deepEqual(
    h.world.createdSpecs.filter((g) => g.name === name).map((g) => g.memoryGb),
    [2, 4],
    'created again with double the memory',
  );
  assert.ok(!h.world.restarted.includes(name), 'not restarted: ACI cannot change the memory of a group');
  assert.equal(h.world.deleted.filter((n) => n === name).length, 2, 'deleted before the re-create, and at teardown');
  assert.ok(s.result?.urls['logs.attempt-1'], "the OOM-killed attempt's logs were kept");
  assert.ok(s.usage.gbSeconds > 0);
});
