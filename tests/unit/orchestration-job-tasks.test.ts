// A job array's tasks through the HTTP handlers, over in-memory ports (issue 13): GET …/jobs/{id}/tasks
// (by index, paged, state filter, not-started tasks counted, 404 for a non-array or another tenant's
// job, 400 naming each bad field), the parent's counts and progress refined from its live tasks while
// it runs (one list call per request) and its own tally once it ended, tasks left out of the job list
// unless asked for, and the cancel of a parent reaching every live task at once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ApiResponse } from '../../orchestration/src/api/http';
import { handle } from '../../orchestration/src/api/http';
import { refineArrayStatus, taskPrefixOf } from '../../orchestration/src/api/job-tasks';
import { createTenantUsage } from '../../orchestration/src/api/usage';
import {
  EVENTS,
  initialStatus,
  instanceIdOf,
  taskJobIdOf,
  type JobInput,
  type JobState,
  type JobStatus,
} from '../../orchestration/src/contracts';
import { addTask, publishParent, submitArray } from '../fixtures/tenants/array-fixture';
import {
  apiHarness,
  auth,
  goodInput,
  request,
  SETTINGS,
  silentLog,
  tenantsFixture,
  type ApiHarness,
} from '../fixtures/tenants/harness';

type Body = Record<string, unknown>;
const run = async (fn: () => Promise<ApiResponse>): Promise<ApiResponse> =>
  handle(silentLog, 'test', () => fn())(request({}));
const get = (tenant: string, key: string, id: string, query: Record<string, string> = {}) =>
  request({ params: { tenant, id }, headers: auth(key), query });

interface TasksPage {
  parent: string;
  state: string;
  count: number;
  parallelism: number;
  counts: Record<JobState, number>;
  notStarted: number;
  tasks: JobStatus[];
  continuationToken: string | null;
}

/** Counts the backend's list calls (each one reads every instance in Azure). */
function countLists(h: ApiHarness): { calls: string[] } {
  const seen = { calls: [] as string[] };
  const list = h.jobs.list.bind(h.jobs);
  h.jobs.list = async (prefix: string) => {
    seen.calls.push(prefix);
    return list(prefix);
  };
  return seen;
}

