// The controller's main paths on the real local stack (emulator + Azurite + functions host running
// orchestration/, real SDKs, real processes): two tenants at once with the real model, cancel
// mid-run, an agent that never calls back, and a job deadline. The scenarios are independent, so
// they run concurrently on one stack.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateRegimeSeries, modelInput } from '../../local/stack/demo-data';
import { hamiltonLogLikelihood } from '../fixtures/stack/hamilton';
import {
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
  ts = await startTestStack('lifecycle');
});

after(async () => {
  await stopAndCheck(ts);
});

interface FitResult {
  logLikelihood: number;
  regimes: Array<{ coefficients: number[]; sigma2: number }>;
  transitionMatrix: number[][];
  nobs: number;
}

describe('controller lifecycle', { concurrency: true }, () => {
  test('two tenants submit at once: both complete with correct results and their groups are deleted', async () => {
    const t = stack();
    const truths = [
      {
        tenant: t.contoso,
        series: generateRegimeSeries({ n: 200, mu: [0, 3], sigma2: [0.25, 0.5], stay: [0.95, 0.95], seed: 11 }),
      },
      {
        tenant: t.fabrikam,
        series: generateRegimeSeries({ n: 200, mu: [-2, 1], sigma2: [0.3, 0.3], stay: [0.9, 0.95], seed: 12 }),
      },
    ];
    const submitted = await Promise.all(
      truths.map(({ tenant, series }) => tenant.submitOk({ input: { ...modelInput(series, 3), starts: 2 } })),
    );
    for (const s of submitted) {
      assert.equal(s.state, 'queued');
      assert.match(s.id, /^[a-z0-9-]+$/);
    }
    const finals = await Promise.all(truths.map(({ tenant }, i) => waitForEnd(t, tenant, submitted[i]!.id, 120_000)));
    for (const [i, final] of finals.entries()) {
      const { tenant, series } = truths[i]!;
      assert.equal(final.state, 'succeeded', await t.explain(tenant, final.id));
      assert.equal(final.tenant, tenant.tenant);
      assert.equal(final.progress, 1);
      assert.equal(final.container.state, 'deleted');
      assert.ok(final.finishedAt && final.startedAt, 'startedAt and finishedAt are set');
      assert.ok(final.usage.vcpuSeconds > 0, `usage recorded: ${JSON.stringify(final.usage)}`);
      await waitForGroupGone(t, final.container.name);

      const r = await tenant.result(final.id);
      assert.equal(r.status, 200, r.text);
      const fit = r.body as FitResult;
      assert.equal(fit.nobs, series.y.length);
      assert.equal(fit.regimes.length, 2);
      // Regimes are identified up to a permutation: order by intercept.
      const order = [0, 1].sort((a, b) => fit.regimes[a]!.coefficients[0]! - fit.regimes[b]!.coefficients[0]!);
      const mu = order.map((j) => fit.regimes[j]!.coefficients[0]!);
      const sigma2 = order.map((j) => fit.regimes[j]!.sigma2);
      const P = order.map((from) => order.map((to) => fit.transitionMatrix[from]![to]!));
      for (const j of [0, 1]) {
        assert.ok(
          Math.abs(mu[j]! - series.spec.mu[j]!) < 0.4,
          `${tenant.tenant}: regime ${j} intercept ${mu[j]} vs true ${series.spec.mu[j]}`,
        );
        assert.ok(
          sigma2[j]! > series.spec.sigma2[j]! / 2 && sigma2[j]! < series.spec.sigma2[j]! * 2,
          `${tenant.tenant}: regime ${j} variance ${sigma2[j]} vs true ${series.spec.sigma2[j]}`,
        );
        assert.ok(Math.abs(P[j]!.reduce((a, b) => a + b, 0) - 1) < 1e-6, 'transition rows sum to 1');
      }
      // The reported log-likelihood belongs to the reported parameters (independent filter).
      const ll = hamiltonLogLikelihood(series.y, mu, sigma2, P);
      assert.ok(
        Math.abs(ll - fit.logLikelihood) < 1,
        `${tenant.tenant}: reported log-likelihood ${fit.logLikelihood}, recomputed ${ll}`,
      );

      // Logs were copied before the group went away, and the result is in Blob.
      const logs = await tenant.logs(final.id);
      assert.equal(logs.status, 200, logs.text);
      assert.ok(logs.text.length > 0, 'logs are not empty');
      // The agent's completion callback reached the controller (polling alone would also end the job).
      assert.match(logs.text, /"final callback delivered"/, 'the completion callback was accepted');
      assert.ok(
        final.result && Object.keys(final.result.urls).length > 0,
        `result urls: ${JSON.stringify(final.result)}`,
      );
      // result.urls are API links the tenant opens with its key (RESULT_LINKS=api, the default since
      // f513584); the API reads them from the stack's Blob storage.
      for (const url of Object.values(final.result!.urls)) {
        assert.ok(url.startsWith(`/api/tenants/${tenant.tenant}/jobs/${final.id}/artifacts/`), `${url}: an API link`);
        const r = await fetch(new URL(url, t.stack.apiBaseUrl), {
          headers: { authorization: `Bearer ${tenant.apiKey}` },
          signal: AbortSignal.timeout(15_000),
        });
        assert.equal(r.status, 200, `${url} opens with the tenant's key`);
        await r.arrayBuffer();
      }
    }
  });

  test('cancel mid-run ends the job as canceled and deletes its group', async () => {
    const t = stack();
    const { id } = await t.contoso.submitOk({
      image: 'test/sleep:1.0',
      env: { SLEEP_MS: '60000' },
      cpu: 0.5,
      memoryGb: 0.5,
    });
    const running = await waitForStatus(t, t.contoso, id, 'running', (s) => s.state === 'running');
    assert.ok(
      (await t.stack.listGroups()).some((g) => g.name === running.container.name),
      'the group exists while the job runs',
    );
    const c = await t.contoso.cancel(id);
    assert.ok(c.status === 202 || c.status === 200, `cancel answered ${c.status}: ${c.text}`);
    const final = await waitForEnd(t, t.contoso, id, 60_000);
    assert.equal(final.state, 'canceled', await t.explain(t.contoso, id));
    assert.equal(final.container.state, 'deleted');
    assert.equal(final.error?.code, 'Canceled');
    await waitForGroupGone(t, running.container.name);
    // A second cancel of a finished job changes nothing.
    const again = await t.contoso.cancel(id);
    assert.equal(again.status, 409, again.text);
    assert.equal((await t.contoso.status(id)).state, 'canceled');
  });

  test('an agent that never calls back is found complete by polling', async () => {
    const t = stack();
    // test/silent runs the agent without CALLBACK_URL: no progress or completion callback at all.
    const { id } = await t.contoso.submitOk({
      image: 'test/silent:1.0',
      env: { SLEEP_MS: '1500', RESULT_MARKER: 'silent-ok' },
      cpu: 0.5,
      memoryGb: 0.5,
    });
    const final = await waitForEnd(t, t.contoso, id, 60_000);
    assert.equal(final.state, 'succeeded', await t.explain(t.contoso, id));
    assert.equal(final.container.state, 'deleted');
    const r = await t.contoso.result(id);
    assert.equal(r.status, 200, r.text);
    assert.equal((r.body as { marker?: string }).marker, 'silent-ok');
    await waitForGroupGone(t, final.container.name);
  });

  test('a job past its deadline ends as timed_out and its group is deleted', async () => {
    const t = stack();
    // timeoutMinutes is whole minutes (API minimum 1): this test takes a minute, concurrently with the others.
    const { id } = await t.fabrikam.submitOk({
      image: 'test/sleep:1.0',
      env: { SLEEP_MS: '600000' },
      timeoutMinutes: 1,
      cpu: 0.5,
      memoryGb: 0.5,
    });
    const running = await waitForStatus(t, t.fabrikam, id, 'running', (s) => s.state === 'running');
    const final = await waitForEnd(t, t.fabrikam, id, 120_000);
    assert.equal(final.state, 'timed_out', await t.explain(t.fabrikam, id));
    assert.equal(final.container.state, 'deleted');
    assert.equal(final.error?.code, 'JobTimedOut');
    await waitForGroupGone(t, running.container.name);
    const logs = await t.fabrikam.logs(id);
    assert.equal(logs.status, 200, logs.text);
    assert.match(logs.text, /sleeping 600000 ms/, 'the logs of the timed-out run were kept');
  });
});
