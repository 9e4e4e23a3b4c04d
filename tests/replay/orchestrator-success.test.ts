// Replay tier: jobs that succeed, through the real durable-functions replay in the local host —
// the happy path (result archived, group deleted, slot released), onComplete keep/stop, and a job
// that spans several generations (continueAsNew) with its status readable throughout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startReplayHost, type ReplayHost } from '../fixtures/replay/harness';

let h: ReplayHost;
before(async () => {
  h = await startReplayHost();
});
after(() => h?.close());

test('happy path: succeeded, result archived, group deleted, slot released', async () => {
  const sc = h.world.define('happy', { attempts: [{ pendingReads: 2, runningPolls: 2, end: 'succeeded' }] });
  const id = await h.submit('alpha', sc);
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'succeeded', JSON.stringify(s));
  assert.equal(s.error, null);
  assert.equal(s.attempts, 1);
  assert.equal(s.progress, 1);
  assert.equal(s.container.state, 'deleted');
  const group = s.container.name;
  assert.deepEqual(h.world.created, [group]);
  assert.ok(h.world.deleted.includes(group), 'the group was deleted');
  assert.ok(!h.world.groups.has(group));
  assert.ok(s.result?.urls.result, 'the result was archived');
  assert.ok(h.results.blobs.has(`alpha/${id}/result.json`));
  assert.deepEqual(await h.ledgerEntries('alpha', id), { queued: 0, running: 0 });
  assert.ok(s.usage.vcpuSeconds > 0 && s.usage.currency === 'EUR', 'billed from the group start to teardown');
});

test('onComplete keep leaves the group as it is; onComplete stop stops it', async () => {
  const sc = h.world.define('keep-or-stop', {});
  const kept = await h.submit('alpha', sc, { body: { onComplete: 'keep' } });
  const stopped = await h.submit('alpha', sc, { body: { onComplete: 'stop' } });
  const [k, s] = await Promise.all([h.settled('alpha', kept), h.settled('alpha', stopped)]);
  assert.equal(k.state, 'succeeded');
  assert.equal(k.container.state, 'kept');
  assert.ok(h.world.groups.has(k.container.name), 'the kept group is still there');
  assert.ok(!h.world.deleted.includes(k.container.name) && !h.world.stopped.includes(k.container.name));
  assert.equal(s.state, 'succeeded');
  assert.equal(s.container.state, 'stopped');
  assert.ok(h.world.stopped.includes(s.container.name) && !h.world.deleted.includes(s.container.name));
  for (const id of [kept, stopped]) assert.deepEqual(await h.ledgerEntries('alpha', id), { queued: 0, running: 0 });
});

test('continueAsNew: a long run spans generations and its status stays readable throughout', async () => {
  // Three waits per generation: about one generation per three polls of a 12-poll run.
  const sc = h.world.define('long-run', { attempts: [{ pendingReads: 3, runningPolls: 12 }] });
  const id = await h.submit('alpha', sc, { settings: { stepsPerGeneration: 3 } });
  const seen: string[] = [];
  const s = await h.waitFor('alpha', id, 'the final status', (st) => {
    if (seen.at(-1) !== st.state) seen.push(st.state);
    return st.phase === 'done';
  });
  assert.equal(s.state, 'succeeded', JSON.stringify(s));
  // Every GET answered a job status (the harness asserts 200) and the state never went back.
  const order = ['queued', 'provisioning', 'starting', 'running', 'succeeded'];
  const ranks = seen.map((st) => order.indexOf(st));
  assert.ok(!ranks.includes(-1), `unexpected state in ${seen.join(' → ')}`);
  assert.deepEqual(
    ranks,
    [...ranks].sort((a, b) => a - b),
    `the state went back: ${seen.join(' → ')}`,
  );
  const generation = await h.generationOf('alpha', id);
  assert.ok(generation >= 3, `the run used ${generation} generation(s)`);
  assert.equal(s.progressHistory.at(-1)?.progress, 1);
});

test('agent callbacks: progress updates the status between polls, completion triggers the poll at once', async () => {
  // Polls two minutes apart: only the callbacks can move this job along within the test's wait.
  const id = await h.submit('alpha', h.world.define('callbacks', { attempts: [{ end: 'hold' }] }), {
    settings: { pollIntervalSeconds: 120 },
  });
  await h.waitFor('alpha', id, 'running', (s) => s.state === 'running');
  assert.equal(
    await h.callback('alpha', id, { type: 'progress', state: 'running', progress: 0.3, message: 'a third' }),
    202,
  );
  const p = await h.waitFor('alpha', id, 'the progress callback', (s) => s.message === 'a third');
  assert.equal(p.progress, 0.3);
  assert.ok(p.progressHistory.some((e) => e.progress === 0.3 && e.message === 'a third'));
  h.world.end(id, 'succeeded');
  assert.equal(await h.callback('alpha', id, { type: 'completed', state: 'succeeded', progress: 1 }), 202);
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'succeeded');
  assert.equal(s.container.state, 'deleted');
});
