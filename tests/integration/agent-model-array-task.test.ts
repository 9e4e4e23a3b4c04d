// Model mode on a real agent as one task of a job array (issue 13) and with a degenerate fit
// (issue 10 item 7): ACI_BATCH_TASK_INDEX / _COUNT reach the fit, the final callback's `summary`
// carries the log-likelihood the controller ranks tasks by, and a fit only a collapsed regime can
// produce fails the job with DegenerateFit while its result stays readable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startAgentProcess } from '../fixtures/agent/agent-process';
import { startCallbackReceiver } from '../fixtures/agent/callback-receiver';
import { waitFor } from '../fixtures/agent/wait';

function series(): number[] {
  let s = 3;
  const u = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  const n = (): number => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return Array.from({ length: 120 }, (_, t) => (Math.floor(t / 30) % 2 === 0 ? n() : 3 + 0.5 * n()));
}

const finalOf = async (receiver: Awaited<ReturnType<typeof startCallbackReceiver>>) =>
  waitFor(
    'the final callback',
    () => receiver.received.find((r) => ['completed', 'failed', 'canceled'].includes(String(r.body.type))),
    60_000,
  );

test("task 3 of 4: the fit runs that task's starts and the final callback carries the summary", async () => {
  const receiver = await startCallbackReceiver();
  const agent = await startAgentProcess({
    host: '127.0.0.81',
    env: { CALLBACK_URL: receiver.url, JOB_ID: 'job-t3', ACI_BATCH_TASK_INDEX: '3', ACI_BATCH_TASK_COUNT: '4' },
  });
  try {
    const started = await agent.call('POST', '/start', { jobId: 'job-t3', input: { y: series(), k: 2, starts: 2 } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const final = await finalOf(receiver);
    assert.equal(final.body.type, 'completed', JSON.stringify(final.body));
    const result = (await agent.call('GET', '/result')).body.result;
    assert.deepEqual(result.task, { index: 3, count: 4 });
    assert.deepEqual(
      result.starts.map((s: { globalIndex: number }) => s.globalIndex),
      [6, 7],
    );
    assert.deepEqual(final.body.summary, {
      model: 'markov-switching-regression',
      logLikelihood: result.logLikelihood,
      aic: result.aic,
      bic: result.bic,
      converged: result.converged,
      usable: true,
      warnings: [],
      task: { index: 3, count: 4 },
    });
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

test('a degenerate fit fails the job with DegenerateFit; the result is kept with usable: false', async () => {
  const receiver = await startCallbackReceiver();
  const agent = await startAgentProcess({ host: '127.0.0.82', env: { CALLBACK_URL: receiver.url } });
  try {
    const y = Array.from({ length: 60 }, (_, t) => (t % 20 === 7 ? 1 + t / 10 : 0));
    await agent.call('POST', '/start', { jobId: 'job-degenerate', input: { y, k: 2, starts: 2 } });
    const final = await finalOf(receiver);
    assert.equal(final.body.type, 'failed');
    const error = final.body.error as { code: string; message: string };
    assert.equal(error.code, 'DegenerateFit');
    assert.match(error.message, /^degenerate fit: regime 0's variance .* below 0\.000001 × var\(y\)/);
    const status = (await agent.call('GET', '/status')).body;
    assert.equal(status.state, 'failed');
    assert.equal(status.error.code, 'DegenerateFit');
    const result = await agent.call('GET', '/result');
    assert.equal(result.body.result.usable, false);
    assert.equal(result.body.result.warnings[0].code, 'VarianceCollapsed');
    assert.equal((final.body.summary as { usable: boolean }).usable, false);
  } finally {
    await agent.stop();
    await receiver.close();
  }
});
