// Dependencies over in-memory ports: the submit handler (404 naming dependsOn[i].job for a job that
// is not this tenant's, one marker per dependency, a held ledger entry, the job starting in the
// dependencies phase); ReleaseSlot at a job's end raises DependencyEnded on each registered
// dependent (best effort, after the release, and a held dependent is not admitted by it);
// CheckDependencies reads each dependency's state (null while it runs; a purged one counts failed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admissionActivities } from '../../orchestration/src/activities/admission';
import { dependencyActivities, PURGED_DEPENDENCY_STATE } from '../../orchestration/src/activities/dependencies';
import type { ActivityDeps } from '../../orchestration/src/activities/deps';
import { createAdmission } from '../../orchestration/src/admission/service';
import { handle, type ApiResponse } from '../../orchestration/src/api/http';
import {
  dependentsPrefixOf,
  EVENTS,
  initialStatus,
  instanceIdOf,
  type JobEnvelope,
  type JobStatus,
} from '../../orchestration/src/contracts';
import {
  apiHarness,
  auth,
  goodInput,
  MemoryLedger,
  MemoryResults,
  request,
  silentLog,
  tenantsFixture,
} from '../fixtures/tenants/harness';
import { jobInput } from '../fixtures/workflow/fake-context';

const run = async (fn: () => Promise<ApiResponse>): Promise<ApiResponse> =>
  handle(silentLog, 'test', () => fn())(request({}));
const submitReq = (tenant: string, key: string, body: unknown) =>
  request({ method: 'POST', params: { tenant }, headers: auth(key), body });
const idOf = (r: ApiResponse) => (r.jsonBody as { id: string }).id;

test('submit: a dependency of another tenant is a 404 naming dependsOn[i].job; nothing is stored or started', async () => {
  const h = apiHarness();
  const mine = idOf(await run(() => h.api.submit(submitReq('alpha', 'alpha-key', { input: goodInput() }), h.jobs)));
  const theirs = idOf(await run(() => h.api.submit(submitReq('beta', 'beta-key', { input: goodInput() }), h.jobs)));
  const before = h.jobs.instances.size;
  const blobs = h.results.blobs.size;
  const r = await run(() =>
    h.api.submit(
      submitReq('alpha', 'alpha-key', { input: goodInput(), dependsOn: [{ job: mine }, { job: theirs }] }),
      h.jobs,
    ),
  );
  assert.equal(r.status, 404);
  const err = (r.jsonBody as { error: { code: string; message: string; details: { field: string }[] } }).error;
  assert.match(err.message, new RegExp(`dependsOn\\[1\\]\\.job: no job ${theirs} in this tenant`));
  assert.deepEqual(
    err.details.map((d) => d.field),
    ['dependsOn[1].job'],
  );
  assert.equal(h.jobs.instances.size, before, 'no orchestration started');
  assert.equal(h.results.blobs.size, blobs, 'no input, no marker');
});

test('submit with dependencies: one marker per dependency, a held ledger entry, the dependencies phase', async () => {
  const h = apiHarness();
  const a = idOf(await run(() => h.api.submit(submitReq('alpha', 'alpha-key', { input: goodInput() }), h.jobs)));
  const b = idOf(await run(() => h.api.submit(submitReq('alpha', 'alpha-key', { input: goodInput() }), h.jobs)));
  const r = await run(() =>
    h.api.submit(
      submitReq('alpha', 'alpha-key', {
        input: goodInput(),
        dependsOn: [{ job: a }, { job: b, condition: 'finished' }],
      }),
      h.jobs,
    ),
  );
  assert.equal(r.status, 202, JSON.stringify(r.jsonBody));
  const c = idOf(r);
  assert.ok(h.results.blobs.has(dependentsPrefixOf('alpha', a) + c));
  assert.ok(h.results.blobs.has(dependentsPrefixOf('alpha', b) + c));
  const entry = (await h.ledger.read()).tenants.alpha!.queue.find((e) => e.jobId === c);
  assert.equal(entry?.held, true);
  const env = h.jobs.instances.get(instanceIdOf('alpha', c))!.input as JobEnvelope;
  assert.deepEqual(env.job.spec.dependsOn, [
    { job: a, condition: 'succeeded' },
    { job: b, condition: 'finished' },
  ]);
  const status = initialStatus(env.job);
  assert.equal(status.phase, 'dependencies');
  assert.equal(status.message, 'Waiting for 2 dependencies');
});

function activityDeps(results: MemoryResults, ledger = new MemoryLedger()): ActivityDeps {
  const tenants = tenantsFixture();
  return {
    results,
    log: silentLog,
    now: () => new Date('2026-01-01T00:00:00Z'),
    admission: createAdmission({
      store: ledger,
      global: { maxCores: 100, maxGroups: 100, maxCreatesPer5Min: 100 },
      limitsOf: (id) => tenants.get(id)?.limits,
      now: () => new Date('2026-01-01T00:00:00Z'),
    }),
  } as unknown as ActivityDeps;
}

