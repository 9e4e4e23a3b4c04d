// Model mode end to end on a real agent: the regime-switching model fits a small two-regime series,
// progress is reported, the result and chart.svg are served, bad input is a 400 naming each field,
// and cancel stops a fit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startAgentProcess, TOKEN } from '../fixtures/agent/agent-process';
import { startCallbackReceiver } from '../fixtures/agent/callback-receiver';
import { waitFor } from '../fixtures/agent/wait';

/** Deterministic series: 60 observations around 0 (sd ~0.3), then 60 around 3 (sd ~1). */
function twoRegimeSeries(): number[] {
  let s = 12345;
  const uniform = (): number => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const normal = (): number => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
  return Array.from({ length: 120 }, (_, t) => (t < 60 ? 0.3 * normal() : 3 + normal()));
}

test('model mode: fit, progress, result.json and chart.svg', async () => {
  const receiver = await startCallbackReceiver();
  const agent = await startAgentProcess({
    host: '127.0.0.51',
    env: { JOB_ID: 'job-m', CALLBACK_URL: receiver.url, AGENT_CALLBACK_PROGRESS_INTERVAL_MS: '0' },
  });
  try {
    const input = { y: twoRegimeSeries(), k: 2, starts: 2, switchingVariance: true };
    const started = await agent.call('POST', '/start', { jobId: 'job-m', input });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal(started.body.mode, 'model');

    const status = await waitFor(
      'the fit to finish',
      async () => {
        const s = await agent.call('GET', '/status');
        return ['succeeded', 'failed', 'canceled'].includes(s.body.state) ? s.body : undefined;
      },
      30_000,
    );
    assert.equal(status.state, 'succeeded', JSON.stringify(status));
    assert.equal(status.progress, 1);
    assert.equal(status.exitCode, undefined, 'no exit code in model mode');

    const result = await agent.call('GET', '/result');
    assert.equal(result.status, 200);
    const fit = result.body.result;
    assert.equal(fit.model, 'markov-switching-regression');
    assert.equal(fit.k, 2);
    assert.equal(fit.nobs, 120);
    const means = fit.regimes
      .map((r: { coefficients: number[] }) => r.coefficients[0])
      .sort((a: number, b: number) => a - b);
    assert.ok(Math.abs(means[0]) < 0.5 && Math.abs(means[1] - 3) < 0.5, `regime means near 0 and 3: ${means}`);
    assert.deepEqual(
      result.body.artifacts.map((a: { name: string; contentType: string }) => [a.name, a.contentType]),
      [
        ['chart.svg', 'image/svg+xml'],
        ['result.json', 'application/json'],
      ],
    );

    const chart = await agent.call('GET', '/artifacts/chart.svg');
    assert.equal(chart.status, 200);
    assert.equal(chart.headers.get('content-type'), 'image/svg+xml');
    assert.match(chart.body as string, /^<svg[\s\S]*<\/svg>\s*$/);
    const json = await agent.call('GET', '/artifacts/result.json');
    assert.deepEqual(json.body, fit, 'result.json holds the same result as GET /result');

    const final = await waitFor('the completed callback', () =>
      receiver.received.find((r) => r.body.type === 'completed'),
    );
    assert.equal(final.authorization, `Bearer ${TOKEN}`);
    assert.ok(
      receiver.received.some((r) => r.body.type === 'progress'),
      'the model reported progress',
    );
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

test('model mode: invalid input is a 400 naming every field under input.; cancel stops a fit', async () => {
  const agent = await startAgentProcess({ host: '127.0.0.52' });
  try {
    const bad = await agent.call('POST', '/start', { jobId: 'job-x', input: { y: [1, 'two', 3], k: 9, env: 1 } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'InvalidInput');
    const fields: string[] = bad.body.error.details.map((d: { field: string }) => d.field);
    for (const f of ['input.env', 'input.y[1]', 'input.k'])
      assert.ok(fields.includes(f), `${f} in ${fields.join(', ')}`);
    const missing = await agent.call('POST', '/start', { jobId: 'job-x' });
    assert.equal(missing.status, 400);
    assert.deepEqual(
      missing.body.error.details.map((d: { field: string }) => d.field),
      ['input'],
    );
    const envInModelMode = await agent.call('POST', '/start', {
      jobId: 'job-x',
      input: { y: twoRegimeSeries(), k: 2 },
      env: { A: 'b' },
    });
    assert.deepEqual(
      envInModelMode.body.error.details.map((d: { field: string }) => d.field),
      ['env'],
    );

    // Many starts with a huge iteration budget: this fit is still running when cancel arrives.
    const long = { y: twoRegimeSeries(), k: 3, starts: 64, maxIterations: 100_000, tolerance: 1e-300 };
    const started = await agent.call('POST', '/start', { jobId: 'job-long', input: long });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const cancel = await agent.call('POST', '/cancel');
    assert.equal(cancel.status, 202);
    const status = await waitFor('the fit to be canceled', async () => {
      const s = await agent.call('GET', '/status');
      return s.body.state === 'canceled' ? s.body : undefined;
    });
    assert.equal(status.error.code, 'Canceled');
    const result = await agent.call('GET', '/result');
    assert.equal(result.body.state, 'canceled');
    assert.equal(result.body.result, null);
    assert.deepEqual(result.body.artifacts, []);
  } finally {
    await agent.stop();
  }
});
