// The array parent's activities over in-memory ports: PrepareTasks writes exactly the tasks' input
// blobs asked for; CompleteArray with select "best" picks the succeeded task with the highest
// logLikelihood (ignoring failed tasks and results without a finite one), copies its chart and says
// which task it was; without select it writes an index; CancelJobs records and raises each cancel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arrayActivities } from '../../orchestration/src/activities/array';
import type { ActivityDeps } from '../../orchestration/src/activities/deps';
import { taskJobIdOf } from '../../orchestration/src/contracts';
import { MemoryResults, silentLog } from '../fixtures/tenants/harness';

const P = 'j-aaaaaaaaaaaaaaaaaaaa';
const env = { raise: async () => undefined, jobStatus: async () => undefined };

function deps(results: MemoryResults, canceled: string[] = []): ActivityDeps {
  return {
    results,
    log: silentLog,
    now: () => new Date('2026-11-30T12:00:00Z'),
    admission: {
      cancelAll: async (_t: string, ids: string[]) => {
        canceled.push(...ids);
        return ids.length;
      },
      cancelRequested: async (_t: string, id: string) => canceled.includes(id),
    },
  } as unknown as ActivityDeps;
}

const putResult = (r: MemoryResults, index: number, result: unknown) =>
  r.put(`alpha/${taskJobIdOf(P, index)}/result.json`, JSON.stringify({ result }), 'application/json');
const read = (r: MemoryResults, name: string) => JSON.parse(r.blobs.get(name)!.body.toString('utf8')) as unknown;

const prep = { tenant: 'alpha', jobId: P, instanceId: `alpha--${P}`, inputsBlob: `alpha/${P}/inputs.json` };

test('PrepareTasks writes task i input = inputs[i] for exactly [from, to)', async () => {
  const r = new MemoryResults();
  await r.put(`alpha/${P}/inputs.json`, JSON.stringify([{ a: 0 }, { a: 1 }, { a: 2 }, { a: 3 }]), 'application/json');
  const acts = arrayActivities(deps(r));
  const n = await acts.PrepareTasks({ ...prep, from: 1, to: 9 }, env);
  assert.deepEqual(n, { prepared: 3, canceled: false }, 'bounded by the inputs');
  assert.equal(r.blobs.has(`alpha/${taskJobIdOf(P, 0)}/input.json`), false);
  for (const i of [1, 2, 3]) assert.deepEqual(read(r, `alpha/${taskJobIdOf(P, i)}/input.json`), { a: i });
  await assert.rejects(acts.PrepareTasks({ ...prep, inputsBlob: 'alpha/none.json', from: 0, to: 1 }, env), /missing/);
});

test("PrepareTasks answers the parent's cancel recorded in the ledger, and then writes nothing", async () => {
  const r = new MemoryResults();
  await r.put(`alpha/${P}/inputs.json`, JSON.stringify([{ a: 0 }]), 'application/json');
  const answer = await arrayActivities(deps(r, [`alpha--${P}`])).PrepareTasks({ ...prep, from: 0, to: 1 }, env);
  assert.deepEqual(answer, { prepared: 0, canceled: true });
  assert.equal(r.blobs.has(`alpha/${taskJobIdOf(P, 0)}/input.json`), false);
});

test('CompleteArray select best: the succeeded task with the highest logLikelihood, its chart, and which it was', async () => {
  const r = new MemoryResults();
  await putResult(r, 0, { logLikelihood: -120.5, k: 2 });
  await putResult(r, 1, { logLikelihood: -99.25, k: 2 }); // best, but its task failed: not eligible
  await putResult(r, 2, { logLikelihood: -101.0, k: 2, marker: 'best' });
  await putResult(r, 3, { logLikelihood: null });
  await r.put(`alpha/${taskJobIdOf(P, 2)}/chart.svg`, '<svg>2</svg>', 'image/svg+xml');
  const acts = arrayActivities(deps(r));
  const done = await acts.CompleteArray({ tenant: 'alpha', jobId: P, states: 'sfss', select: 'best' }, env);
  assert.deepEqual(done.selected, { id: taskJobIdOf(P, 2), index: 2, logLikelihood: -101 });
  const doc = read(r, `alpha/${P}/result.json`) as { result: Record<string, unknown> };
  assert.equal(doc.result.marker, 'best');
  assert.deepEqual(doc.result.selectedTask, done.selected);
  assert.equal(r.blobs.get(`alpha/${P}/chart.svg`)?.body.toString(), '<svg>2</svg>');
  assert.ok(done.urls.result && done.urls['chart.svg']);
});

test('CompleteArray select best with no usable result writes nothing and selects nothing', async () => {
  const r = new MemoryResults();
  const done = await arrayActivities(deps(r)).CompleteArray(
    { tenant: 'alpha', jobId: P, states: 'ff', select: 'best' },
    env,
  );
  assert.deepEqual(done, { urls: {}, selected: null });
  assert.equal(r.blobs.size, 0);
});

test('CompleteArray without select writes an index of the tasks and their states', async () => {
  const r = new MemoryResults();
  const done = await arrayActivities(deps(r)).CompleteArray({ tenant: 'alpha', jobId: P, states: 'sfct' }, env);
  assert.equal(done.selected, null);
  assert.deepEqual(read(r, `alpha/${P}/result.json`), {
    result: {
      tasks: [
        { index: 0, id: taskJobIdOf(P, 0), state: 'succeeded' },
        { index: 1, id: taskJobIdOf(P, 1), state: 'failed' },
        { index: 2, id: taskJobIdOf(P, 2), state: 'canceled' },
        { index: 3, id: taskJobIdOf(P, 3), state: 'timed_out' },
      ],
    },
  });
});

test('CancelJobs records the cancel in the ledger and raises the event on every task', async () => {
  const canceled: string[] = [];
  const raised: string[] = [];
  const ids = [0, 1, 2].map((i) => `alpha--${taskJobIdOf(P, i)}`);
  const n = await arrayActivities(deps(new MemoryResults(), canceled)).CancelJobs(
    { tenant: 'alpha', instanceIds: ids },
    {
      ...env,
      raise: async (id: string, event: string) => {
        raised.push(`${id}:${event}`);
      },
    },
  );
  assert.equal(n, 3);
  assert.deepEqual(canceled.sort(), ids);
  assert.deepEqual(
    raised.sort(),
    ids.map((id) => `${id}:CancelRequested`),
  );
});
