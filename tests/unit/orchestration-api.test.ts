// HTTP handlers over in-memory ports: submit (202 + Location + links), Idempotency-Key (same body →
// same job, different body → 409), queue limit (429 + Retry-After), body limit (413), tenant
// isolation (404), list paging, cancel, result/logs, callbacks (HMAC token).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CodedError } from '../../orchestration/src/errors';
import { handle, type ApiResponse } from '../../orchestration/src/api/http';
import { createCallbackApi } from '../../orchestration/src/api/callbacks';
import { callbackToken } from '../../orchestration/src/security/callback-token';
import { blobNames, EVENTS, instanceIdOf, type JobEnvelope, type JobStatus } from '../../orchestration/src/contracts';
import { initialStatus } from '../../orchestration/src/contracts';
import { emptyLedger, enqueue, release } from '../../orchestration/src/admission/ledger';
import {
  apiHarness,
  auth,
  goodInput,
  request,
  SIGNING_KEY,
  silentLog,
  tenantsFixture,
} from '../fixtures/tenants/harness';

type Body = Record<string, unknown>;
const run = async (fn: () => Promise<ApiResponse>): Promise<ApiResponse> =>
  handle(silentLog, 'test', () => fn())(request({}));
const submitReq = (tenant: string, key: string, body: unknown, headers: Record<string, string> = {}) =>
  request({ method: 'POST', params: { tenant }, headers: { ...auth(key), ...headers }, body });
const errorCode = (r: ApiResponse) => (r.jsonBody as { error?: { code: string } }).error?.code;

