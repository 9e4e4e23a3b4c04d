// The ready callback (issue 12 item 1) from a real agent process to a real receiver: the agent
// announces itself once it listens, with its token, job and address; the announcement is retried
// with backoff until a deadline, never holds up the HTTP server, and a controller that refuses it
// (today's controller answers 400 to an unknown type) changes nothing about the job.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURES, startAgentProcess, TOKEN } from '../fixtures/agent/agent-process';
import { startCallbackReceiver } from '../fixtures/agent/callback-receiver';
import { waitFor } from '../fixtures/agent/wait';

const WORK = ['node', join(FIXTURES, 'work.mjs')];
const FAST = {
  AGENT_STARTUP_BASE_DELAY_MS: '20',
  AGENT_STARTUP_MAX_DELAY_MS: '100',
  AGENT_CALLBACK_BASE_DELAY_MS: '20',
  AGENT_CALLBACK_MAX_DELAY_MS: '100',
};

test('ready: sent once listening with the token, job, address and mode; retried after 503s, then never again', async () => {
  const receiver = await startCallbackReceiver({
    respond: (body, earlier) =>
      body.type === 'ready' && earlier.filter((r) => r.body.type === 'ready').length < 2 ? 503 : 200,
  });
  const agent = await startAgentProcess({
    host: '127.0.0.61',
    env: {
      CALLBACK_URL: receiver.url,
      JOB_ID: 'job-ready',
      ACI_BATCH_TASK_INDEX: '2',
      ACI_BATCH_TASK_COUNT: '5',
      ...FAST,
    },
  });
  try {
    await waitFor('the ready callback to be accepted', () =>
      receiver.received.find((r) => r.body.type === 'ready' && r.status === 200),
    );
    const readies = receiver.received.filter((r) => r.body.type === 'ready');
    assert.deepEqual(
      readies.map((r) => r.status),
      [503, 503, 200],
    );
    const port = agent.logs().find((l) => l.msg === 'listening')?.port;
    for (const r of readies) {
      assert.equal(r.method, 'POST');
      assert.equal(r.path, '', 'posted to CALLBACK_URL itself');
      assert.equal(r.authorization, `Bearer ${TOKEN}`);
      assert.equal(r.contentType, 'application/json');
      assert.deepEqual(r.body, readies[0]?.body, 'every try sends the same announcement');
    }
    const body = readies[0]!.body;
    assert.equal(body.jobId, 'job-ready');
    assert.equal(body.state, 'idle');
    assert.deepEqual(body.address, { host: '127.0.0.61', port });
    assert.equal(body.startMode, 'push');
    assert.equal(body.mode, 'model');
    assert.equal(body.taskIndex, 2);
    assert.equal(body.taskCount, 5);
    assert.equal(body.seq, 1, 'the first callback of this agent');
    assert.ok(!Number.isNaN(Date.parse(body.at as string)));
    await waitFor('the delivery to be logged', () => agent.logs().find((l) => l.msg === 'ready callback delivered'));

    // A job's callbacks follow with higher seq numbers; ready is not sent again.
    await agent.call('POST', '/start', { jobId: 'job-ready', command: WORK, input: { values: [1] } });
    const final = await waitFor('the completed callback', () =>
      receiver.received.find((r) => r.body.type === 'completed'),
    );
    assert.ok((final.body.seq as number) > 1);
    assert.equal(receiver.received.filter((r) => r.body.type === 'ready').length, 3);
    assert.ok(!agent.output().includes(TOKEN), 'the token is never logged');
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

test('ready never holds up the server: /healthz and /start answer while the announcement hangs', async () => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));
  let holding = false;
  const receiver = await startCallbackReceiver({
    handle: async (req) => {
      if (req.body.type === 'ready') {
        holding = true;
        await held;
      }
      return { status: 200 };
    },
  });
  const agent = await startAgentProcess({
    host: '127.0.0.62',
    env: { CALLBACK_URL: receiver.url, JOB_ID: 'job-held', AGENT_CALLBACK_TIMEOUT_MS: '30000', ...FAST },
  });
  try {
    await waitFor('the receiver to be holding the announcement', () => holding);
    assert.equal((await agent.call('GET', '/healthz')).status, 200);
    const started = await agent.call('POST', '/start', { jobId: 'job-held', command: WORK, input: { values: [2] } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const status = await waitFor('the job to succeed', async () => {
      const s = await agent.call('GET', '/status');
      return s.body.state === 'succeeded' ? s.body : undefined;
    });
    assert.equal(status.exitCode, 0);
    assert.equal(
      receiver.received.filter((r) => r.body.type === 'ready').length,
      0,
      'the announcement is still unanswered',
    );
    release();
    await waitFor('the announcement to be answered', () => receiver.received.find((r) => r.body.type === 'ready'));
  } finally {
    release();
    await agent.stop();
    await receiver.close();
  }
});

test('a controller that refuses ready (400) is not asked again, and the job and its callbacks are unaffected', async () => {
  const receiver = await startCallbackReceiver({ respond: (body) => (body.type === 'ready' ? 400 : 200) });
  const agent = await startAgentProcess({ host: '127.0.0.63', env: { CALLBACK_URL: receiver.url, ...FAST } });
  try {
    await waitFor('the refusal to be logged', () =>
      agent.logs().find((l) => l.msg === 'ready callback refused; not retrying'),
    );
    await agent.call('POST', '/start', { jobId: 'job-400', command: WORK, input: { values: [3] } });
    const final = await waitFor('the completed callback', () =>
      receiver.received.find((r) => r.body.type === 'completed' && r.status === 200),
    );
    assert.equal(final.body.state, 'succeeded');
    assert.equal(receiver.received.filter((r) => r.body.type === 'ready').length, 1);
    assert.equal(
      receiver.received[0]?.body.jobId,
      undefined,
      'without JOB_ID the announcement names no job (the controller always sets JOB_ID)',
    );
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

test('ready gives up at its deadline when the controller is unreachable; the agent keeps serving', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.64', r));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((r) => probe.close(() => r()));
  const agent = await startAgentProcess({
    host: '127.0.0.64',
    env: { CALLBACK_URL: `http://127.0.0.64:${port}/cb`, JOB_ID: 'job-dead', AGENT_READY_DEADLINE_MS: '400', ...FAST },
  });
  try {
    await waitFor('the agent to give up on ready', () =>
      agent.logs().find((l) => String(l.msg).startsWith('ready callback not delivered before its deadline')),
    );
    const attempts = agent.logs().filter((l) => l.msg === 'ready callback attempt failed');
    assert.ok(attempts.length >= 2, `retried before giving up (${attempts.length} tries)`);
    assert.equal((await agent.call('GET', '/healthz')).status, 200);
    assert.equal((await agent.call('GET', '/status')).body.state, 'idle');
  } finally {
    await agent.stop();
  }
});