test('ReleaseSlot at the end tells each dependent (one lost raise does not stop the others); held dependents stay queued', async () => {
  const results = new MemoryResults();
  const deps = activityDeps(results);
  const A = 'j-aaaaaaaaaaaaaaaaaaaa';
  const dependents = ['j-bbbbbbbbbbbbbbbbbbbb', 'j-cccccccccccccccccccc', 'j-dddddddddddddddddddd'];
  for (const d of dependents) await results.put(dependentsPrefixOf('alpha', A) + d, '', 'text/plain');
  await results.put(dependentsPrefixOf('alpha', 'j-other') + 'j-eeeeeeeeeeeeeeeeeeee', '', 'text/plain');
  // A runs; each dependent waits in the queue, held.
  const entry = (jobId: string, held?: boolean) => ({
    instanceId: instanceIdOf('alpha', jobId),
    jobId,
    cores: 1,
    memoryGb: 1,
    owner: `o-${jobId}`,
    enqueuedAt: '2026-01-01T00:00:00Z',
    ...(held ? { held } : {}),
  });
  await deps.admission.enqueue('alpha', entry(A));
  assert.equal((await deps.admission.grant('alpha', instanceIdOf('alpha', A))).result.result, 'granted');
  for (const d of dependents) await deps.admission.enqueue('alpha', entry(d, true));

  const raised: { id: string; event: string; data: unknown }[] = [];
  const env = {
    raise: async (id: string, event: string, data: unknown) => {
      if (id === instanceIdOf('alpha', dependents[1]!)) throw new Error('instance not found');
      raised.push({ id, event, data });
    },
    jobStatus: async () => undefined,
  };
  const released = await admissionActivities(deps).ReleaseSlot(
    { tenant: 'alpha', instanceId: instanceIdOf('alpha', A), owner: `o-${A}`, jobId: A, outcome: 'failed' },
    env,
  );
  assert.equal(released, true);
  assert.deepEqual(
    raised.map((r) => [r.id, r.event, r.data]),
    [dependents[0]!, dependents[2]!].map((d) => [
      instanceIdOf('alpha', d),
      EVENTS.dependencyEnded,
      { job: A, state: 'failed' },
    ]),
    'no SlotGranted: a held entry is never admitted by another job',
  );
  const doc = await deps.admission.read();
  assert.equal(doc.tenants.alpha!.running.length, 0);
  assert.equal(doc.tenants.alpha!.queue.length, 3);

  // Without the job and outcome (an older history): only the release.
  raised.length = 0;
  await admissionActivities(deps).ReleaseSlot({ tenant: 'alpha', instanceId: 'x', owner: 'o' }, env);
  assert.deepEqual(raised, []);
});

test("CheckDependencies: a running dependency is null, an ended one its state, a purged one failed; the job's cancel record", async () => {
  const results = new MemoryResults();
  const deps = activityDeps(results);
  const status = (state: JobStatus['state']): JobStatus => ({ ...initialStatus(jobInput()), state });
  const statuses = new Map<string, JobStatus>([
    [instanceIdOf('alpha', 'j-run'), status('running')],
    [instanceIdOf('alpha', 'j-ok'), status('succeeded')],
    [instanceIdOf('alpha', 'j-late'), status('timed_out')],
  ]);
  const asked: string[] = [];
  const env = {
    raise: async () => undefined,
    jobStatus: async (id: string) => {
      asked.push(id);
      return statuses.get(id);
    },
  };
  const req = {
    tenant: 'alpha',
    jobId: 'j-me',
    instanceId: instanceIdOf('alpha', 'j-me'),
    dependsOn: ['j-run', 'j-ok', 'j-late', 'j-gone'].map((job) => ({ job, condition: 'finished' as const })),
  };
  const a = await dependencyActivities(deps).CheckDependencies(req, env);
  assert.deepEqual(a, { states: [null, 'succeeded', 'timed_out', PURGED_DEPENDENCY_STATE], canceled: false });
  assert.equal(PURGED_DEPENDENCY_STATE, 'failed');
  assert.deepEqual(
    asked,
    ['j-run', 'j-ok', 'j-late', 'j-gone'].map((j) => instanceIdOf('alpha', j)),
  );

  await deps.admission.enqueue('alpha', {
    instanceId: req.instanceId,
    jobId: 'j-me',
    cores: 1,
    memoryGb: 1,
    owner: 'o',
    enqueuedAt: '2026-01-01T00:00:00Z',
    held: true,
  });
  await deps.admission.cancel('alpha', req.instanceId);
  assert.equal((await dependencyActivities(deps).CheckDependencies(req, env)).canceled, true);
});