describe('GET …/jobs/{id}/tasks', () => {
  test('lists the started tasks by index with their statuses; tasks not started are counted, not invented', async () => {
    const h = apiHarness();
    const parent = await submitArray(h, 6);
    publishParent(h, parent, { state: 'running', phase: 'fanout' });
    addTask(h, parent, 2, 'running');
    addTask(h, parent, 0, 'succeeded');
    addTask(h, parent, 1, 'failed');
    const r = await run(() => h.api.tasks(get('alpha', 'alpha-key', parent.jobId), h.jobs));
    assert.equal(r.status, 200, JSON.stringify(r.jsonBody));
    const b = r.jsonBody as TasksPage;
    assert.equal(b.parent, parent.jobId);
    assert.equal(b.count, 6);
    assert.equal(b.parallelism, 2);
    assert.equal(b.notStarted, 3);
    assert.deepEqual(
      b.tasks.map((t) => [t.id, t.index, t.parent, t.state]),
      [
        [`${parent.jobId}-0`, 0, parent.jobId, 'succeeded'],
        [`${parent.jobId}-1`, 1, parent.jobId, 'failed'],
        [`${parent.jobId}-2`, 2, parent.jobId, 'running'],
      ],
    );
    assert.equal(b.counts.succeeded, 1);
    assert.equal(b.counts.failed, 1);
    assert.equal(b.counts.running, 1);
    assert.equal(b.counts.queued, 3);
    assert.equal(b.continuationToken, null);
  });

  test('pages with limit and an opaque token, and filters by state', async () => {
    const h = apiHarness();
    const parent = await submitArray(h, 7);
    const states: JobState[] = ['succeeded', 'running', 'succeeded', 'failed', 'succeeded', 'succeeded', 'queued'];
    states.forEach((s, i) => addTask(h, parent, i, s));
    const seen: number[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const query: Record<string, string> = { limit: '2', state: 'succeeded' };
      if (token) query.continuationToken = token;
      const r = await run(() => h.api.tasks(get('alpha', 'alpha-key', parent.jobId, query), h.jobs));
      assert.equal(r.status, 200);
      const b = r.jsonBody as TasksPage;
      assert.ok(b.tasks.length <= 2);
      seen.push(...b.tasks.map((t) => t.index!));
      token = b.continuationToken;
      pages += 1;
      assert.ok(pages < 10, 'the token advances');
    } while (token);
    assert.deepEqual(seen, [0, 2, 4, 5]);
    assert.equal(pages, 2);
    const all = await run(() => h.api.tasks(get('alpha', 'alpha-key', parent.jobId, { limit: '200' }), h.jobs));
    assert.deepEqual(
      (all.jsonBody as TasksPage).tasks.map((t) => t.index),
      [0, 1, 2, 3, 4, 5, 6],
    );
    assert.equal((all.jsonBody as TasksPage).notStarted, 0);
  });

  test("404 for a job that is not an array, a task, another tenant's array, or a bad id", async () => {
    const h = apiHarness();
    const parent = await submitArray(h, 3);
    addTask(h, parent, 0, 'running');
    const single = await run(() =>
      h.api.submit(
        request({
          method: 'POST',
          params: { tenant: 'alpha' },
          headers: auth('alpha-key'),
          body: { input: goodInput() },
        }),
        h.jobs,
      ),
    );
    const singleId = (single.jsonBody as { id: string }).id;
    for (const [tenant, key, id] of [
      ['alpha', 'alpha-key', singleId],
      ['alpha', 'alpha-key', taskJobIdOf(parent.jobId, 0)],
      ['beta', 'beta-key', parent.jobId],
      ['alpha', 'alpha-key', 'j-nope'],
    ] as const) {
      const r = await run(() => h.api.tasks(get(tenant, key, id), h.jobs));
      assert.equal(r.status, 404, `${tenant} ${id}`);
      assert.equal((r.jsonBody as { error: { code: string } }).error.code, 'NotFound');
    }
  });

  test('400 names every bad query field at once', async () => {
    const h = apiHarness();
    const parent = await submitArray(h, 3);
    const r = await run(() =>
      h.api.tasks(
        get('alpha', 'alpha-key', parent.jobId, { state: 'done', limit: '2.5', continuationToken: 'garbage' }),
        h.jobs,
      ),
    );
    assert.equal(r.status, 400);
    const details = (r.jsonBody as { error: { details: { field: string; message: string }[] } }).error.details;
    assert.deepEqual(details.map((d) => d.field).sort(), ['continuationToken', 'limit', 'state']);
    assert.match(details.find((d) => d.field === 'state')!.message, /must be one of queued, /);
    for (const limit of ['0', '201', 'ten'])
      assert.equal(
        (await run(() => h.api.tasks(get('alpha', 'alpha-key', parent.jobId, { limit }), h.jobs))).status,
        400,
        limit,
      );
  });
});

