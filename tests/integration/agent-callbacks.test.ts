// Callbacks from a real agent process to a real receiver: the token is sent, a failing receiver is
// retried, and a dead one changes nothing about the job (its state can still be polled).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURES, startAgentProcess, TOKEN } from '../fixtures/agent/agent-process';
import { startCallbackReceiver } from '../fixtures/agent/callback-receiver';
import { waitFor } from '../fixtures/agent/wait';

const WORK = ['node', join(FIXTURES, 'work.mjs')];
/** The job's final callbacks (the ready announcement and progress are not). */
const isFinal = (type: unknown): boolean => type === 'completed' || type === 'failed' || type === 'canceled';
const FAST_RETRIES = {
  AGENT_CALLBACK_BASE_DELAY_MS: '20',
  AGENT_CALLBACK_MAX_DELAY_MS: '100',
  AGENT_CALLBACK_PROGRESS_INTERVAL_MS: '0',
};

test('progress and final callbacks carry the token; the final one is retried after two 503s', async () => {
  // The final callback is refused twice (503), then accepted.
  const receiver = await startCallbackReceiver({
    respond: (body, earlier) =>
      isFinal(body.type) && earlier.filter((r) => isFinal(r.body.type)).length < 2 ? 503 : 200,
  });
  const agent = await startAgentProcess({
    host: '127.0.0.31',
    env: { CALLBACK_URL: receiver.url, JOB_ID: 'job-cb', ...FAST_RETRIES },
  });
  try {
    await agent.call('POST', '/start', { jobId: 'job-cb', command: WORK, input: { values: [4], waitForGo: true } });
    const progress = await waitFor('a progress callback', () =>
      receiver.received.find((r) => r.body.type === 'progress'),
    );
    assert.equal(progress.authorization, `Bearer ${TOKEN}`);
    assert.equal(progress.contentType, 'application/json');
    assert.equal(progress.body.jobId, 'job-cb');
    assert.equal(progress.body.state, 'running');
    assert.equal(progress.body.progress, 0.25);
    assert.equal(progress.body.message, 'loaded input');
    assert.ok(!Number.isNaN(Date.parse(progress.body.at as string)));

    writeFileSync(join(agent.resultDir, 'go'), '');
    const delivered = await waitFor('the final callback to be accepted', () =>
      receiver.received.find((r) => r.body.type === 'completed' && r.status === 200),
    );
    const finals = receiver.received.filter((r) => isFinal(r.body.type));
    assert.deepEqual(
      finals.map((r) => r.status),
      [503, 503, 200],
      'retried until accepted, then no more',
    );
    for (const f of finals) {
      assert.equal(f.authorization, `Bearer ${TOKEN}`);
      assert.deepEqual(f.body, delivered.body, 'every retry sends the same callback');
    }
    assert.equal(delivered.body.state, 'succeeded');
    assert.equal(delivered.body.exitCode, 0);
    assert.equal(delivered.body.progress, 1);
    const seqs = receiver.received.map((r) => r.body.seq as number);
    assert.ok(
      seqs.every((s, i) => i === 0 || s >= (seqs[i - 1] ?? 0)),
      `seq never decreases: ${seqs.join(',')}`,
    );
    assert.equal(receiver.received.at(-1)?.body.type, 'completed', 'the final callback is the last one');

    assert.ok(!agent.output().includes(TOKEN), 'the token is never logged');
    // The agent logs the delivery after reading the answer, a moment after the receiver recorded it.
    const logged = await waitFor('the delivery to be logged', () =>
      agent.logs().find((l) => l.msg === 'final callback delivered'),
    );
    assert.equal(logged.attempt, 3);
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

test('a 4xx other than 408/429 is not retried', async () => {
  const receiver = await startCallbackReceiver({ respond: (body) => (isFinal(body.type) ? 403 : 200) });
  const agent = await startAgentProcess({ host: '127.0.0.32', env: { CALLBACK_URL: receiver.url, ...FAST_RETRIES } });
  try {
    await agent.call('POST', '/start', { jobId: 'job-403', command: WORK, input: { exitCode: 1 } });
    await waitFor('the agent to give up', () =>
      agent.logs().find((l) => l.msg === 'final callback refused; not retrying'),
    );
    const finals = receiver.received.filter((r) => isFinal(r.body.type));
    assert.equal(finals.length, 1);
    assert.equal(finals[0]?.body.type, 'failed');
    assert.equal(finals[0]?.body.exitCode, 1);
    assert.deepEqual(finals[0]?.body.error, { code: 'CommandFailed', message: 'the command exited with code 1' });
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

test('a dead callback URL does not change the job: its final state can still be polled', async () => {
  // A port that was free a moment ago and has nothing listening: connections are refused.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.33', r));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((r) => probe.close(() => r()));

  const agent = await startAgentProcess({
    host: '127.0.0.33',
    env: { CALLBACK_URL: `http://127.0.0.33:${port}/callbacks`, AGENT_CALLBACK_ATTEMPTS: '3', ...FAST_RETRIES },
  });
  try {
    await agent.call('POST', '/start', { jobId: 'job-dead', command: WORK, input: { values: [1, 1] } });
    const status = await waitFor('the job to succeed', async () => {
      const s = await agent.call('GET', '/status');
      return s.body.state === 'succeeded' ? s.body : undefined;
    });
    assert.equal(status.exitCode, 0);
    await waitFor('the agent to give up on the callback', () =>
      agent
        .logs()
        .find((l) => l.msg === 'final callback not delivered; the job state remains available on GET /status'),
    );
    const attempts = agent.logs().filter((l) => l.msg === 'final callback attempt failed');
    assert.equal(attempts.length, 3, 'bounded by AGENT_CALLBACK_ATTEMPTS');
    const result = await agent.call('GET', '/result');
    assert.equal(result.status, 200);
    assert.equal(result.body.result.sum, 2);
    assert.equal((await agent.call('GET', '/healthz')).status, 200, 'and the agent keeps serving');
  } finally {
    await agent.stop();
  }
});

test('push mode too: a {cancel: true} answer to a heartbeat cancels the job like POST /cancel', async () => {
  let order = false;
  const receiver = await startCallbackReceiver({
    handle: (req) => (req.body.type === 'progress' && order ? { status: 200, body: { cancel: true } } : undefined),
  });
  const agent = await startAgentProcess({
    host: '127.0.0.34',
    env: { CALLBACK_URL: receiver.url, AGENT_HEARTBEAT_INTERVAL_MS: '100', ...FAST_RETRIES },
  });
  try {
    await agent.call('POST', '/start', { jobId: 'job-order', command: ['node', join(FIXTURES, 'tree.mjs')] });
    await waitFor('a heartbeat while the command runs', () =>
      receiver.received.find((r) => r.body.type === 'progress' && r.body.state === 'running'),
    );
    order = true;
    const status = await waitFor('the job to be canceled', async () => {
      const s = await agent.call('GET', '/status');
      return s.body.state === 'canceled' ? s.body : undefined;
    });
    assert.deepEqual(status.error, { code: 'Canceled', message: 'canceled by the controller' });
    const final = await waitFor('the canceled callback', () =>
      receiver.received.find((r) => r.body.type === 'canceled'),
    );
    assert.equal(final.body.jobId, 'job-order');
    assert.equal((await agent.call('GET', '/healthz')).status, 200, 'a push-mode agent keeps serving');
  } finally {
    await agent.stop();
    await receiver.close();
  }
});
