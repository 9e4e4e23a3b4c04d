// Pull mode's agent routes (batch-image README, "What the controller must implement"): the start is
// answered once the orchestrator is at its start step (204 + Retry-After before, {"cancel": true}
// once a cancel is recorded, 404 for unknown, finished or push-mode jobs), result and artifacts land
// in the blobs the push path's archive writes, sizes and names are checked, and the job token is
// checked before anything is looked up. Ready/progress callbacks answer a recorded cancel.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPullApi } from '../../orchestration/src/api/callbacks-pull';
import { createCallbackApi } from '../../orchestration/src/api/callbacks';
import { handle, type ApiRequest, type ApiResponse } from '../../orchestration/src/api/http';
import { validateSubmission } from '../../orchestration/src/api/job-request';
import {
  blobNames,
  EVENTS,
  groupNameOf,
  initialStatus,
  instanceIdOf,
  type JobInput,
  type JobStatus,
} from '../../orchestration/src/contracts';
import { callbackToken } from '../../orchestration/src/security/callback-token';
import {
  goodInput,
  LOGIN_SERVER,
  MemoryJobs,
  MemoryResults,
  request,
  SETTINGS,
  SIGNING_KEY,
  silentLog,
  tenantsFixture,
} from '../fixtures/tenants/harness';

const tenants = tenantsFixture();
const alpha = tenants.get('alpha')!;
const ID = 'j-aaaaaaaaaaaaaaaaaaab';

function setup(opts: { pull?: boolean; phase?: JobStatus['phase']; state?: JobStatus['state'] } = {}) {
  const jobs = new MemoryJobs();
  const results = new MemoryResults();
  const canceled = new Set<string>();
  const ctx = { acrLoginServer: LOGIN_SERVER, signingKey: SIGNING_KEY, jobId: ID };
  const spec = validateSubmission(
    { ...alpha, allowSpot: true },
    { input: goodInput(), ...(opts.pull === false ? {} : { priority: 'Spot' }) },
    ctx,
  );
  spec.inputBlob = blobNames('alpha', ID).input;
  void results.put(spec.inputBlob, JSON.stringify(goodInput()), 'application/json');
  const job: JobInput = {
    jobId: ID,
    tenant: 'alpha',
    instanceId: instanceIdOf('alpha', ID),
    groupName: groupNameOf('alpha', ID),
    location: 'westeurope',
    createdAt: '2026-01-01T00:00:00Z',
    requestHash: 'h',
    spec,
    rates: alpha.costRates,
    settings: SETTINGS,
  };
  const status = { ...initialStatus(job), phase: opts.phase ?? 'starting', state: opts.state ?? 'starting' };
  jobs.instances.set(job.instanceId, {
    instanceId: job.instanceId,
    runtimeStatus: 'Running',
    createdTime: job.createdAt,
    input: { job },
    customStatus: status,
    output: null,
  });
  const deps = {
    tenants,
    signingKey: SIGNING_KEY,
    log: silentLog,
    results,
    maxArtifactBytes: 1024,
    cancelRequested: async (_t: string, id: string) => canceled.has(id),
  };
  const api = createPullApi(deps);
  const callback = createCallbackApi(deps);
  const call = (fn: (r: ApiRequest, j: MemoryJobs) => Promise<ApiResponse>, r: ApiRequest) =>
    handle(silentLog, 'test', (x) => fn(x, jobs))(r);
  return { jobs, results, canceled, api, callback, call, instanceId: job.instanceId };
}

const token = { authorization: `Bearer ${callbackToken(SIGNING_KEY, ID)}` };
const startReq = (headers: Record<string, string> = token, id = ID) =>
  request({ method: 'POST', params: { tenant: 'alpha', id }, headers, body: { jobId: id, type: 'start-request' } });

