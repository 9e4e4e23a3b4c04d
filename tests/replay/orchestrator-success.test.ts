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
});