describe('submit', () => {
  test('202 with Location and links; the orchestration gets a secret-free input', async () => {
    const h = apiHarness();
    const r = await run(() =>
      h.api.submit(submitReq('alpha', 'alpha-key', { input: goodInput(), secureEnv: { PASS: 'p@ss' } }), h.jobs),
    );
    assert.equal(r.status, 202);
    const b = r.jsonBody as { id: string; state: string; links: Record<string, string> };
    assert.match(b.id, /^j-[a-z2-7]{20}$/);
    assert.equal(b.state, 'queued');
    assert.equal(r.headers?.Location, `/api/tenants/alpha/jobs/${b.id}`);
    assert.deepEqual(Object.keys(b.links).sort(), ['artifacts', 'cancel', 'logs', 'result', 'self']);
    const info = h.jobs.instances.get(instanceIdOf('alpha', b.id));
    assert.ok(info);
    assert.doesNotMatch(JSON.stringify(info.input), /p@ss/);
    assert.equal((info.input as JobEnvelope).job.groupName.length <= 63, true);
    // The batch input goes to Blob, not into the orchestration's history.
    assert.equal((info.input as JobEnvelope).job.spec.inputBlob, `alpha/${b.id}/input.json`);
    assert.deepEqual(JSON.parse((await h.results.get(`alpha/${b.id}/input.json`))!.body.toString()), goodInput());
    assert.doesNotMatch(JSON.stringify(info.input), /"y":/);
    const doc = await h.ledger.read();
    assert.equal(doc.tenants.alpha?.queue.length, 1);
  });

  test('Idempotency-Key: same body → same job (200), different body → 409', async () => {
    const h = apiHarness();
    const body = { input: goodInput() };
    const first = await run(() =>
      h.api.submit(submitReq('alpha', 'alpha-key', body, { 'idempotency-key': 'abc' }), h.jobs),
    );
    const again = await run(() =>
      h.api.submit(
        submitReq('alpha', 'alpha-key', JSON.parse(JSON.stringify(body)), { 'idempotency-key': 'abc' }),
        h.jobs,
      ),
    );
    assert.equal(first.status, 202);
    assert.equal(again.status, 200);
    assert.equal((again.jsonBody as Body).id, (first.jsonBody as Body).id);
    const conflict = await run(() =>
      h.api.submit(
        submitReq('alpha', 'alpha-key', { input: goodInput(), cpu: 2 }, { 'idempotency-key': 'abc' }),
        h.jobs,
      ),
    );
    assert.equal(conflict.status, 409);
    assert.equal(errorCode(conflict), 'IdempotencyKeyReused');
    assert.equal(h.jobs.instances.size, 1);
  });

  test('Idempotency-Key: two identical submissions racing create one job and both get it', async () => {
    const h = apiHarness();
    const body = { input: goodInput() };
    const rs = await Promise.all(
      [1, 2].map(() =>
        run(() => h.api.submit(submitReq('alpha', 'alpha-key', body, { 'idempotency-key': 'race' }), h.jobs)),
      ),
    );
    assert.deepEqual(rs.map((r) => r.status).sort(), [200, 202]);
    assert.equal((rs[0]!.jsonBody as Body).id, (rs[1]!.jsonBody as Body).id);
    assert.equal(h.jobs.instances.size, 1);
    assert.equal(
      (await h.ledger.read()).tenants.alpha?.queue.length,
      1,
      "the loser did not release the winner's queue entry",
    );
  });

  test('Idempotency-Key: two different bodies racing → one 202, one 409; the winner keeps its queue entry and input', async () => {
    // Issue 10 finding 1: the loser used to release the winner's ledger entry (same instance id)
    // and answer 503, so the winner later failed "lost its queue entry" or ran uncounted.
    for (let trial = 0; trial < 10; trial++) {
      const h = apiHarness();
      const bodies = [
        { input: goodInput(), cpu: 1 },
        { input: { ...goodInput(), k: 3 }, cpu: 2 },
      ];
      const rs = await Promise.all(
        bodies.map((b) =>
          run(() => h.api.submit(submitReq('alpha', 'alpha-key', b, { 'idempotency-key': 'clash' }), h.jobs)),
        ),
      );
      assert.deepEqual(rs.map((r) => r.status).sort(), [202, 409], `trial ${trial}`);
      const loser = rs.find((r) => r.status === 409)!;
      assert.equal(errorCode(loser), 'IdempotencyKeyReused');
      const winner = bodies[rs.findIndex((r) => r.status === 202)]!;
      assert.equal(h.jobs.instances.size, 1);
      const info = [...h.jobs.instances.values()][0]!;
      const input = (info.input as JobEnvelope).job;
      assert.equal(input.spec.cpu, winner.cpu, "the running job is the winner's body");
      const entry = (await h.ledger.read()).tenants.alpha?.queue;
      assert.equal(entry?.length, 1, "the winner's queue entry is still there");
      assert.equal(entry[0]!.cores, winner.cpu, "the ledger counts the winner's cores");
      const stored = JSON.parse((await h.results.get(input.spec.inputBlob!))!.body.toString());
      assert.deepEqual(stored, winner.input, "the winner's input blob was not overwritten by the loser");
    }
  });

  test("a release by anyone but the entry's owner changes nothing", () => {
    const doc = emptyLedger();
    enqueue(
      doc,
      'alpha',
      { maxConcurrentJobs: 1, maxQueuedJobs: 5 },
      { instanceId: 'i1', jobId: 'j1', cores: 1, memoryGb: 1, enqueuedAt: 'x', owner: 'hash-a' },
    );
    assert.equal(release(doc, 'alpha', 'i1', 'hash-b'), false);
    assert.equal(doc.tenants.alpha?.queue.length, 1);
    assert.equal(release(doc, 'alpha', 'i1', 'hash-a'), true);
    assert.equal(doc.tenants.alpha, undefined);
  });

  test('maxQueuedJobs → 429 with Retry-After', async () => {
    const h = apiHarness();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (await run(() => h.api.submit(submitReq('beta', 'beta-key', { input: goodInput() }), h.jobs))).status,
      );
    assert.deepEqual(statuses, [202, 202, 429, 429]);
    const r = await run(() => h.api.submit(submitReq('beta', 'beta-key', { input: goodInput() }), h.jobs));
    assert.equal(errorCode(r), 'QueueFull');
    assert.equal(r.headers?.['Retry-After'], '30', 'a fair pace, not the minutes-long admission fallback');
  });

  test('413 beyond the body limit, 400 for bad JSON, 415 for other media types', async () => {
    const h = apiHarness({ maxBodyBytes: 2048 });
    const big = await run(() =>
      h.api.submit(submitReq('alpha', 'alpha-key', { input: { y: Array(2000).fill(1.5), k: 2 } }), h.jobs),
    );
    assert.equal(big.status, 413);
    assert.equal(errorCode(big), 'PayloadTooLarge');
    const bad = await run(() =>
      h.api.submit(
        request({
          method: 'POST',
          params: { tenant: 'alpha' },
          headers: { ...auth('alpha-key'), 'content-type': 'application/json' },
          body: '{nope',
        }),
        h.jobs,
      ),
    );
    assert.equal(bad.status, 400);
    assert.equal(errorCode(bad), 'InvalidJson');
    const form = await run(() =>
      h.api.submit(
        request({
          method: 'POST',
          params: { tenant: 'alpha' },
          headers: { ...auth('alpha-key'), 'content-type': 'text/plain' },
          body: '{}',
        }),
        h.jobs,
      ),
    );
    assert.equal(form.status, 415);
    assert.doesNotMatch(JSON.stringify(bad.jsonBody), /at JSON\.parse|\.ts:/, 'no stack trace');
  });

  test('the orchestration could not be started → 503 and the queue entry is released', async () => {
    const h = apiHarness();
    h.jobs.failStart = true;
    const r = await run(() => h.api.submit(submitReq('alpha', 'alpha-key', { input: goodInput() }), h.jobs));
    assert.equal(r.status, 503);
    assert.equal((await h.ledger.read()).tenants.alpha, undefined);
  });

  test('unexpected errors are a bare 500', async () => {
    const r = await handle(silentLog, 'x', async () => {
      throw new TypeError('secret internals');
    })(request({}));
    assert.equal(r.status, 500);
    assert.doesNotMatch(JSON.stringify(r.jsonBody), /secret internals/);
  });
});

