// Job arrays on the real local stack (emulator + Azurite + functions host, real agents and
// processes): 20 tasks with parallelism 3 never run more than 3 at once (judged from the times the
// tasks' own programs recorded, not from the test's clock); select "best" with the real model
// returns the result of the task with the highest log-likelihood; cancelling a parent with running
// tasks cancels them all and deletes every group.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateRegimeSeries, modelInput } from '../../local/stack/demo-data';
import { requestJson } from '../../local/stack/http-json';
import type { ApiClient } from '../../local/stack/api-client';
import {
  startTestStack,
  stopAndCheck,
  waitFor,
  waitForEnd,
  waitForStatus,
  type TestStack,
} from '../fixtures/stack/harness';

let ts: TestStack | undefined;
const stack = (): TestStack => {
  assert.ok(ts, 'the stack did not start (see the before hook)');
  return ts;
};

before(async () => {
  ts = await startTestStack('arrays');
});

after(async () => {
  await stopAndCheck(ts);
});

interface ArrayView {
  state: string;
  error: { code: string; message: string } | null;
  array?: { count: number; parallelism: number; counts: Record<string, number>; selected?: unknown };
}

async function resultOf(ts: TestStack, client: ApiClient, id: string): Promise<Record<string, unknown>> {
  const url = `${ts.stack.apiBaseUrl}/tenants/${client.tenant}/jobs/${id}/result`;
  const r = await requestJson<Record<string, unknown>>(url, {
    headers: { authorization: `Bearer ${client.apiKey}` },
    timeoutMs: 15_000,
  });
  assert.equal(r.status, 200, `GET ${id}/result answered ${r.status}: ${r.text.slice(0, 300)}`);
  return r.body;
}

/** The most intervals that overlap at any instant. */
function peakOverlap(intervals: { start: number; end: number }[]): number {
  const edges = intervals.flatMap((i) => [
    { at: i.start, d: 1 },
    { at: i.end, d: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.d - b.d); // an end before a start at the same instant
  let now = 0;
  let peak = 0;
  for (const e of edges) peak = Math.max(peak, (now += e.d));
  return peak;
}

describe('job arrays', { concurrency: true }, () => {
  test('an array of 20 with parallelism 3 never has more than 3 tasks running; the parent succeeds', async () => {
    const t = stack();
    const sub = await t.contoso.submitOk({
      image: 'test/sleep:1.0',
      env: { SLEEP_MS: '300' },
      array: { count: 20, parallelism: 3 },
    });
    const parent = (await waitForEnd(t, t.contoso, sub.id, 240_000)) as unknown as ArrayView;
    assert.equal(parent.state, 'succeeded', await t.explain(t.contoso, sub.id));
    assert.equal(parent.array?.counts.succeeded, 20);
    const runs = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const r = await resultOf(t, t.contoso, `${sub.id}-${i}`);
        const found = JSON.stringify(r).match(/"startedAt":"([^"]+)","finishedAt":"([^"]+)"/);
        assert.ok(found, `task ${i}'s result names its run: ${JSON.stringify(r).slice(0, 300)}`);
        assert.match(JSON.stringify(r), new RegExp(`"jobId":"${sub.id}-${i}"`), 'each task ran as its own job');
        return { start: Date.parse(found[1]!), end: Date.parse(found[2]!) };
      }),
    );
    const peak = peakOverlap(runs);
    assert.ok(peak <= 3, `at most 3 tasks ran at once; the tasks' own times show ${peak}`);
  });

  test('select "best" with the real model: the parent\'s result is the task with the highest log-likelihood', async () => {
    const t = stack();
    const series = generateRegimeSeries({ n: 150, mu: [0, 2.5], sigma2: [0.3, 0.6], stay: [0.93, 0.9], seed: 31 });
    const sub = await t.contoso.submitOk({
      input: { ...modelInput(series, 2), starts: 1 },
      array: { count: 3, select: 'best' },
    });
    const parent = (await waitForEnd(t, t.contoso, sub.id, 240_000)) as unknown as ArrayView;
    assert.equal(parent.state, 'succeeded', await t.explain(t.contoso, sub.id));
    const lls = await Promise.all(
      [0, 1, 2].map(async (i) => (await resultOf(t, t.contoso, `${sub.id}-${i}`)).logLikelihood as number),
    );
    assert.ok(
      lls.every((x) => Number.isFinite(x)),
      `every task has a log-likelihood: ${lls.join(', ')}`,
    );
    const best = lls.indexOf(Math.max(...lls));
    const result = await resultOf(t, t.contoso, sub.id);
    assert.deepEqual(result.selectedTask, { id: `${sub.id}-${best}`, index: best, logLikelihood: lls[best] });
    assert.equal(result.logLikelihood, lls[best], "the parent's result is that task's result");
    assert.deepEqual(parent.array?.selected, result.selectedTask);
  });

  test('cancel of a parent with running tasks cancels every task and deletes every group', async () => {
    const t = stack();
    const sub = await t.contoso.submitOk({
      image: 'test/sleep:1.0',
      env: { SLEEP_MS: '60000' },
      array: { count: 6, parallelism: 3 },
    });
    const tasks = [0, 1, 2].map((i) => `${sub.id}-${i}`);
    for (const id of tasks) await waitForStatus(t, t.contoso, id, 'running', (s) => s.state === 'running', 90_000);
    const c = await t.contoso.cancel(sub.id);
    assert.equal(c.status, 202, c.text);
    const parent = (await waitForEnd(t, t.contoso, sub.id, 120_000)) as unknown as ArrayView;
    assert.equal(parent.state, 'canceled', JSON.stringify(parent));
    assert.equal(parent.array?.counts.canceled, 6, 'three canceled while running, three never started');
    for (const id of tasks) assert.equal((await waitForEnd(t, t.contoso, id, 60_000)).state, 'canceled');
    assert.equal((await t.contoso.get(`${sub.id}-3`)).status, 404, 'no task started after the cancel');
    await waitFor(
      'every group of the array to be deleted',
      async () => {
        const left = (await t.stack.listGroups()).filter((g) => g.name.includes(sub.id));
        return left.length === 0 ? true : undefined;
      },
      60_000,
      async () => JSON.stringify(await t.stack.listGroups()),
    );
  });
});
