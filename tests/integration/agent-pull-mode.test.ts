// Pull mode (issue 12 item 4) on a real agent process, with a real loopback server standing in for
// the controller's callback endpoint: the agent asks for its start until it gets it, runs the job,
// uploads its result and artifacts, sends the final callback last and exits 0; a cancel answer stops
// the job; a refused start ends the agent with exit code 3; an invalid pulled start fails the job
// with every field named.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURES, startAgentProcess, TOKEN } from '../fixtures/agent/agent-process';
import { startCallbackReceiver } from '../fixtures/agent/callback-receiver';
import { waitFor } from '../fixtures/agent/wait';

const WORK = ['node', join(FIXTURES, 'work.mjs')];
const TREE = ['node', join(FIXTURES, 'tree.mjs')];
const PULL = {
  AGENT_START_MODE: 'pull',
  AGENT_STARTUP_BASE_DELAY_MS: '20',
  AGENT_STARTUP_MAX_DELAY_MS: '100',
  AGENT_CALLBACK_BASE_DELAY_MS: '20',
  AGENT_CALLBACK_MAX_DELAY_MS: '100',
  AGENT_CALLBACK_PROGRESS_INTERVAL_MS: '0',
};

test('pull mode: start pulled after two "not yet", job run, result and artifacts uploaded, final callback last, exit 0', async () => {
  const startBody = { jobId: 'job-p', command: WORK, input: { values: [2, 3] }, env: { GREETING: 'hi' } };
  const receiver = await startCallbackReceiver({
    handle: (req, earlier) => {
      if (req.path === '/start') {
        const asked = earlier.filter((r) => r.path === '/start').length;
        // Not yet twice (204, then 202 with Retry-After), then the start.
        if (asked === 0) return { status: 204 };
        if (asked === 1) return { status: 202, body: {}, headers: { 'Retry-After': '0' } };
        return { status: 200, body: startBody };
      }
      return { status: 200, body: { accepted: true } };
    },
  });
  const agent = await startAgentProcess({
    host: '127.0.0.71',
    env: { CALLBACK_URL: receiver.url, JOB_ID: 'job-p', ...PULL },
  });
  try {
    const exit = await waitForExit(agent.exited);
    assert.deepEqual(exit, { code: 0, signal: null }, agent.output());

    const starts = receiver.received.filter((r) => r.path === '/start');
    assert.equal(starts.length, 3);
    for (const s of starts) {
      assert.equal(s.method, 'POST');
      assert.equal(s.authorization, `Bearer ${TOKEN}`);
      assert.equal(s.body.jobId, 'job-p');
      assert.equal(s.body.type, 'start-request');
    }
    assert.deepEqual(
      starts.map((s) => s.body.attempt),
      [1, 2, 3],
    );

    const result = receiver.received.find((r) => r.path === '/result')!;
    assert.equal(result.method, 'PUT');
    assert.equal(result.authorization, `Bearer ${TOKEN}`);
    assert.equal(result.contentType, 'application/json');
    assert.equal(result.body.jobId, 'job-p');
    assert.equal(result.body.state, 'succeeded');
    assert.deepEqual(result.body.result, { sum: 5, greeting: 'hi', sawToken: false, jobId: 'job-p', exitCode: 0 });
    assert.deepEqual(
      (result.body.artifacts as { name: string }[]).map((a) => a.name),
      ['report.csv', 'result.json'],
    );

    const csv = receiver.received.find((r) => r.path === '/artifacts/report.csv')!;
    assert.equal(csv.method, 'PUT');
    assert.equal(csv.authorization, `Bearer ${TOKEN}`);
    assert.equal(csv.contentType, 'text/csv; charset=utf-8');
    assert.equal(csv.raw.toString('utf8'), 'name,value\nsum,5\n');
    const json = receiver.received.find((r) => r.path === '/artifacts/result.json')!;
    assert.deepEqual(JSON.parse(json.raw.toString('utf8')), {
      sum: 5,
      greeting: 'hi',
      sawToken: false,
      jobId: 'job-p',
    });

    const callbacks = receiver.received.filter((r) => r.path === '');
    const final = callbacks.at(-1)!;
    assert.equal(final.body.type, 'completed');
    assert.equal(final.body.state, 'succeeded');
    assert.deepEqual(final.body.uploads, {
      result: true,
      artifacts: [
        { name: 'report.csv', contentType: 'text/csv; charset=utf-8', bytes: 17, uploaded: true },
        { name: 'result.json', contentType: 'application/json', bytes: json.raw.length, uploaded: true },
      ],
      artifactCount: 2,
      uploadedCount: 2,
    });
    const order = receiver.received.map((r) => r.path || String(r.body.type));
    assert.ok(
      order.indexOf('/result') < order.indexOf('completed') &&
        order.indexOf('/artifacts/result.json') < order.indexOf('completed'),
      `uploads before the final callback: ${order.join(' ')}`,
    );
    assert.equal(order.at(-1), 'completed', 'the final callback is the last request');
    assert.ok(
      callbacks.some((r) => r.body.type === 'ready' && r.body.startMode === 'pull'),
      'announced itself too',
    );
    assert.ok(!agent.output().includes(TOKEN), 'the token is never logged');
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

test('pull mode: an upload that keeps failing is reported, not fatal; the final callback lists at most 100 artifacts', async () => {
  const files = [
    'node',
    '-e',
    "for (let i = 0; i < 150; i++) require('fs').writeFileSync(process.env.RESULT_DIR + '/f' + i + '.txt', 'x')",
  ];
  const receiver = await startCallbackReceiver({
    handle: (req) => {
      if (req.path === '/start') return { status: 200, body: { jobId: 'job-many', command: files } };
      if (req.path === '/artifacts/f1.txt') return { status: 500 };
      return { status: 200 };
    },
  });
  const agent = await startAgentProcess({
    host: '127.0.0.78',
    env: { CALLBACK_URL: receiver.url, JOB_ID: 'job-many', AGENT_CALLBACK_ATTEMPTS: '2', ...PULL },
  });
  try {
    const exit = await waitForExit(agent.exited);
    assert.deepEqual(exit, { code: 0, signal: null }, 'the final callback was delivered');
    assert.equal(receiver.received.filter((r) => r.path === '/artifacts/f1.txt').length, 2, 'retried, then given up');
    assert.equal(receiver.received.filter((r) => r.path.startsWith('/artifacts/') && r.status === 200).length, 149);
    const uploads = receiver.received.filter((r) => r.path === '').at(-1)!.body.uploads as {
      result: boolean;
      artifacts: { name: string; uploaded: boolean }[];
      artifactCount: number;
      uploadedCount: number;
    };
    assert.equal(uploads.result, true);
    assert.equal(uploads.artifactCount, 150);
    assert.equal(uploads.uploadedCount, 149);
    assert.equal(uploads.artifacts.length, 100);
    assert.deepEqual(
      uploads.artifacts.filter((a) => !a.uploaded).map((a) => a.name),
      ['f1.txt'],
    );
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

test('pull mode: the controller answers a heartbeat with {cancel: true} and the whole process tree stops', async () => {
  let cancel = false;
  const receiver = await startCallbackReceiver({
    handle: (req) => {
      if (req.path === '/start') return { status: 200, body: { jobId: 'job-pc', command: TREE } };
      // Once the command runs, any callback's answer carries the order.
      if (req.path === '' && req.body.type === 'progress' && cancel) return { status: 200, body: { cancel: true } };
      return { status: 200 };
    },
  });
  const agent = await startAgentProcess({
    host: '127.0.0.72',
    env: { CALLBACK_URL: receiver.url, JOB_ID: 'job-pc', AGENT_HEARTBEAT_INTERVAL_MS: '100', ...PULL },
  });
  try {
    const pids = await waitFor('the command to record its pids', () => {
      try {
        return JSON.parse(readFileSync(join(agent.resultDir, 'pids.json'), 'utf8')) as Record<string, number>;
      } catch {
        return undefined;
      }
    });
    assert.ok(pids.grandchild);
    // tree.mjs reports no progress: only the heartbeat can carry the order.
    cancel = true;
    const exit = await waitForExit(agent.exited);
    assert.deepEqual(exit, { code: 0, signal: null }, agent.output());
    const final = receiver.received.filter((r) => r.path === '').at(-1)!;
    assert.equal(final.body.type, 'canceled');
    assert.deepEqual(final.body.error, { code: 'Canceled', message: 'canceled by the controller' });
    const heartbeats = receiver.received.filter((r) => r.body.type === 'progress');
    assert.ok(heartbeats.length >= 1, 'the heartbeat went out with no progress to report');
    assert.ok(
      receiver.received.some((r) => r.path === '/result' && r.body.state === 'canceled'),
      'the canceled result is uploaded too',
    );
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

test('pull mode: SIGTERM while running sends the final callback at once, without uploads, and exits 0', async () => {
  const receiver = await startCallbackReceiver({
    handle: (req) =>
      req.path === '/start' ? { status: 200, body: { jobId: 'job-term', command: TREE } } : { status: 200 },
  });
  const agent = await startAgentProcess({
    host: '127.0.0.79',
    env: { CALLBACK_URL: receiver.url, JOB_ID: 'job-term', ...PULL },
  });
  try {
    await waitFor('the command to record its pids', () => {
      try {
        return readFileSync(join(agent.resultDir, 'pids.json'), 'utf8');
      } catch {
        return undefined;
      }
    });
    agent.proc.kill('SIGTERM');
    const exit = await waitForExit(agent.exited);
    assert.deepEqual(exit, { code: 0, signal: null });
    const final = receiver.received.filter((r) => r.path === '').at(-1)!;
    assert.equal(final.body.type, 'canceled');
    assert.equal((final.body.error as { code: string }).code, 'AgentShutdown');
    assert.equal(final.body.uploads, undefined, 'no uploads while shutting down');
    assert.ok(!receiver.received.some((r) => r.method === 'PUT'));
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

test('pull mode: a refused start request (403) ends the agent with exit code 3 and no job', async () => {
  const receiver = await startCallbackReceiver({
    handle: (req) =>
      req.path === '/start' ? { status: 403, body: { error: { code: 'Forbidden' } } } : { status: 200 },
  });
  const agent = await startAgentProcess({
    host: '127.0.0.73',
    env: { CALLBACK_URL: receiver.url, JOB_ID: 'j3', ...PULL },
  });
  try {
    const exit = await waitForExit(agent.exited);
    assert.deepEqual(exit, { code: 3, signal: null });
    assert.equal(receiver.received.filter((r) => r.path === '/start').length, 1, 'a 403 is not retried');
    assert.ok(agent.logs().some((l) => l.msg === 'no start received; exiting'));
    assert.ok(!receiver.received.some((r) => r.path === '/result'));
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

test('pull mode: a start that never comes ends at AGENT_PULL_DEADLINE_MS with exit code 3', async () => {
  const receiver = await startCallbackReceiver({ handle: (req) => ({ status: req.path === '/start' ? 503 : 200 }) });
  const agent = await startAgentProcess({
    host: '127.0.0.74',
    env: { CALLBACK_URL: receiver.url, JOB_ID: 'j4', AGENT_PULL_DEADLINE_MS: '1000', ...PULL },
  });
  try {
    const exit = await waitForExit(agent.exited);
    assert.deepEqual(exit, { code: 3, signal: null });
    assert.ok(receiver.received.filter((r) => r.path === '/start').length >= 2, 'retried until the deadline');
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

test('pull mode: an invalid pulled start fails the job with every field named (nobody can be answered 400)', async () => {
  const receiver = await startCallbackReceiver({
    handle: (req) =>
      req.path === '/start'
        ? { status: 200, body: { jobId: 'job-bad', input: { y: [1, 'x', 3], k: 9 } } }
        : { status: 200 },
  });
  const agent = await startAgentProcess({
    host: '127.0.0.75',
    env: { CALLBACK_URL: receiver.url, JOB_ID: 'job-bad', ...PULL },
  });
  try {
    const exit = await waitForExit(agent.exited);
    assert.deepEqual(exit, { code: 0, signal: null });
    const final = receiver.received.filter((r) => r.path === '').at(-1)!;
    assert.equal(final.body.type, 'failed');
    const error = final.body.error as { code: string; message: string };
    assert.equal(error.code, 'InvalidInput');
    assert.match(error.message, /input\.y\[1\]: must be a finite number/);
    assert.match(error.message, /input\.k: must be an integer from 2 to 4/);
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

test('pull mode: a start over AGENT_MAX_BODY_BYTES fails the job with PayloadTooLarge instead of asking forever', async () => {
  const receiver = await startCallbackReceiver({
    handle: (req) =>
      req.path === '/start'
        ? { status: 200, body: { jobId: 'job-big', command: WORK, input: { pad: 'x'.repeat(4096) } } }
        : { status: 200 },
  });
  const agent = await startAgentProcess({
    host: '127.0.0.80',
    env: { CALLBACK_URL: receiver.url, JOB_ID: 'job-big', AGENT_MAX_BODY_BYTES: '2048', ...PULL },
  });
  try {
    const exit = await waitForExit(agent.exited);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.equal(receiver.received.filter((r) => r.path === '/start').length, 1);
    const final = receiver.received.filter((r) => r.path === '').at(-1)!;
    assert.equal(final.body.type, 'failed');
    assert.deepEqual(final.body.error, {
      code: 'PayloadTooLarge',
      message: 'the start body exceeds AGENT_MAX_BODY_BYTES (2048 bytes)',
    });
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

test('pull mode needs CALLBACK_URL and JOB_ID: the agent refuses to start (exit 2) naming both', async () => {
  const agent = startAgentProcess({ host: '127.0.0.76', env: { AGENT_START_MODE: 'pull' } });
  await assert.rejects(agent, (err: Error) => {
    assert.match(err.message, /AGENT_START_MODE=pull needs CALLBACK_URL/);
    assert.match(err.message, /AGENT_START_MODE=pull needs JOB_ID/);
    return true;
  });
});

async function waitForExit(
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      exited,
      new Promise<never>((_, reject) => {
        t = setTimeout(() => reject(new Error('the agent did not exit within 30 s')), 30_000);
      }),
    ]);
  } finally {
    clearTimeout(t);
  }
}

test('pull mode: a {cancel: true} answer to the ready callback stops the pulling; exit 0, no job', async () => {
  const receiver = await startCallbackReceiver({
    handle: (req) =>
      req.path === '' && req.body.type === 'ready' ? { status: 200, body: { cancel: true } } : { status: 204 },
  });
  const agent = await startAgentProcess({
    host: '127.0.0.77',
    // Slow pulls, so the ready answer arrives while the agent waits to ask again.
    env: {
      CALLBACK_URL: receiver.url,
      JOB_ID: 'j7',
      ...PULL,
      AGENT_STARTUP_BASE_DELAY_MS: '2000',
      AGENT_STARTUP_MAX_DELAY_MS: '2000',
    },
  });
  try {
    const exit = await waitForExit(agent.exited);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(
      agent.logs().some((l) => l.msg === 'canceled by the controller before the start; not asking for it any more'),
    );
    assert.ok(!receiver.received.some((r) => r.path === '/result'), 'no job, nothing uploaded');
  } finally {
    await agent.stop();
    await receiver.close();
  }
});