describe('reading jobs', () => {
  async function seeded() {
    const h = apiHarness();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await run(() => h.api.submit(submitReq('alpha', 'alpha-key', { input: goodInput() }), h.jobs));
      ids.push((r.jsonBody as { id: string }).id);
    }
    // Distinct creation times so that the order is well defined.
    // Distinct submit times (the job's own createdAt orders the list, not the instance's createdTime,
    // which Azure Storage resets at continueAsNew: the instance times are set backwards to prove it).
    [...h.jobs.instances.values()].forEach((info, i) => {
      (info.input as JobEnvelope).job.createdAt = `2026-01-01T00:00:0${i}.000Z`;
      info.createdTime = `2026-01-02T00:00:0${9 - i}.000Z`;
    });
    await run(() => h.api.submit(submitReq('beta', 'beta-key', { input: goodInput() }), h.jobs));
    return { h, ids };
  }

  test("get: own job → 200 with the status shape; another tenant's job or a bad id → 404", async () => {
    const { h, ids } = await seeded();
    const own = await run(() =>
      h.api.get(request({ params: { tenant: 'alpha', id: ids[0]! }, headers: auth('alpha-key') }), h.jobs),
    );
    assert.equal(own.status, 200);
    const s = own.jsonBody as JobStatus;
    assert.equal(s.state, 'queued');
    assert.equal(s.container.state, 'none');
    const other = await run(() =>
      h.api.get(request({ params: { tenant: 'beta', id: ids[0]! }, headers: auth('beta-key') }), h.jobs),
    );
    assert.equal(other.status, 404);
    const weird = await run(() =>
      h.api.get(request({ params: { tenant: 'alpha', id: '..%2Fbeta--x' }, headers: auth('alpha-key') }), h.jobs),
    );
    assert.equal(weird.status, 404);
  });

  test("list: newest first, only the tenant's, paged with a continuation token, filters validated", async () => {
    const { h, ids } = await seeded();
    const page1 = await run(() =>
      h.api.list(request({ params: { tenant: 'alpha' }, headers: auth('alpha-key'), query: { limit: '2' } }), h.jobs),
    );
    const b1 = page1.jsonBody as { jobs: JobStatus[]; continuationToken: string | null };
    assert.deepEqual(
      b1.jobs.map((j) => j.id),
      [ids[2], ids[1]],
    );
    assert.ok(b1.continuationToken);
    const page2 = await run(() =>
      h.api.list(
        request({
          params: { tenant: 'alpha' },
          headers: auth('alpha-key'),
          query: { limit: '2', continuationToken: b1.continuationToken! },
        }),
        h.jobs,
      ),
    );
    const b2 = page2.jsonBody as { jobs: JobStatus[]; continuationToken: string | null };
    assert.deepEqual(
      b2.jobs.map((j) => j.id),
      [ids[0]],
    );
    assert.equal(b2.continuationToken, null);
    const bad = await run(() =>
      h.api.list(
        request({
          params: { tenant: 'alpha' },
          headers: auth('alpha-key'),
          query: { state: 'nope', limit: '0', since: 'yesterday' },
        }),
        h.jobs,
      ),
    );
    assert.equal(bad.status, 400);
    const fields = (bad.jsonBody as { error: { details: { field: string }[] } }).error.details
      .map((d) => d.field)
      .sort();
    assert.deepEqual(fields, ['limit', 'since', 'state']);
  });

  test('cancel: records it in the ledger (the one cancel record), raises the event; finished jobs → 409', async () => {
    const { h, ids } = await seeded();
    const id = ids[0]!;
    const r = await run(() =>
      h.api.cancel(request({ method: 'POST', params: { tenant: 'alpha', id }, headers: auth('alpha-key') }), h.jobs),
    );
    assert.equal(r.status, 202);
    assert.equal(h.jobs.events.at(-1)?.event, EVENTS.cancel);
    assert.equal((await h.ledger.read()).tenants.alpha?.queue.find((e) => e.jobId === id)?.cancelRequested, true);
    const info = h.jobs.instances.get(instanceIdOf('alpha', id))!;
    info.runtimeStatus = 'Completed';
    info.output = { ...initialStatus((info.input as JobEnvelope).job), state: 'canceled' };
    const again = await run(() =>
      h.api.cancel(request({ method: 'POST', params: { tenant: 'alpha', id }, headers: auth('alpha-key') }), h.jobs),
    );
    assert.equal(again.status, 409);
    assert.equal(errorCode(again), 'JobAlreadyFinished');
  });

  test("result: 409 before the end, the model's result JSON after; logs from the archive", async () => {
    const { h, ids } = await seeded();
    const id = ids[1]!;
    const early = await run(() =>
      h.api.result(request({ params: { tenant: 'alpha', id }, headers: auth('alpha-key') }), h.jobs),
    );
    assert.equal(early.status, 409);
    const info = h.jobs.instances.get(instanceIdOf('alpha', id))!;
    info.runtimeStatus = 'Completed';
    info.output = { ...initialStatus((info.input as JobEnvelope).job), state: 'succeeded' };
    await h.results.put(
      blobNames('alpha', id).result,
      JSON.stringify({ jobId: id, state: 'succeeded', result: { logLikelihood: -1.5 }, artifacts: [] }),
      'application/json',
    );
    await h.results.put(blobNames('alpha', id).logs, 'line 1\nline 2\n', 'text/plain');
    const r = await run(() =>
      h.api.result(request({ params: { tenant: 'alpha', id }, headers: auth('alpha-key') }), h.jobs),
    );
    assert.equal(r.status, 200);
    assert.deepEqual(r.jsonBody, { logLikelihood: -1.5 });
    const logs = await run(() =>
      h.api.logs(request({ params: { tenant: 'alpha', id }, headers: auth('alpha-key') }), h.jobs),
    );
    assert.equal(logs.body, 'line 1\nline 2\n');
  });

  test('tenant summary: limits, queued and running counts', async () => {
    const { h } = await seeded();
    const r = await run(() =>
      h.api.tenant(request({ params: { tenant: 'alpha' }, headers: auth('alpha-key') }), h.jobs),
    );
    const b = r.jsonBody as {
      queued: number;
      running: number;
      limits: { maxConcurrentJobs: number };
      usage: { jobs: number };
    };
    assert.equal(b.queued, 3);
    assert.equal(b.running, 0);
    assert.equal(b.limits.maxConcurrentJobs, 3);
    assert.equal(b.usage.jobs, 3);
  });
});

