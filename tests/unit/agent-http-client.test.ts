// The agent's outbound HTTP against a real loopback server: the pull-mode URL derivation (a contract
// with the controller), cancel orders, bounded reading of answers, file uploads and Retry-After.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { appendPath, isCancelAnswer, parseRetryAfter, sendRequest } from '../../batch-image/src/agent/http-client';
import { startCallbackReceiver } from '../fixtures/agent/callback-receiver';

test('appendPath: CALLBACK_URL + /start, /result, /artifacts/x; trailing slashes and the query kept', () => {
  const cases: [string, string, string][] = [
    [
      'https://ctl.example/api/callbacks/tenants/t/jobs/j-1',
      '/start',
      'https://ctl.example/api/callbacks/tenants/t/jobs/j-1/start',
    ],
    [
      'https://ctl.example/api/callbacks/tenants/t/jobs/j-1/',
      '/result',
      'https://ctl.example/api/callbacks/tenants/t/jobs/j-1/result',
    ],
    [
      'http://127.0.0.1:7071/cb?code=abc',
      '/artifacts/chart.svg',
      'http://127.0.0.1:7071/cb/artifacts/chart.svg?code=abc',
    ],
  ];
  for (const [base, suffix, expected] of cases) assert.equal(appendPath(new URL(base), suffix).href, expected);
});

test('isCancelAnswer: only {cancel: true}', () => {
  assert.equal(isCancelAnswer({ cancel: true }), true);
  for (const v of [undefined, null, {}, { cancel: 'true' }, { cancel: 1 }, [true], 'cancel'])
    assert.equal(isCancelAnswer(v), false);
});

test('parseRetryAfter: seconds or an HTTP date', () => {
  assert.equal(parseRetryAfter('3'), 3000);
  assert.equal(parseRetryAfter(undefined), undefined);
  assert.equal(parseRetryAfter('soon'), undefined);
  const inFuture = parseRetryAfter(new Date(Date.now() + 60_000).toUTCString())!;
  assert.ok(inFuture > 55_000 && inFuture <= 60_000, String(inFuture));
});

test('sendRequest: JSON answers are read up to the limit; a file is streamed with its type and length', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-http-'));
  const receiver = await startCallbackReceiver({
    handle: (req) =>
      req.path === '/big' ? { status: 200, body: { pad: 'x'.repeat(2000) } } : { status: 202, body: { cancel: true } },
  });
  try {
    const small = await sendRequest(new URL(receiver.url), {
      method: 'POST',
      token: 'tok',
      timeoutMs: 5_000,
      json: { a: 1 },
    });
    assert.deepEqual(small, { status: 202, retryAfterMs: undefined, body: { cancel: true } });
    const big = await sendRequest(appendPath(new URL(receiver.url), '/big'), {
      method: 'POST',
      token: 'tok',
      timeoutMs: 5_000,
      json: {},
      maxAnswerBytes: 1_000,
    });
    assert.equal(big.status, 200);
    assert.equal(big.body, undefined, 'over the limit: drained unread');
    assert.equal(big.unreadBody, 'too-large');
    const file = join(dir, 'a.csv');
    writeFileSync(file, 'x,y\n1,2\n');
    await sendRequest(appendPath(new URL(receiver.url), '/artifacts/a.csv'), {
      method: 'PUT',
      token: 'tok',
      timeoutMs: 5_000,
      file: { path: file, contentType: 'text/csv; charset=utf-8', bytes: 8 },
    });
    const put = receiver.received.at(-1)!;
    assert.equal(put.method, 'PUT');
    assert.equal(put.path, '/artifacts/a.csv');
    assert.equal(put.contentType, 'text/csv; charset=utf-8');
    assert.equal(put.authorization, 'Bearer tok');
    assert.equal(put.raw.toString(), 'x,y\n1,2\n');
  } finally {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
