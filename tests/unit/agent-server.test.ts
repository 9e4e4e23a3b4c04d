// The HTTP layer in-process (built without listening, then served on loopback): auth, routing,
// body limits and error shapes. Job behaviour end to end is in tests/integration/agent-*.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../batch-image/src/agent/config';
import { JobRunner } from '../../batch-image/src/agent/job-runner';
import { createLogger } from '../../batch-image/src/agent/log';
import { regimeSwitchingModel } from '../../batch-image/src/agent/model-runner';
import { createAgentServer } from '../../batch-image/src/agent/server';
import type { Server } from 'node:http';

const TOKEN = 'unit-token';
const resultDir = mkdtempSync(join(tmpdir(), 'agent-server-'));
const config = loadConfig({
  JOB_TOKEN: TOKEN,
  RESULT_DIR: resultDir,
  AGENT_MAX_BODY_BYTES: '2048',
  AGENT_MODE: 'command',
});
const runner = new JobRunner();
let shuttingDown = false;
let server: Server;
let base = '';

before(async () => {
  server = createAgentServer({
    config,
    runner,
    log: createLogger({ write: () => undefined }),
    validateModelInput: regimeSwitchingModel.validateInput,
    createWork: () => ({ run: async () => ({ ok: true, message: 'instant', result: { done: true } }) }),
    isShuttingDown: () => shuttingDown,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(resultDir, { recursive: true, force: true });
});

async function call(
  method: string,
  path: string,
  opts: { body?: string; auth?: string | null; headers?: Record<string, string> } = {},
) {
  const res = await fetch(base + path, {
    method,
    headers: { ...(opts.auth === null ? {} : { Authorization: opts.auth ?? `Bearer ${TOKEN}` }), ...opts.headers },
    body: opts.body,
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: text && res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined,
  };
}

test('authorization: Bearer scheme (any case), the exact token only', async () => {
  const table: [string | null, number][] = [
    [null, 401],
    ['', 401],
    [TOKEN, 401],
    [`Basic ${TOKEN}`, 401],
    [`Bearer ${TOKEN}x`, 401],
    [`Bearer ${TOKEN.slice(0, -1)}`, 401],
    [`Bearer ${TOKEN} extra`, 401],
    [`Bearer ${TOKEN}`, 200],
    [`bearer ${TOKEN}`, 200],
    [`BEARER  ${TOKEN} `, 200],
  ];
  for (const [auth, status] of table) {
    const r = await call('GET', '/status', { auth });
    assert.equal(r.status, status, String(auth));
    if (status === 401) {
      assert.deepEqual(r.json, { error: { code: 'Unauthorized', message: 'Missing or invalid bearer token.' } });
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    }
  }
  assert.equal((await call('GET', '/healthz', { auth: null })).status, 200);
});

test('routing: unknown paths 404 (after auth), wrong methods 405 with Allow, HEAD works', async () => {
  assert.equal((await call('GET', '/nope', { auth: null })).status, 401);
  const nf = await call('GET', '/nope');
  assert.equal(nf.status, 404);
  assert.equal(nf.json.error.code, 'NotFound');
  const wrong = await call('GET', '/start');
  assert.equal(wrong.status, 405);
  assert.equal(wrong.json.error.code, 'MethodNotAllowed');
  assert.equal(wrong.headers.get('allow'), 'POST');
  const head = await call('HEAD', '/status');
  assert.equal(head.status, 200);
  assert.equal(head.text, '');
  assert.equal((await call('GET', '/status?x=1')).status, 200, 'a query string does not change the route');
  assert.equal((await call('GET', '/status')).headers.get('cache-control'), 'no-store');
});

test('bodies: over the limit → 413 (declared or streamed), bad JSON → 400 InvalidJson', async () => {
  const big = JSON.stringify({ jobId: 'j', command: ['x'], input: 'y'.repeat(4096) });
  const declared = await call('POST', '/start', { body: big, headers: { 'Content-Type': 'application/json' } });
  assert.equal(declared.status, 413);
  assert.equal(declared.json.error.code, 'PayloadTooLarge');

  // Chunked (no Content-Length): the limit is enforced while reading.
  const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      `${base}/start`,
      { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Transfer-Encoding': 'chunked' } },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    for (let i = 0; i < 8; i++) req.write('x'.repeat(512));
    req.end();
  });
  assert.equal(streamed.status, 413);
  assert.equal(JSON.parse(streamed.body).error.code, 'PayloadTooLarge');

  const bad = await call('POST', '/start', { body: '{"jobId": "j",' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'InvalidJson');
  const empty = await call('POST', '/start', { body: '' });
  assert.equal(empty.status, 400);
  assert.deepEqual(empty.json.error.details, [{ field: 'body', message: 'must be a JSON object' }]);
  assert.equal(runner.snapshot().state, 'idle');
});

test('a non-finite number in the input (1e309) is a 400 naming the field, and no job starts', async () => {
  const res = await call('POST', '/start', {
    body: '{"jobId":"j-inf","command":["x"],"input":{"rates":[0.5,1e309]}}',
    headers: { 'Content-Type': 'application/json' },
  });
  assert.equal(res.status, 400);
  assert.equal(res.json.error.code, 'InvalidInput');
  assert.equal(res.json.error.details[0].field, 'input.rates[1]');
  assert.match(res.json.error.message, /input\.rates\[1\]: must be a finite number/);
  assert.equal(runner.snapshot().state, 'idle');
});

test('artifacts: only plain files with safe names, and only once finished', async () => {
  writeFileSync(join(resultDir, 'out.txt'), 'hello');
  symlinkSync('/etc/hostname', join(resultDir, 'link.txt'));
  assert.equal((await call('GET', '/artifacts/out.txt')).json.error.code, 'NotFinished');
  assert.equal((await call('POST', '/start', { body: JSON.stringify({ jobId: 'j', command: ['x'] }) })).status, 202);
  await runner.whenSettled();
  const ok = await call('GET', '/artifacts/out.txt');
  assert.equal(ok.status, 200);
  assert.equal(ok.text, 'hello');
  assert.equal(ok.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal(ok.headers.get('x-content-type-options'), 'nosniff');
  for (const name of ['link.txt', '..%2Fout.txt', '%2e%2e', 'a%00b', '%E0%A4%A']) {
    assert.equal((await call('GET', `/artifacts/${name}`)).status, 404, name);
  }
  const result = await call('GET', '/result');
  assert.deepEqual(result.json, {
    jobId: 'j',
    state: 'succeeded',
    result: { done: true },
    artifacts: [{ name: 'out.txt', contentType: 'text/plain; charset=utf-8', bytes: 5 }],
  });
});

test('while shutting down, /start is refused with 503 ShuttingDown', async () => {
  shuttingDown = true;
  const r = await call('POST', '/start', { body: JSON.stringify({ jobId: 'j', command: ['x'] }) });
  assert.equal(r.status, 503);
  assert.equal(r.json.error.code, 'ShuttingDown');
  shuttingDown = false;
});