describe("the parent's status", () => {
  test('while it runs: counts and progress from the live tasks, not-started tasks queued, one list call', async () => {
    const h = apiHarness();
    const parent = await submitArray(h, 5);
    // The orchestrator knows one ended task and counts the others as queued.
    const published = { ...initialStatus(parent).array!, counts: { ...initialStatus(parent).array!.counts } };
    published.counts.queued = 4;
    published.counts.succeeded = 1;
    publishParent(h, parent, { state: 'running', phase: 'fanout', progress: 0.2, array: published });
    addTask(h, parent, 0, 'succeeded');
    addTask(h, parent, 1, 'succeeded'); // ended since the parent last published
    addTask(h, parent, 2, 'running');
    addTask(h, parent, 3, 'provisioning');
    const lists = countLists(h);
    const r = await run(() => h.api.get(get('alpha', 'alpha-key', parent.jobId), h.jobs));
    const s = r.jsonBody as JobStatus;
    assert.deepEqual(lists.calls, [taskPrefixOf('alpha', parent.jobId)]);
    assert.equal(lists.calls[0], `alpha--${parent.jobId}-`);
    assert.deepEqual(s.array?.counts, {
      queued: 1,
      provisioning: 1,
      starting: 0,
      running: 1,
      succeeded: 2,
      failed: 0,
      canceled: 0,
      timed_out: 0,
    });
    assert.equal(s.progress, 0.4);
    assert.equal(s.state, 'running');
  });

  test('an ended task whose instance is gone still counts as the orchestrator published it', () => {
    const status: JobStatus = { ...initialStatus(fakeParent()), state: 'running' };
    status.array = { ...status.array!, counts: { ...status.array!.counts, queued: 2, failed: 1 } };
    const refined = refineArrayStatus(status, []);
    assert.equal(refined.array?.counts.failed, 1);
    assert.equal(refined.array?.counts.queued, 2);
    assert.equal(refined.progress, 1 / 3);
  });

  test('once it ended: what the orchestrator published, without reading the tasks', async () => {
    const h = apiHarness();
    const parent = await submitArray(h, 3);
    const final = { ...initialStatus(parent).array! };
    final.counts = { ...final.counts, queued: 0, succeeded: 2, canceled: 1 };
    publishParent(h, parent, { state: 'failed', phase: 'done', progress: 1, array: final }, true);
    addTask(h, parent, 0, 'succeeded');
    addTask(h, parent, 1, 'running'); // a straggler the parent already counted as canceled
    const lists = countLists(h);
    const s = (await run(() => h.api.get(get('alpha', 'alpha-key', parent.jobId), h.jobs))).jsonBody as JobStatus;
    assert.deepEqual(s.array?.counts, final.counts);
    assert.equal(s.progress, 1);
    assert.deepEqual(lists.calls, []);
  });
});

describe('the job list and cancel', () => {
  test('tasks are left out unless includeTasks=true; a running parent shows refined counts; one list call', async () => {
    const h = apiHarness();
    const parent = await submitArray(h, 4);
    publishParent(h, parent, { state: 'running', phase: 'fanout' });
    addTask(h, parent, 0, 'succeeded');
    addTask(h, parent, 1, 'running');
    const lists = countLists(h);
    const list = (query: Record<string, string> = {}) =>
      run(() => h.api.list(request({ params: { tenant: 'alpha' }, headers: auth('alpha-key'), query }), h.jobs));
    const plain = (await list()).jsonBody as { jobs: JobStatus[] };
    assert.deepEqual(
      plain.jobs.map((j) => j.id),
      [parent.jobId],
    );
    assert.equal(plain.jobs[0]!.array?.counts.succeeded, 1);
    assert.equal(plain.jobs[0]!.array?.counts.running, 1);
    assert.equal(plain.jobs[0]!.array?.counts.queued, 2);
    assert.equal(plain.jobs[0]!.progress, 0.25);
    assert.equal(lists.calls.length, 1);
    const all = (await list({ includeTasks: 'true' })).jsonBody as { jobs: JobStatus[] };
    assert.deepEqual(all.jobs.map((j) => j.id).sort(), [parent.jobId, `${parent.jobId}-0`, `${parent.jobId}-1`].sort());
    const bad = await list({ includeTasks: 'yes' });
    assert.equal(bad.status, 400);
    assert.deepEqual(
      (bad.jsonBody as { error: { details: { field: string }[] } }).error.details.map((d) => d.field),
      ['includeTasks'],
    );
  });

  test('cancel of a parent records a cancel on every live task and raises the event on it; ended tasks are left', async () => {
    const h = apiHarness();
    const parent = await submitArray(h, 4);
    publishParent(h, parent, { state: 'running', phase: 'fanout' });
    const t0 = addTask(h, parent, 0, 'succeeded');
    const t1 = addTask(h, parent, 1, 'running');
    const t2 = addTask(h, parent, 2, 'queued');
    // The running task holds a ledger entry as a started task does.
    await h.ledger.update((doc) => {
      doc.tenants.alpha!.running.push({
        instanceId: t1.instanceId,
        jobId: t1.jobId,
        cores: 1,
        memoryGb: 1,
        enqueuedAt: t1.createdAt,
      });
      return { changed: true, result: undefined };
    });
    const r = await run(() =>
      h.api.cancel(
        request({ method: 'POST', params: { tenant: 'alpha', id: parent.jobId }, headers: auth('alpha-key') }),
        h.jobs,
      ),
    );
    assert.equal(r.status, 202);
    assert.equal((r.jsonBody as Body).tasksCanceled, 2);
    const canceled = h.jobs.events.filter((e) => e.event === EVENTS.cancel).map((e) => e.instanceId);
    assert.deepEqual(canceled.sort(), [parent.instanceId, t1.instanceId, t2.instanceId].sort());
    assert.ok(!canceled.includes(t0.instanceId));
    const doc = await h.ledger.read();
    assert.equal(doc.tenants.alpha!.running.find((e) => e.instanceId === t1.instanceId)?.cancelRequested, true);
    assert.equal(doc.tenants.alpha!.queue.find((e) => e.jobId === parent.jobId)?.cancelRequested, true);
  });
});

