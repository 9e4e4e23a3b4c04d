// HTTP triggers, timer triggers and bad input on the real host CLI (child processes).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { runHostExpectingFailure, spawnHost, type SpawnedHost } from '../../local/functions-host/spawn-host';

const appDir = join(__dirname, '..', 'fixtures', 'durable-app');
const nodeModules = join(__dirname, '..', '..', 'node_modules');
let tmp: string;
let host: SpawnedHost;
let base: string;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'host-http-'));
  host = await spawnHost({ appDir, dataDir: join(tmp, 'data'), maxBodyBytes: 64 * 1024 });
  base = host.baseUrl;
});

after(async () => {
  await host?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('route parameters, query (repeated keys), headers, cookies and a JSON response with Set-Cookie', async () => {
  const res = await fetch(`${base}/api/echo/42?a=1&tag=x&tag=y`, {
    headers: { 'x-test': 'hello', cookie: 'k=v; k2=v2' },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-echo'), 'yes');
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  assert.match(res.headers.get('set-cookie') ?? '', /^session=abc; Path=\/; HttpOnly; SameSite=Lax$/);
  const body = (await res.json()) as Record<string, unknown>;
  assert.deepEqual(body, {
    method: 'GET',
    id: '42',
    query: { a: '1', tag: 'y' },
    tags: ['x', 'y'],
    header: 'hello',
    cookie: 'k=v; k2=v2',
    body: '',
  });
});

test('POST body, optional parameter absent, constraint mismatch is 404, wrong method is 405', async () => {
  const post = await fetch(`${base}/api/echo`, { method: 'POST', body: 'some text' });
  assert.equal(post.status, 201);
  const posted = (await post.json()) as { id: unknown; body: string };
  assert.equal(posted.id, null);
  assert.equal(posted.body, 'some text');
  const notInt = await fetch(`${base}/api/echo/abc`);
  assert.equal(notInt.status, 404);
  assert.equal(((await notInt.json()) as { error: { code: string } }).error.code, 'RouteNotFound');
  const del = await fetch(`${base}/api/echo/1`, { method: 'DELETE' });
  assert.equal(del.status, 405);
  assert.equal(del.headers.get('allow'), 'GET, POST, PUT');
  assert.equal(((await del.json()) as { error: { code: string } }).error.code, 'MethodNotAllowed');
});

test('catch-all routes, app.get and the default route (function name)', async () => {
  assert.deepEqual(await (await fetch(`${base}/api/files/a/b/c.txt`)).json(), { path: 'a/b/c.txt' });
  const plain = await fetch(`${base}/api/plain`);
  assert.equal(await plain.text(), 'plain text');
  assert.equal((await fetch(`${base}/api/plain`, { method: 'POST' })).status, 405);
  assert.equal((await fetch(`${base}/nothing`)).status, 404);
});

test('a throwing handler gives 500 with a JSON error and no stack; the host keeps serving', async () => {
  const res = await fetch(`${base}/api/boom`);
  assert.equal(res.status, 500);
  const body = (await res.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'FunctionError');
  assert.match(body.error.message, /handler exploded/);
  assert.doesNotMatch(JSON.stringify(body), /\bat .*\.js:\d+/);
  assert.equal((await fetch(`${base}/api/plain`)).status, 200);
});

test('appStart, preInvocation (which may replace the handler) and postInvocation hooks run', async () => {
  assert.equal(await (await fetch(`${base}/api/hooked`)).text(), 'replaced by preInvocation');
  await fetch(`${base}/api/boom`);
  const seen = (await (await fetch(`${base}/api/hookCounts`)).json()) as {
    appStarted: boolean;
    pre: Record<string, number>;
    post: Record<string, number>;
    postErrors: number;
  };
  assert.equal(seen.appStarted, true);
  assert.equal(seen.pre.hooked, 1);
  assert.equal(seen.post.hooked, 1);
  assert.ok(seen.postErrors >= 1, 'postInvocation sees the error of a throwing handler');
});

test('an oversized request gets 413 and the host keeps serving', async () => {
  const res = await fetch(`${base}/api/echo`, { method: 'POST', body: Buffer.alloc(65 * 1024, 'a') });
  assert.equal(res.status, 413);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'BodyTooLarge');
  assert.equal((await fetch(`${base}/api/plain`)).status, 200);
});

test('a client that sends Expect: 100-continue with an oversized length gets the 413 at once, never "100 Continue"', async () => {
  const u = new URL(base);
  const answer = await new Promise<string>((resolve, reject) => {
    let received = '';
    const socket = connect(Number(u.port), u.hostname);
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 10 s')), 10_000);
    socket.on('connect', () =>
      socket.write(
        `POST /api/echo HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: text/plain\r\nContent-Length: ${65 * 1024}\r\nExpect: 100-continue\r\n\r\n`,
      ),
    );
    socket.on('data', (c: Buffer) => {
      received += c.toString('utf8');
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
  assert.match(
    answer,
    /^HTTP\/1\.1 413 /,
    `the first answer is the 413 (the body is never asked for): ${answer.slice(0, 200)}`,
  );
  assert.match(answer, /"BodyTooLarge"/);
  // Within the cap, the client is told to continue and the request is served normally.
  const small = await new Promise<{ continued: boolean; status: number }>((resolve, reject) => {
    let continued = false;
    const req = httpRequest(`${base}/api/echo`, {
      method: 'POST',
      headers: { expect: '100-continue', 'content-type': 'text/plain', 'content-length': 5 },
      timeout: 10_000,
    });
    req.on('continue', () => {
      continued = true;
      req.end('small');
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ continued, status: res.statusCode ?? 0 }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
  });
  assert.deepEqual(
    small,
    { continued: true, status: 201 },
    'a small body with Expect is asked for and served (echo answers POST with 201)',
  );
});

test('timer triggers: runOnStartup runs once, a 6-field every-second schedule keeps firing', async () => {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const counts = (await (await fetch(`${base}/api/timer-counts`)).json()) as {
      startup: number;
      everySecond: number;
      lastPastDue: boolean;
    };
    if (counts.everySecond >= 2) {
      assert.equal(counts.startup, 1);
      assert.equal(counts.lastPastDue, false);
      return;
    }
    assert.ok(Date.now() < deadline, `timer did not fire twice: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

function makeApp(name: string, pkg: unknown, files: Record<string, string>): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  if (pkg !== undefined) writeFileSync(join(dir, 'package.json'), typeof pkg === 'string' ? pkg : JSON.stringify(pkg));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  return dir;
}

const env = { NODE_PATH: nodeModules };

test('bad input at startup: each case exits non-zero with a clear message and no ready line', async () => {
  const cases: [string, string, RegExp][] = [
    ['no folder', join(tmp, 'does-not-exist'), /AppNotFound: .*does not exist/],
    ['no package.json', makeApp('empty', undefined, {}), /AppNotFound: .*package.json is missing/],
    ['no main', makeApp('nomain', { name: 'x' }, {}), /AppInvalid: .*no "main"/],
    ['main matches nothing', makeApp('badmain', { name: 'x', main: 'dist/*.js' }, {}), /MainNotFound: .*dist\/\*\.js/],
    [
      'duplicate names',
      makeApp(
        'dup',
        { name: 'x', main: 'index.js' },
        {
          'index.js':
            "const { app } = require('@azure/functions');\napp.get('same', async () => ({}));\napp.post('same', async () => ({}));\n",
        },
      ),
      /DuplicateFunction: .*"same"/,
    ],
    [
      'no functions',
      makeApp('nofns', { name: 'x', main: 'index.js' }, { 'index.js': 'module.exports = {};\n' }),
      /NoFunctions/,
    ],
    [
      'throws while loading',
      makeApp('throws', { name: 'x', main: 'index.js' }, { 'index.js': "throw new Error('cannot load');\n" }),
      /AppInvalid: .*cannot load/,
    ],
    [
      'HTTP streaming',
      makeApp(
        'stream',
        { name: 'x', main: 'index.js' },
        {
          'index.js':
            "const { app } = require('@azure/functions');\napp.setup({ enableHttpStream: true });\napp.get('s', async () => ({}));\n",
        },
      ),
      /AppInvalid: HTTP streaming/,
    ],
    [
      'invalid timer schedule',
      makeApp(
        'badtimer',
        { name: 'x', main: 'index.js' },
        {
          'index.js':
            "const { app } = require('@azure/functions');\napp.timer('t', { schedule: '*/5 * * * *', handler: async () => {} });\n",
        },
      ),
      /AppInvalid: Timer function "t": .*6 fields/,
    ],
  ];
  await Promise.all(
    cases.map(async ([label, dir, pattern]) => {
      const r = await runHostExpectingFailure({
        appDir: dir,
        dataDir: join(tmp, `data-${label.replace(/\W/g, '')}`),
        env,
      });
      assert.equal(r.code, 1, `${label}: exit code`);
      assert.equal(r.stdout, '', `${label}: no ready line`);
      assert.match(r.stderr, pattern, label);
    }),
  );
});

test('CLI usage errors exit 2', async () => {
  const r = await runHostExpectingFailure({ appDir: appDir, dataDir: join(tmp, 'x'), port: -1 });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--port must be an integer/);
});