describe('callbacks', () => {
  const cb = createCallbackApi({ tenants: tenantsFixture(), signingKey: SIGNING_KEY, log: silentLog });
  async function withJob() {
    const h = apiHarness();
    const r = await run(() => h.api.submit(submitReq('beta', 'beta-key', { input: goodInput() }), h.jobs));
    return { h, id: (r.jsonBody as { id: string }).id };
  }
  const body = (id: string) => ({
    jobId: id,
    type: 'progress',
    state: 'running',
    progress: 0.5,
    message: 'half',
    at: '2026-01-01T00:00:00Z',
  });

  test("a valid token raises the callback event on the right tenant's instance", async () => {
    const { h, id } = await withJob();
    const r = await run(() =>
      cb(
        request({
          method: 'POST',
          params: { tenant: 'beta', id },
          headers: { authorization: `Bearer ${callbackToken(SIGNING_KEY, id)}` },
          body: body(id),
        }),
        h.jobs,
      ),
    );
    assert.equal(r.status, 202);
    assert.deepEqual(h.jobs.events.at(-1)?.instanceId, instanceIdOf('beta', id));
    assert.equal(h.jobs.events.at(-1)?.event, EVENTS.callback);
  });

  test('wrong or missing token → 401 (before any lookup); unknown job → 404; mismatched body → 400', async () => {
    const { h, id } = await withJob();
    const bad = await run(() =>
      cb(
        request({
          method: 'POST',
          params: { tenant: 'beta', id },
          headers: { authorization: `Bearer ${callbackToken('x'.repeat(48), id)}` },
          body: body(id),
        }),
        h.jobs,
      ),
    );
    assert.equal(bad.status, 401);
    const none = await run(() =>
      cb(request({ method: 'POST', params: { tenant: 'beta', id }, body: body(id) }), h.jobs),
    );
    assert.equal(none.status, 401);
    const ghost = 'j-aaaaaaaaaaaaaaaaaaaa';
    const unknown = await run(() =>
      cb(
        request({
          method: 'POST',
          params: { tenant: 'beta', id: ghost },
          headers: { authorization: `Bearer ${callbackToken(SIGNING_KEY, ghost)}` },
          body: body(ghost),
        }),
        h.jobs,
      ),
    );
    assert.equal(unknown.status, 404);
    const mismatch = await run(() =>
      cb(
        request({
          method: 'POST',
          params: { tenant: 'beta', id },
          headers: { authorization: `Bearer ${callbackToken(SIGNING_KEY, id)}` },
          body: body(ghost),
        }),
        h.jobs,
      ),
    );
    assert.equal(mismatch.status, 400);
    assert.equal(h.jobs.events.length, 0);
  });

  test('the tenant in the URL only locates the job: a valid token under another or an unknown tenant → 404, nothing raised', async () => {
    const { h, id } = await withJob();
    const auth = { authorization: `Bearer ${callbackToken(SIGNING_KEY, id)}` };
    for (const tenant of ['alpha', 'nosuchtenant']) {
      const r = await run(() =>
        cb(request({ method: 'POST', params: { tenant, id }, headers: auth, body: body(id) }), h.jobs),
      );
      assert.equal(r.status, 404, `tenant ${tenant}`);
    }
    assert.equal(h.jobs.events.length, 0);
  });
});