function fakeParent(): JobInput {
  const jobId = 'j-aaaaaaaaaaaaaaaaaaaa';
  return {
    jobId,
    tenant: 'alpha',
    instanceId: instanceIdOf('alpha', jobId),
    groupName: 'g',
    location: 'westeurope',
    createdAt: '2026-01-01T00:00:00.000Z',
    requestHash: 'h',
    spec: {
      image: { repository: 'a/b', tag: '1', ref: 'a/b:1' },
      cpu: 1,
      memoryGb: 1,
      env: {},
      secureEnvNames: [],
      timeoutMinutes: 1,
      onComplete: 'delete',
      onFailure: 'delete',
      maxAttempts: 1,
      priority: 'Regular',
      array: { count: 3, parallelism: 1 },
    },
    rates: { currency: 'EUR', vcpuHour: 1, gbHour: 1 },
    settings: SETTINGS,
  };
}

test("usage: an array's cost is counted once — its tasks' usage, not the parent's total on top", async () => {
  const h = apiHarness();
  const parent = await submitArray(h, 2);
  const usage = (vcpuSeconds: number) => ({
    vcpuSeconds,
    gbSeconds: vcpuSeconds,
    estimatedCost: vcpuSeconds,
    currency: 'EUR',
  });
  addTask(h, parent, 0, 'succeeded', { usage: usage(10) });
  addTask(h, parent, 1, 'succeeded', { usage: usage(20) });
  publishParent(h, parent, { state: 'succeeded', phase: 'done', usage: usage(30) }, true);
  const tenantUsage = createTenantUsage({
    tenants: tenantsFixture(),
    now: () => new Date(Date.parse(parent.createdAt) + 1000),
  });
  const report = await run(() =>
    tenantUsage(request({ params: { tenant: 'alpha' }, headers: auth('alpha-key') }), h.jobs),
  );
  assert.equal(report.status, 200, JSON.stringify(report.jsonBody));
  assert.match(JSON.stringify(report.jsonBody), /"vcpuSeconds":30\b/, JSON.stringify(report.jsonBody));
  const summary = await run(() =>
    h.api.tenant(request({ params: { tenant: 'alpha' }, headers: auth('alpha-key') }), h.jobs),
  );
  const totals = (summary.jsonBody as { usage: { vcpuSeconds: number; jobs: number } }).usage;
  assert.equal(totals.vcpuSeconds, 30);
  assert.equal(totals.jobs, 3, 'the parent still counts as a job');
});
