// CallbackSender against a real receiver on loopback: throttling, retries, give-up rules.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import {
  backoffDelayMs,
  CallbackSender,
  isRetryableStatus,
  type CallbackPayload,
} from '../../batch-image/src/agent/callbacks';
import type { CallbackTuning } from '../../batch-image/src/agent/config';
import { createLogger } from '../../batch-image/src/agent/log';
import { startCallbackReceiver } from '../fixtures/agent/callback-receiver';
import { waitFor } from '../fixtures/agent/wait';

const TUNING: CallbackTuning = {
  progressIntervalMs: 50,
  finalAttempts: 5,
  baseDelayMs: 5,
  maxDelayMs: 20,
  totalBudgetMs: 10_000,
  requestTimeoutMs: 2_000,
};
const lines: string[] = [];
const log = createLogger({ write: (l) => lines.push(l), secrets: ['tok'] });

const payload = (type: Exclude<CallbackPayload['type'], 'ready'>, progress: number, message = ''): CallbackPayload => ({
  jobId: 'j',
  type,
  state: type === 'progress' ? 'running' : type === 'completed' ? 'succeeded' : type,
  progress,
  message,
  at: new Date().toISOString(),
  seq: 0,
});

test('isRetryableStatus: 408, 429 and 5xx only', () => {
  const table: [number, boolean][] = [
    [200, false],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [408, true],
    [409, false],
    [410, false],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
  ];
  for (const [status, retry] of table) assert.equal(isRetryableStatus(status), retry, String(status));
});

test('backoffDelayMs: exponential, jittered within [ceiling/2, ceiling], capped', () => {
  const t = { baseDelayMs: 1000, maxDelayMs: 30_000 };
  assert.equal(
    backoffDelayMs(0, t, () => 0),
    500,
  );
  assert.equal(
    backoffDelayMs(0, t, () => 1),
    1000,
  );
  assert.equal(
    backoffDelayMs(3, t, () => 0),
    4000,
  );
  assert.equal(
    backoffDelayMs(3, t, () => 1),
    8000,
  );
  assert.equal(
    backoffDelayMs(10, t, () => 1),
    30_000,
  );
  assert.equal(
    backoffDelayMs(10, t, () => 0),
    15_000,
  );
  // The default tuning's worst case (8 tries) stays near two minutes of waiting.
  const total = [0, 1, 2, 3, 4, 5, 6].reduce((sum, a) => sum + backoffDelayMs(a, t, () => 1), 0);
  assert.ok(total <= 120_000, String(total));
});

test('progress is throttled, latest wins; nothing is sent after the final callback', async () => {
  const receiver = await startCallbackReceiver();
  const sender = new CallbackSender(new URL(receiver.url), 'tok', TUNING, log);
  const messages = (): unknown[] => receiver.received.map((r) => r.body.message);
  try {
    // Five updates before the first send: only the latest goes out.
    for (let i = 1; i <= 5; i++) sender.progress(payload('progress', i / 10, `step ${i}`));
    await waitFor('the first progress callback', () => receiver.received.length === 1);
    assert.deepEqual(messages(), ['step 5']);
    // Within the interval: held back, and again only the latest is sent.
    sender.progress(payload('progress', 0.6, 'step 6'));
    sender.progress(payload('progress', 0.7, 'step 7'));
    await waitFor('the second progress callback', () => receiver.received.length === 2);
    assert.deepEqual(messages(), ['step 5', 'step 7']);

    sender.progress(payload('progress', 0.8, 'step 8')); // pending when the final one starts: dropped
    assert.equal(await sender.final(payload('completed', 1, 'done')), true);
    sender.progress(payload('progress', 0.9, 'step 9'));
    await new Promise((r) => setTimeout(r, TUNING.progressIntervalMs * 2));
    assert.deepEqual(messages(), ['step 5', 'step 7', 'done']);
    assert.deepEqual(
      receiver.received.map((r) => r.body.seq),
      [1, 2, 3],
    );
  } finally {
    await receiver.close();
  }
});

test('within the interval nothing more is sent: a held-back progress is dropped by the final callback', async () => {
  const receiver = await startCallbackReceiver();
  const sender = new CallbackSender(new URL(receiver.url), 'tok', { ...TUNING, progressIntervalMs: 60_000 }, log);
  try {
    sender.progress(payload('progress', 0.1, 'first'));
    await waitFor('the first progress callback', () => receiver.received.length === 1);
    sender.progress(payload('progress', 0.2, 'held back'));
    // Give an unthrottled sender ample time to send it (a correct one must not).
    await new Promise((r) => setTimeout(r, 200));
    await sender.final(payload('completed', 1, 'done'));
    assert.deepEqual(
      receiver.received.map((r) => r.body.message),
      ['first', 'done'],
    );
  } finally {
    await receiver.close();
  }
});

test('a progress callback in flight lands before the final one', async () => {
  const receiver = await startCallbackReceiver();
  const sender = new CallbackSender(new URL(receiver.url), 'tok', { ...TUNING, progressIntervalMs: 0 }, log);
  try {
    sender.progress(payload('progress', 0.5, 'half'));
    await new Promise((r) => setTimeout(r, 0));
    await sender.final(payload('failed', 0.5));
    // The progress timer (delay 0) fired before ours: it was on the wire when final() was called.
    assert.deepEqual(
      receiver.received.map((r) => [r.body.type, r.body.seq]),
      [
        ['progress', 1],
        ['failed', 2],
      ],
    );
    assert.ok(receiver.received.every((r) => r.authorization === 'Bearer tok'));
  } finally {
    await receiver.close();
  }
});

test('final: retried on 503, 429 and 408; stops at once on other 4xx; bounded by attempts', async () => {
  const cases: { statuses: number[]; delivered: boolean; requests: number }[] = [
    { statuses: [503, 429, 408], delivered: true, requests: 4 },
    { statuses: [400], delivered: false, requests: 1 },
    { statuses: [503, 401], delivered: false, requests: 2 },
    { statuses: [500, 500, 500, 500, 500, 500, 500], delivered: false, requests: 5 },
  ];
  for (const c of cases) {
    const queue = [...c.statuses];
    const receiver = await startCallbackReceiver({
      respond: () => queue.shift() ?? 200,
      headers: { 'Retry-After': '0' },
    });
    try {
      const sender = new CallbackSender(new URL(receiver.url), 'tok', TUNING, log);
      assert.equal(await sender.final(payload('completed', 1)), c.delivered, JSON.stringify(c.statuses));
      assert.equal(receiver.received.length, c.requests, JSON.stringify(c.statuses));
      assert.equal(
        await sender.final(payload('completed', 1)),
        c.delivered,
        'a second final() returns the first outcome',
      );
      assert.equal(receiver.received.length, c.requests, 'without sending again');
    } finally {
      await receiver.close();
    }
  }
});

test('a receiver that never answers is timed out and retried; flush() is bounded', async () => {
  let requests = 0;
  const silent: Server = createServer(() => {
    requests++; // never answers
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const url = new URL(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/cb`);
  try {
    const sender = new CallbackSender(url, 'tok', { ...TUNING, finalAttempts: 2, requestTimeoutMs: 150 }, log);
    const outcome = sender.final(payload('canceled', 0.2));
    await sender.flush(5_000);
    assert.equal(await outcome, false);
    assert.equal(requests, 2);
    assert.ok(lines.some((l) => l.includes('final callback not delivered')));
    assert.ok(!lines.some((l) => l.includes('"tok"') || l.includes('Bearer tok')), 'the token is never logged');
  } finally {
    silent.closeAllConnections();
    await new Promise<void>((r) => silent.close(() => r()));
  }
});