test('CodedError bodies never carry a stack', () => {
  const e = new CodedError({ code: 'ValidationFailed', httpStatus: 400, message: 'm' });
  assert.deepEqual(e.toBody(), { error: { code: 'ValidationFailed', message: 'm' } });
  // @ts-expect-error a code that is in neither error table does not compile
  void new CodedError({ code: 'SomethingNew', message: 'm' });
});

describe('hostile bodies (issue 10 finding 7)', () => {
  test('JSON nested 10,000 levels deep → 400 InvalidJson naming the limit, not a 500', async () => {
    const h = apiHarness();
    const deep = '{"input":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}';
    const r = await run(() => h.api.submit(submitReq('alpha', 'alpha-key', deep), h.jobs));
    assert.equal(r.status, 400);
    assert.equal(errorCode(r), 'InvalidJson');
    assert.match(JSON.stringify(r.jsonBody), /at most 64/);
    assert.equal(h.jobs.instances.size, 0);
  });

  test('1e309 anywhere in the body → 400 naming the field; nothing is queued', async () => {
    const h = apiHarness();
    const text = JSON.stringify({ input: goodInput() }).replace('"y":[', '"y":[1e309,');
    const r = await run(() => h.api.submit(submitReq('alpha', 'alpha-key', text), h.jobs));
    assert.equal(r.status, 400);
    assert.equal(errorCode(r), 'ValidationFailed');
    assert.deepEqual((r.jsonBody as { error: { details: { field: string }[] } }).error.details[0]?.field, 'input.y[0]');
    assert.equal((await h.ledger.read()).tenants.alpha, undefined);
  });
});

describe('tenant isolation (issue 10 finding 8)', () => {
  test('a tenant without allowCommand gets 403 CommandNotAllowed for `command`; one with it may', async () => {
    const h = apiHarness();
    const body = { image: 'contoso/custom-model:1.0', command: ['node', 'x.js'] };
    const beta = await run(() =>
      h.api.submit(submitReq('beta', 'beta-key', { ...body, image: 'contoso/custom-model:1.0' }), h.jobs),
    );
    assert.equal(beta.status, 403);
    assert.equal(errorCode(beta), 'CommandNotAllowed');
    assert.equal(h.jobs.instances.size, 0);
    const alpha = await run(() => h.api.submit(submitReq('alpha', 'alpha-key', body), h.jobs));
    assert.equal(alpha.status, 202);
  });
});
