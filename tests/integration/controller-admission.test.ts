// Admission and the API's edges on the real local stack: sizes above the tenant's limits, a burst
// of 20 submissions against a tenant allowed 3 at a time, and malformed or hostile requests (bad
// JSON, wrong types, huge bodies, path tricks, another tenant's ids, forged callbacks) that must
// get the right 4xx and change nothing.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { JobStatusView } from '../../local/stack/api-client';
import { requestJson } from '../../local/stack/http-json';
import {
  KEYS,
  sleep,
  startTestStack,
  stopAndCheck,
  waitForEnd,
  waitForGroupGone,
  waitForStatus,
  type TestStack,
} from '../fixtures/stack/harness';

let ts: TestStack | undefined;
const stack = (): TestStack => {
  assert.ok(ts, 'the stack did not start (see the before hook)');
  return ts;
};

before(async () => {
  ts = await startTestStack('admission');
});

after(async () => {
  await stopAndCheck(ts);
});

interface ErrorBody {
  error: { code: string; message: string; details?: Array<{ field: string; message: string }> };
}

function assertError(
  r: { status: number; body: unknown; text: string },
  status: number,
  code: string,
): ErrorBody['error'] {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status}: ${r.text.slice(0, 500)}`);
  const body = r.body as ErrorBody;
  assert.equal(typeof body, 'object', `error body is JSON: ${r.text.slice(0, 200)}`);
  assert.equal(body.error?.code, code, `error code: ${r.text.slice(0, 500)}`);
  assert.equal(typeof body.error.message, 'string');
  assert.doesNotMatch(r.text, /\bat .+\.(ts|js):\d+/, 'no stack trace in an error body');
  return body.error;
}

/**
 * POSTs a large body the way curl does (`Expect: 100-continue`): the headers first, the body only
 * after the server's 100 Continue. A server that refuses on the Content-Length alone (413) answers
 * before any body is sent; a client that just writes 20 MiB instead loses that answer to the
 * connection reset that follows the server's early close.
 */
function rawPost(url: string, body: string, headers: Record<string, string>): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    let received = '';
    let bodySent = false;
    const socket = net.connect(Number(u.port), u.hostname);
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 30 s')), 30_000);
    const sendBody = (): void => {
      if (bodySent) return;
      bodySent = true;
      socket.end(body);
    };
    socket.on('data', (c: Buffer) => {
      received += c.toString('utf8');
      const final = received.replace(/^HTTP\/1\.1 100 [^\r\n]*\r\n\r\n/, '');
      if (final.length < received.length && final === '') sendBody();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (received === '' && err.code !== 'EPIPE' && err.code !== 'ECONNRESET') {
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received.replace(/^HTTP\/1\.1 100 [^\r\n]*\r\n\r\n/, ''));
    });
    socket.on('connect', () => {
      const head = [
        `POST ${u.pathname}${u.search} HTTP/1.1`,
        `Host: ${u.host}`,
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Expect: 100-continue',
        'Connection: close',
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
        '',
        '',
      ].join('\r\n');
      socket.write(head);
      // A server that ignores Expect gets the body after a moment anyway.
      setTimeout(() => {
        if (received === '') sendBody();
      }, 1000).unref();
    });
  });
}

async function jobCount(t: TestStack, tenant: 'contoso' | 'fabrikam'): Promise<number> {
  const r = await t[tenant].list('limit=200');
  assert.equal(r.status, 200, r.text);
  const b = r.body;
  return (b.jobs ?? b.items ?? b.value ?? []).length;
}

describe('admission and API edges', () => {
  test('sizes above the tenant limits are rejected with every bad field named', async () => {
    const t = stack();
    const before = await jobCount(t, 'contoso');
    const groupsBefore = (await t.stack.listGroups()).length;

    const both = assertError(
      await t.contoso.submit({ image: 'test/sleep:1.0', cpu: 3, memoryGb: 8 }),
      400,
      'ValidationFailed',
    );
    const fields = (both.details ?? []).map((d) => d.field).sort();
    assert.deepEqual(fields, ['cpu', 'memoryGb'], `both fields are reported at once: ${JSON.stringify(both.details)}`);
    assert.match(both.details!.find((d) => d.field === 'cpu')!.message, /maxCpu 2/);
    assert.match(both.details!.find((d) => d.field === 'memoryGb')!.message, /maxMemoryGb 4/);

    // Beyond what one ACI group can have at all; a GPU, which ACI no longer offers (retired 2025-07-14).
    const aci = assertError(await t.contoso.submit({ image: 'test/sleep:1.0', cpu: 16 }), 400, 'ValidationFailed');
    assert.deepEqual(
      (aci.details ?? []).map((d) => d.field),
      ['cpu'],
      JSON.stringify(aci.details),
    );
    const gpu = assertError(
      await t.contoso.submit({ image: 'test/sleep:1.0', gpu: { count: 1, sku: 'V100' } }),
      400,
      'ValidationFailed',
    );
    assert.ok(
      (gpu.details ?? []).some((d) => d.field === 'gpu' && /retired on 2025-07-14/.test(d.message)),
      JSON.stringify(gpu.details),
    );

    // A runtime above the tenant's maximum, and fabrikam's smaller limits are its own.
    const runtime = assertError(
      await t.contoso.submit({ image: 'test/sleep:1.0', timeoutMinutes: 11 }),
      400,
      'ValidationFailed',
    );
    assert.deepEqual(
      (runtime.details ?? []).map((d) => d.field),
      ['timeoutMinutes'],
    );
    const fab = assertError(await t.fabrikam.submit({ image: 'test/sleep:1.0', cpu: 2 }), 400, 'ValidationFailed');
    assert.match(JSON.stringify(fab.details), /maxCpu 1/);

    assert.equal(await jobCount(t, 'contoso'), before, 'no job was created');
    assert.equal((await t.stack.listGroups()).length, groupsBefore, 'no group was created');
  });

  test('every bad field is reported at once, also when a schema error and a limit error mix', async () => {
    const t = stack();
    // cpu 16 breaks the schema (ACI's 4 vCPU per group); a GPU is refused (retired in ACI).
    const both = assertError(
      await t.contoso.submit({ image: 'test/sleep:1.0', cpu: 16, gpu: { count: 1, sku: 'V100' } }),
      400,
      'ValidationFailed',
    );
    const fields = (both.details ?? []).map((d) => d.field);
    assert.ok(fields.includes('cpu'), JSON.stringify(both.details));
    assert.ok(
      fields.some((f) => f.startsWith('gpu')),
      `the GPU refusal is reported along with cpu: ${JSON.stringify(both.details)}`,
    );
  });

  test('a burst of 20 submissions never runs more than maxConcurrentJobs (3) and queued jobs start as slots free', async () => {
    const t = stack();
    const LIMIT = 3;
    let maxGroups = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const groups = await t.stack.listGroups().catch(() => []);
        maxGroups = Math.max(maxGroups, groups.filter((g) => g.name.startsWith('acib-fabrikam-')).length);
        await sleep(50);
      }
    })();
    let ids: string[];
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          t.fabrikam.submitOk({ image: 'test/sleep:1.0', env: { SLEEP_MS: '1000', RESULT_MARKER: `burst-${i}` } }),
        ),
      );
      ids = answers.map((a) => a.id);
      assert.equal(new Set(ids).size, 20, 'twenty distinct jobs');
      // Right after the burst some jobs wait for a slot. (The limit itself is checked below on the
      // emulator's groups and on the jobs' own run intervals: statuses read one by one are not a
      // consistent snapshot.)
      const early = await Promise.all(ids.map((id) => t.fabrikam.status(id)));
      assert.ok(
        early.some((s) => s.state === 'queued'),
        `jobs wait for a slot: ${early.map((s) => s.state).join(',')}`,
      );
      const finals: JobStatusView[] = [];
      for (const id of ids) finals.push(await waitForEnd(t, t.fabrikam, id, 150_000));
      sampling = false;
      await sampler;
      for (const f of finals) {
        assert.equal(f.state, 'succeeded', await t.explain(t.fabrikam, f.id));
        assert.equal(f.container.state, 'deleted');
      }
      assert.ok(maxGroups <= LIMIT, `at most ${LIMIT} fabrikam groups existed at once (saw ${maxGroups})`);
      assert.ok(maxGroups >= 1, 'the sampler saw the groups');
      // From the jobs' own timestamps: never more than LIMIT running at the same instant.
      const events = finals.flatMap((f) => [
        { at: Date.parse(f.startedAt!), d: +1 },
        { at: Date.parse(f.finishedAt!), d: -1 },
      ]);
      events.sort((a, b) => a.at - b.at || a.d - b.d);
      let running = 0;
      let peak = 0;
      for (const e of events) peak = Math.max(peak, (running += e.d));
      assert.ok(peak <= LIMIT, `job run intervals overlap at most ${LIMIT} deep (saw ${peak})`);
      // Queued jobs did start once slots freed: some job started after another had finished.
      const firstFinish = Math.min(...finals.map((f) => Date.parse(f.finishedAt!)));
      assert.ok(
        finals.filter((f) => Date.parse(f.startedAt!) >= firstFinish).length >= 20 - LIMIT,
        'jobs waited for slots and then ran',
      );
    } finally {
      sampling = false;
      await sampler;
    }
  });

  test('malformed and hostile requests get the right 4xx and change nothing', async () => {
    const t = stack();
    const api = t.stack.apiBaseUrl;
    const jobs = `${api}/tenants/contoso/jobs`;
    const auth = { authorization: `Bearer ${KEYS.contoso}` };

    // A fabrikam job that must not be disturbed by anything below.
    const victim = await t.fabrikam.submitOk({
      image: 'test/sleep:1.0',
      env: { SLEEP_MS: '4000', RESULT_MARKER: 'untouched' },
    });
    await waitForStatus(t, t.fabrikam, victim.id, 'running', (s) => s.state === 'running');
    const contosoBefore = await jobCount(t, 'contoso');
    const fabrikamBefore = await jobCount(t, 'fabrikam');

    // Authentication.
    assertError(await requestJson(jobs), 401, 'Unauthorized');
    assertError(await requestJson(jobs, { headers: { authorization: 'Bearer not-a-key' } }), 401, 'Unauthorized');
    assertError(
      await requestJson(jobs, { method: 'POST', body: {}, headers: { 'x-api-key': 'contoso-local-key-wrong' } }),
      401,
      'Unauthorized',
    );
    // The tenant comes from the key: contoso's key does not open fabrikam's URLs.
    // (A valid key on another tenant's URLs is a 404, as if that tenant did not exist: no probing.)
    const cross = await requestJson(`${api}/tenants/fabrikam/jobs`, { headers: auth });
    assertError(cross, 404, 'NotFound');
    assert.doesNotMatch(cross.text, new RegExp(victim.id), 'no fabrikam job is listed');
    assertError(await requestJson(`${api}/tenants/fabrikam/jobs/${victim.id}`, { headers: auth }), 404, 'NotFound');
    assertError(
      await requestJson(`${api}/tenants/fabrikam/jobs/${victim.id}/cancel`, { method: 'POST', headers: auth }),
      404,
      'NotFound',
    );

    // Bodies.
    assertError(
      await requestJson(jobs, {
        method: 'POST',
        rawBody: '{"image": "test/sleep:1.0",',
        headers: { ...auth, 'content-type': 'application/json' },
      }),
      400,
      'InvalidJson',
    );
    assertError(
      await requestJson(jobs, {
        method: 'POST',
        rawBody: 'image=test/sleep',
        headers: { ...auth, 'content-type': 'text/plain' },
      }),
      415,
      'UnsupportedMediaType',
    );
    const types = assertError(
      await requestJson(jobs, {
        method: 'POST',
        headers: auth,
        body: { image: 42, cpu: 'two', memoryGb: true, env: { A: 1 }, maxAttempts: 0, onComplete: 'explode', extra: 1 },
      }),
      400,
      'ValidationFailed',
    );
    const typeFields = new Set((types.details ?? []).map((d) => d.field.split(/[.[]/)[0]));
    for (const f of ['image', 'cpu', 'memoryGb', 'env', 'maxAttempts', 'onComplete'])
      assert.ok(typeFields.has(f), `${f} is reported: ${JSON.stringify(types.details)}`);
    assertError(await requestJson(jobs, { method: 'POST', headers: auth, body: [1, 2, 3] }), 400, 'ValidationFailed');
    assertError(
      await requestJson(jobs, {
        method: 'POST',
        headers: auth,
        body: { image: 'evil.example.com/batch/regime-switching:1.0' },
      }),
      400,
      'ValidationFailed',
    );
    assertError(
      await requestJson(jobs, {
        method: 'POST',
        headers: auth,
        body: { image: 'test/sleep:1.0', env: { JOB_TOKEN: 'x', CALLBACK_URL: 'http://attacker' } },
      }),
      400,
      'ValidationFailed',
    );
    // Above the app's MAX_REQUEST_BYTES (1 MiB): the app's 413. Above the host's own 10 MiB cap:
    // the host refuses it before the app sees it, also 413.
    const big = JSON.stringify({ image: 'test/sleep:1.0', input: { pad: 'y'.repeat(2 * 1024 * 1024) } });
    assertError(
      await requestJson(jobs, {
        method: 'POST',
        rawBody: big,
        headers: { ...auth, 'content-type': 'application/json' },
      }),
      413,
      'PayloadTooLarge',
    );
    const huge = JSON.stringify({ image: 'test/sleep:1.0', input: { pad: 'y'.repeat(20 * 1024 * 1024) } });
    const tooBig = await rawPost(jobs, huge, { ...auth, 'content-type': 'application/json' });
    assert.match(tooBig, /^HTTP\/1\.1 413 /, `20 MiB body: ${tooBig.slice(0, 300)}`);

    // Path tricks and another tenant's ids.
    for (const path of [
      `/tenants/contoso/jobs/${victim.id}`,
      `/tenants/contoso/jobs/${victim.id}/result`,
      `/tenants/contoso/jobs/${victim.id}/logs`,
      `/tenants/contoso/jobs/..%2F..%2Ffabrikam%2Fjobs%2F${victim.id}`,
      `/tenants/contoso/jobs/%2e%2e/%2e%2e/fabrikam/jobs/${victim.id}`,
      `/tenants/contoso/jobs/fabrikam--${victim.id}`,
      `/tenants/contoso/jobs/${encodeURIComponent(`../fabrikam--${victim.id}`)}`,
    ]) {
      const r = await requestJson(`${api}${path}`, { headers: auth });
      assert.ok(r.status === 404 || r.status === 400, `GET ${path}: ${r.status} ${r.text.slice(0, 300)}`);
      assert.doesNotMatch(r.text, /untouched|sleeping/, `GET ${path} leaks nothing`);
    }
    assertError(
      await requestJson(`${api}/tenants/contoso/jobs/${victim.id}/cancel`, { method: 'POST', headers: auth }),
      404,
      'NotFound',
    );

    // Forged callbacks: no token, a made-up token, an HMAC under a guessed key, a token for another id.
    const cb = `${api}/callbacks/tenants/fabrikam/jobs/${victim.id}`;
    const forged = {
      jobId: victim.id,
      type: 'completed',
      state: 'succeeded',
      progress: 1,
      message: 'forged',
      at: new Date().toISOString(),
      exitCode: 0,
    };
    for (const token of [
      undefined,
      'forged-token',
      createHmac('sha256', 'guessed-key').update(victim.id).digest('base64url'),
      randomBytes(32).toString('hex'),
    ]) {
      const r = await requestJson(cb, {
        method: 'POST',
        body: forged,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      assert.ok(
        r.status === 401 || r.status === 403,
        `forged callback (${token ? 'bad token' : 'no token'}): ${r.status} ${r.text}`,
      );
    }
    const unknown = await requestJson(`${api}/callbacks/tenants/fabrikam/jobs/j-doesnotexist0000000`, {
      method: 'POST',
      body: { ...forged, jobId: 'j-doesnotexist0000000' },
      headers: { authorization: 'Bearer x' },
    });
    assert.ok(
      unknown.status === 401 || unknown.status === 403 || unknown.status === 404,
      `callback for an unknown job: ${unknown.status}`,
    );

    // Nothing changed: the victim still runs and ends with its own result; no job or group appeared.
    const mid = await t.fabrikam.status(victim.id);
    assert.equal(mid.state, 'running', `the forged completion did not end the job: ${JSON.stringify(mid)}`);
    assert.notEqual(mid.message, 'forged');
    assert.equal(await jobCount(t, 'contoso'), contosoBefore, 'no contoso job was created');
    assert.equal(await jobCount(t, 'fabrikam'), fabrikamBefore, 'no fabrikam job was created');
    const final = await waitForEnd(t, t.fabrikam, victim.id, 60_000);
    assert.equal(final.state, 'succeeded', await t.explain(t.fabrikam, victim.id));
    const result = await t.fabrikam.result(victim.id);
    assert.equal((result.body as { marker?: string }).marker, 'untouched');
    await waitForGroupGone(t, final.container.name);
  });
});