describe('pull mode: POST …/start', () => {
  test('answers the start (input from the input blob) once the job is starting, the same every time', async () => {
    const h = setup();
    const a = await h.call(h.api.start, startReq());
    assert.equal(a.status, 200);
    assert.deepEqual(a.jsonBody, { jobId: ID, input: goodInput() });
    assert.deepEqual(h.jobs.events.at(-1)?.event, EVENTS.callback, 'the orchestrator learns the start was taken');
    assert.deepEqual((h.jobs.events.at(-1)?.data as { type: string }).type, 'started');
    const b = await h.call(h.api.start, startReq());
    assert.deepEqual(b.jsonBody, a.jsonBody);
  });

  test('204 with Retry-After before the start step; cancel answer once a cancel is recorded', async () => {
    const h = setup({ phase: 'provisioning', state: 'provisioning' });
    const early = await h.call(h.api.start, startReq());
    assert.equal(early.status, 204);
    assert.equal(early.headers?.['Retry-After'], '1');
    assert.equal(h.jobs.events.length, 0);
    h.canceled.add(h.instanceId);
    const c = await h.call(h.api.start, startReq());
    assert.equal(c.status, 200);
    assert.deepEqual(c.jsonBody, { cancel: true });
  });

  test('401 on a bad token before any lookup; 404 for an unknown, finished or push-mode job', async () => {
    const h = setup();
    const bad = await h.call(h.api.start, startReq({ authorization: `Bearer ${callbackToken('x'.repeat(48), ID)}` }));
    assert.equal(bad.status, 401);
    const none = await h.call(h.api.start, startReq({}));
    assert.equal(none.status, 401);
    const ghost = 'j-bbbbbbbbbbbbbbbbbbbb';
    const unknown = await h.call(
      h.api.start,
      startReq({ authorization: `Bearer ${callbackToken(SIGNING_KEY, ghost)}` }, ghost),
    );
    assert.equal(unknown.status, 404);
    const done = setup({ phase: 'done', state: 'succeeded' });
    assert.equal((await done.call(done.api.start, startReq())).status, 404);
    const push = setup({ pull: false });
    assert.equal((await push.call(push.api.start, startReq())).status, 404);
  });
});

describe('pull mode: uploads', () => {
  test('PUT …/result stores result.json where the push path archives it', async () => {
    const h = setup({ phase: 'running', state: 'running' });
    const body = { jobId: ID, state: 'succeeded', result: { k: 2 }, artifacts: [] };
    const r = await h.call(
      h.api.result,
      request({ method: 'PUT', params: { tenant: 'alpha', id: ID }, headers: token, body }),
    );
    assert.equal(r.status, 201);
    assert.deepEqual(JSON.parse(h.results.blobs.get(blobNames('alpha', ID).result)!.body.toString()), body);
    const arr = await h.call(
      h.api.result,
      request({ method: 'PUT', params: { tenant: 'alpha', id: ID }, headers: token, body: [1] }),
    );
    assert.equal(arr.status, 400);
  });

  test('PUT …/artifacts/{name}: chart.svg and artifacts/<name>, raw bytes; bad names 404, too large 413', async () => {
    const h = setup({ phase: 'running', state: 'running' });
    const put = (name: string, bytes: Buffer, type = 'image/svg+xml') => {
      const r = request({
        method: 'PUT',
        params: { tenant: 'alpha', id: ID, name },
        headers: { ...token, 'content-type': type, 'content-length': String(bytes.length) },
      });
      return h.call(h.api.artifact, { ...r, arrayBuffer: async () => new Uint8Array(bytes).buffer });
    };
    assert.equal((await put('chart.svg', Buffer.from('<svg/>'))).status, 201);
    assert.equal(h.results.blobs.get(blobNames('alpha', ID).chart)?.contentType, 'image/svg+xml');
    const bin = Buffer.from([0, 255, 1, 254]);
    assert.equal((await put('fit.bin', bin, 'application/octet-stream')).status, 201);
    assert.deepEqual(h.results.blobs.get(blobNames('alpha', ID).artifact('fit.bin'))?.body, bin);
    assert.equal((await put('../x', bin)).status, 404);
    assert.equal((await put('.hidden', bin)).status, 404);
    assert.equal((await put('big.bin', Buffer.alloc(2048))).status, 413);
  });
});

describe('callbacks answer a recorded cancel (pull mode has no other channel)', () => {
  test('ready and progress get 200 {"cancel": true}; a final callback is just accepted', async () => {
    const h = setup({ phase: 'running', state: 'running' });
    const cb = (type: string) =>
      h.call(
        h.callback,
        request({
          method: 'POST',
          params: { tenant: 'alpha', id: ID },
          headers: token,
          body: { jobId: ID, type, state: type === 'canceled' ? 'canceled' : 'running', progress: 0.1 },
        }),
      );
    assert.equal((await cb('progress')).status, 202);
    h.canceled.add(h.instanceId);
    for (const type of ['ready', 'progress']) assert.deepEqual((await cb(type)).jsonBody, { cancel: true }, type);
    assert.equal((await cb('canceled')).status, 202);
  });
});
