// Replay tier: a job array as the API shows it, through the real app and the real durable-functions
// replay (issue 13). While tasks run, GET …/jobs/{id}/tasks lists the started ones by index and
// counts the rest as not started, and the parent's counts come from the tasks themselves (the parent
// publishes in-flight tasks as queued); the job list leaves tasks out unless includeTasks=true; at the
// end every task is listed as succeeded and the parent's /result (written by the parent itself) is
// served by the ordinary result route.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { taskJobIdOf, type JobState, type JobStatus } from '../../orchestration/src/contracts';
import { KEYS, startReplayHost, type ReplayHost } from '../fixtures/replay/harness';

let h: ReplayHost;
before(async () => {
  h = await startReplayHost();
});
after(() => h?.close());

interface TasksPage {
  parent: string;
  count: number;
  counts: Record<JobState, number>;
  notStarted: number;
  tasks: JobStatus[];
  continuationToken: string | null;
}

async function apiGet<T>(path: string, query: Record<string, string> = {}): Promise<T> {
  const url = new URL(`${h.baseUrl}/api/tenants/alpha${path}`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const res = await fetch(url, { headers: { authorization: `Bearer ${KEYS.alpha}` } });
  const text = await res.text();
  assert.equal(res.status, 200, `GET ${url.pathname} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

test('tasks listed by index while they run, the parent counted from them, the result at the end', async () => {
  const sc = h.world.define('api-array-hold', { attempts: [{ pendingReads: 1, end: 'hold' }] });
  const id = await h.submit('alpha', sc, { body: { array: { count: 4, parallelism: 2 } } });
  const task = (i: number) => taskJobIdOf(id, i);
  const running = async (i: number) => {
    await h.waitFor('alpha', id, `task ${i} has a group`, () => h.world.groupOf(task(i)) !== undefined);
    await h.waitFor('alpha', task(i), 'running', (s) => s.state === 'running');
  };
  await running(0);
  await running(1);

  const page = await apiGet<TasksPage>(`/jobs/${id}/tasks`);
  assert.deepEqual(
    page.tasks.map((t) => [t.id, t.index, t.parent, t.state]),
    [
      [task(0), 0, id, 'running'],
      [task(1), 1, id, 'running'],
    ],
  );
  assert.equal(page.notStarted, 2);
  assert.equal(page.counts.running, 2);
  assert.equal(page.counts.queued, 2);
  const parent = await h.get('alpha', id);
  assert.equal(parent.array?.counts.running, 2, 'in-flight tasks as they are, not as the parent published them');
  assert.equal(parent.array?.counts.queued, 2);
  assert.equal(parent.progress, 0);

  const listed = await apiGet<{ jobs: JobStatus[] }>('/jobs');
  assert.ok(listed.jobs.some((j) => j.id === id));
  assert.ok(!listed.jobs.some((j) => j.parent === id), 'tasks are listed under their parent only');
  const withTasks = await apiGet<{ jobs: JobStatus[] }>('/jobs', { includeTasks: 'true' });
  assert.deepEqual(
    withTasks.jobs
      .filter((j) => j.parent === id)
      .map((j) => j.id)
      .sort(),
    [task(0), task(1)],
  );

  for (let i = 0; i < 4; i++) {
    if (i >= 2) await running(i);
    h.world.end(task(i), 'succeeded');
  }
  const done = await h.settled('alpha', id);
  assert.equal(done.state, 'succeeded', JSON.stringify(done));
  const final = await apiGet<TasksPage>(`/jobs/${id}/tasks`, { limit: '3' });
  assert.deepEqual(
    final.tasks.map((t) => [t.index, t.state]),
    [
      [0, 'succeeded'],
      [1, 'succeeded'],
      [2, 'succeeded'],
    ],
  );
  assert.equal(final.notStarted, 0);
  assert.equal(final.counts.succeeded, 4);
  assert.ok(final.continuationToken);
  const rest = await apiGet<TasksPage>(`/jobs/${id}/tasks`, { continuationToken: final.continuationToken });
  assert.deepEqual(
    rest.tasks.map((t) => t.index),
    [3],
  );
  const result = await apiGet<{ tasks: { index: number; id: string; state: string }[] }>(`/jobs/${id}/result`);
  assert.deepEqual(
    result.tasks,
    [0, 1, 2, 3].map((i) => ({ index: i, id: task(i), state: 'succeeded' })),
  );
});
