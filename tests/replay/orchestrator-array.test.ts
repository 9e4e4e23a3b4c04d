// Replay tier: job arrays through the real durable-functions replay — the parent starts its tasks
// as sub-orchestrations at most `parallelism` at a time, each task a job of its own (own group,
// env ACI_BATCH_TASK_INDEX/COUNT, own input with array.inputs); the parent's outcome and counts;
// a failed task fails the parent with TaskFailed; cancelling the parent deletes every task's group.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TAGS, taskJobIdOf } from '../../orchestration/src/contracts';
import { startReplayHost, type ReplayHost } from '../fixtures/replay/harness';

let h: ReplayHost;
before(async () => {
  h = await startReplayHost();
});
after(() => h?.close());

const tasksOf = (parent: string, count: number) => Array.from({ length: count }, (_, i) => taskJobIdOf(parent, i));
const groupsOf = (parent: string) => h.world.createdSpecs.filter((s) => s.tags[TAGS.jobId]?.startsWith(`${parent}-`));

test('an array of 8 with parallelism 2: every task runs as its own job, never more than 2 at once', async () => {
  const sc = h.world.define('array-ok', { attempts: [{ pendingReads: 1, runningPolls: 2, end: 'succeeded' }] });
  const peakBefore = h.world.peakGroups.get('alpha') ?? 0;
  assert.equal(peakBefore, 0, 'this test runs first: no group of alpha existed yet');
  const id = await h.submit('alpha', sc, { body: { array: { count: 8, parallelism: 2 } } });
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'succeeded', JSON.stringify(s));
  assert.equal(s.array?.count, 8);
  assert.equal(s.array?.parallelism, 2);
  assert.equal(s.array?.counts.succeeded, 8);
  assert.equal(s.progress, 1);
  const tasks = await Promise.all(tasksOf(id, 8).map((t) => h.get('alpha', t)));
  const taskVcpu = tasks.reduce((sum, t) => sum + t.usage.vcpuSeconds, 0);
  assert.ok(taskVcpu > 0 && Math.abs(s.usage.vcpuSeconds - taskVcpu) < 0.01, "the parent's usage is its tasks'");
  assert.ok((h.world.peakGroups.get('alpha') ?? 0) <= 2, `peak ${h.world.peakGroups.get('alpha')} groups`);
  const specs = groupsOf(id);
  assert.equal(specs.length, 8, 'one group per task');
  assert.deepEqual(
    specs.map((g) => g.env.ACI_BATCH_TASK_INDEX).sort((a, b) => Number(a) - Number(b)),
    ['0', '1', '2', '3', '4', '5', '6', '7'],
  );
  assert.ok(specs.every((g) => g.env.ACI_BATCH_TASK_COUNT === '8'));
  for (const task of tasksOf(id, 8)) {
    const t = await h.get('alpha', task);
    assert.equal(t.state, 'succeeded');
    assert.equal(t.parent, id);
    assert.equal(t.container.state, 'deleted');
  }
  assert.deepEqual(await h.ledgerEntries('alpha', id), { queued: 0, running: 0 }, "the parent's held entry is gone");
  const index = JSON.parse(h.results.blobs.get(`alpha/${id}/result.json`)!.body.toString('utf8')) as {
    result: { tasks: { index: number; state: string }[] };
  };
  assert.equal(index.result.tasks.length, 8);
  assert.ok(index.result.tasks.every((t) => t.state === 'succeeded'));
});

test('array.inputs: task i gets element i as its own input blob', async () => {
  const sc = h.world.define('array-inputs', {});
  const inputs = [{ block: 'a' }, { block: 'b' }, { block: 'c' }];
  const id = await h.submit('alpha', sc, { body: { array: { inputs } } });
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'succeeded', JSON.stringify(s));
  tasksOf(id, 3).forEach((task, i) => {
    const blob = h.results.blobs.get(`alpha/${task}/input.json`);
    assert.ok(blob, `task ${i} has an input blob`);
    assert.deepEqual(JSON.parse(blob.body.toString('utf8')), inputs[i]);
  });
});

test('a task that fails fails the parent with TaskFailed; the others still run to the end', async () => {
  const sc = h.world.define('array-one-fails', { attempts: [{ end: 'succeeded' }] });
  h.world.define(`${sc}#1`, { attempts: [{ end: 'failed', exitCode: 4 }] });
  const id = await h.submit('alpha', sc, { body: { array: { count: 4, parallelism: 2 } } });
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'failed');
  assert.equal(s.error?.code, 'TaskFailed');
  assert.match(s.error!.message, /1 of 4 tasks did not succeed \(the first: task 1, failed\)/);
  assert.deepEqual([s.array?.counts.succeeded, s.array?.counts.failed], [3, 1]);
  assert.equal((await h.get('alpha', taskJobIdOf(id, 1))).error?.code, 'JobFailed');
  assert.equal(groupsOf(id).length, 4, 'the tasks after the failed one still ran');
});

test('a long array spans generations (continueAsNew between batches) and still runs every task once', async () => {
  const sc = h.world.define('array-generations', {});
  // 2 × max(stepsPerGeneration 2, parallelism 1) = 4 tasks per generation: 9 tasks take 3 generations.
  const id = await h.submit('alpha', sc, {
    body: { array: { count: 9, parallelism: 1 } },
    settings: { stepsPerGeneration: 2 },
  });
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'succeeded', JSON.stringify(s));
  assert.equal(s.array?.counts.succeeded, 9);
  assert.equal(await h.generationOf('alpha', id), 3);
  assert.equal(groupsOf(id).length, 9, 'each task once: no task started again by a later generation');
});

test('cancel of a parent with running tasks cancels every task and deletes every group', async () => {
  const sc = h.world.define('array-hold', { attempts: [{ pendingReads: 1, end: 'hold' }] });
  const id = await h.submit('alpha', sc, { body: { array: { count: 5, parallelism: 2 } } });
  await h.waitFor('alpha', id, 'two tasks running', () => groupsOf(id).length >= 2);
  const running = tasksOf(id, 2);
  for (const t of running) await h.waitFor('alpha', t, 'running', (st) => st.state === 'running');
  assert.equal(await h.cancel('alpha', id), 202);
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'canceled', JSON.stringify(s));
  assert.equal(s.array?.counts.canceled, 5, 'two canceled in flight, three never started');
  for (const t of running) {
    const st = await h.settled('alpha', t);
    assert.equal(st.state, 'canceled');
    assert.equal(st.container.state, 'deleted');
  }
  assert.equal(groupsOf(id).length, 2, 'no task started after the cancel');
  for (const g of groupsOf(id)) assert.ok(!h.world.groups.has(g.name), `${g.name} deleted`);
});
