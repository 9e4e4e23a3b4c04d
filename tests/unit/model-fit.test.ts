// fitModel end to end in worker threads: recovers known regimes, is deterministic for a seed whatever
// the number of workers, reports monotone progress, aborts with AbortError; renderChartSvg is a
// well-formed self-contained SVG; the CLI prints the result or exits 2 with field errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fitModel,
  parseFitInput,
  renderChartSvg,
  shutdownModelWorkers,
  type FitInput,
  type FitResult,
} from '../../batch-image/src/model';

const root = join(__dirname, '..', '..');

/** A seeded 2-regime series: mean 0 / variance 1 and mean 3 / variance 0.25, long spells. */
function simulated(T: number, seed: number): number[] {
  let s = seed >>> 0;
  const u = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const n = (): number => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const y: number[] = [];
  let regime = 0;
  for (let t = 0; t < T; t++) {
    if (u() < 0.05) regime = 1 - regime;
    y.push(regime === 0 ? n() : 3 + 0.5 * n());
  }
  return y;
}

function input(raw: Record<string, unknown>): FitInput {
  const r = parseFitInput(raw);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.value;
}

function withoutTimes(r: FitResult): unknown {
  return { ...r, elapsedSeconds: 0, workers: 0, starts: r.starts.map((s) => ({ ...s, seconds: 0 })) };
}

test('recovers known regimes and reports a complete result', async () => {
  const fit = input({ y: simulated(400, 11), k: 2, starts: 4, seed: 3 });
  const progress: [number, string][] = [];
  const r = await fitModel(fit, { workers: 2, onProgress: (f, m) => progress.push([f, m]) });
  assert.equal(r.model, 'markov-switching-regression');
  assert.equal(r.nobs, 400);
  assert.equal(r.workers, 2);
  assert.equal(r.starts.length, 4);
  assert.ok(r.converged);
  assert.ok(r.bestStart >= 0 && r.bestStart < 4);
  const bestLl = Math.max(...r.starts.map((s) => s.logLikelihood));
  assert.equal(r.starts[r.bestStart]!.logLikelihood, bestLl);
  assert.ok(Math.abs(r.logLikelihood - bestLl) < 1e-8 * Math.abs(bestLl));
  // Canonical order: ascending constant.
  assert.ok(Math.abs(r.regimes[0]!.coefficients[0]!) < 0.3, `regime 0 constant ${r.regimes[0]!.coefficients[0]}`);
  assert.ok(Math.abs(r.regimes[1]!.coefficients[0]! - 3) < 0.3, `regime 1 constant ${r.regimes[1]!.coefficients[0]}`);
  assert.ok(Math.abs(r.regimes[0]!.sigma2 - 1) < 0.35 && Math.abs(r.regimes[1]!.sigma2 - 0.25) < 0.12);
  for (const row of r.transitionMatrix) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.ok(r.transitionMatrix[0]![0]! > 0.85 && r.transitionMatrix[1]![1]! > 0.85);
  for (const reg of r.regimes) {
    assert.ok(reg.standardErrors.every((s) => s !== null && s > 0));
    assert.ok(Math.abs(reg.tStatistics[0]! - reg.coefficients[0]! / reg.standardErrors[0]!) < 1e-12);
    assert.ok(reg.expectedDuration > 1);
  }
  const n = r.parameterCount;
  assert.equal(n, 6);
  assert.ok(Math.abs(r.aic - (-2 * r.logLikelihood + 2 * n)) < 1e-9);
  assert.ok(Math.abs(r.bic - (-2 * r.logLikelihood + Math.log(400) * n)) < 1e-9);
  assert.equal(r.smoothedProbabilities.length, 400);
  assert.equal(r.filteredProbabilities.length, 400);
  for (const rows of [r.smoothedProbabilities, r.filteredProbabilities]) {
    for (const p of rows) assert.ok(Math.abs(p[0]! + p[1]! - 1) < 1e-9);
  }
  // Progress: starts at 0, never goes backwards, ends at 1.
  assert.equal(progress[0]![0], 0);
  assert.equal(progress.at(-1)![0], 1);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i]![0] >= progress[i - 1]![0]);
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(r)));
});

test('deterministic for a seed, whatever the number of workers; another seed draws other starts', async () => {
  const base = { y: simulated(300, 5), k: 3, starts: 3 };
  const a = await fitModel(input({ ...base, seed: 9 }), { workers: 1 });
  const b = await fitModel(input({ ...base, seed: 9 }), { workers: 2 });
  assert.deepEqual(withoutTimes(a), withoutTimes(b));
  const c = await fitModel(input({ ...base, seed: 10 }), { workers: 2 });
  assert.notDeepEqual(
    c.starts.map((s) => s.seed),
    a.starts.map((s) => s.seed),
  );
});

test('common coefficients and common variance variants run and label regimes by variance', async () => {
  const y = simulated(300, 21).map((v, t) => v + 0.1 * (t % 7));
  const r = await fitModel(
    input({ y, exog: y.map((_, t) => [t % 7]), k: 2, switchingCoefficients: false, starts: 2, seed: 1 }),
    { workers: 1 },
  );
  assert.deepEqual(r.regimes[0]!.coefficients, r.regimes[1]!.coefficients);
  assert.ok(r.regimes[0]!.sigma2 <= r.regimes[1]!.sigma2);
  assert.equal(r.parameterCount, 2 + 2 + 2);
  const s = await fitModel(input({ y, k: 2, switchingVariance: false, starts: 2, seed: 1 }), { workers: 1 });
  assert.equal(s.regimes[0]!.sigma2, s.regimes[1]!.sigma2);
  assert.ok(s.regimes[0]!.coefficients[0]! < s.regimes[1]!.coefficients[0]!);
});

test('aborting rejects with AbortError (already aborted, and mid-fit)', async () => {
  const fit = input({ y: simulated(20_000, 7), k: 3, starts: 8, seed: 1, maxIterations: 5000 });
  await assert.rejects(fitModel(fit, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  const controller = new AbortController();
  let progressed = false;
  const promise = fitModel(fit, {
    workers: 1,
    signal: controller.signal,
    onProgress: (f) => {
      if (f > 0 && !progressed) {
        progressed = true;
        controller.abort();
      }
    },
  });
  await assert.rejects(promise, { name: 'AbortError' });
  assert.ok(progressed);
  // The aborted fit's threads were terminated, not pooled: the next fit runs normally.
  const after = await fitModel(input({ y: simulated(200, 2), k: 2, starts: 2, seed: 1 }), { workers: 2 });
  assert.ok(Number.isFinite(after.logLikelihood));
});

test('pooled threads are reused across fits and give the same answer as fresh ones', async () => {
  const fit = input({ y: simulated(250, 12), k: 2, starts: 3, seed: 2 });
  const warm = await fitModel(fit, { workers: 2 });
  await shutdownModelWorkers();
  const fresh = await fitModel(fit, { workers: 2 });
  assert.deepEqual(withoutTimes(warm), withoutTimes(fresh));
  await shutdownModelWorkers();
});

/** Minimal XML well-formedness: every element closed in order, attributes quoted, no stray '<' or '&'. */
function assertWellFormed(xml: string): string[] {
  const stack: string[] = [];
  const names: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    assert.ok(!/&(?!amp;|lt;|gt;|quot;)/.test(text), `unescaped & near ${text.slice(0, 40)}`);
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    assert.ok(m, `malformed tag at ${xml.slice(lt, lt + 60)}`);
    const [, close, name, , selfClose] = m;
    if (close) assert.equal(stack.pop(), name);
    else if (!selfClose) stack.push(name!);
    names.push(name!);
    i = tag.lastIndex;
  }
  assert.deepEqual(stack, []);
  return names;
}

test('renderChartSvg draws the series and stacked smoothed probabilities, self-contained', async () => {
  const fit = input({ y: simulated(250, 3), k: 2, starts: 2, seed: 1 });
  const r = await fitModel(fit, { workers: 1 });
  const svg = renderChartSvg(fit, r);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const names = assertWellFormed(svg.trim());
  assert.equal(names.filter((n) => n === 'polygon').length, 2, 'one probability area per regime');
  assert.equal(names.filter((n) => n === 'polyline').length, 1, 'the series');
  assert.ok(names.includes('text'));
  assert.ok(!/NaN|Infinity|undefined/.test(svg));
  assert.ok(!/(href|url\(|<script|<image)/i.test(svg), 'no external assets');
  assert.match(svg, /regime 0/);
  assert.match(svg, /regime 1/);
  // Long series are bucketed: the SVG stays small.
  const long = input({ y: simulated(50_000, 4), k: 2 });
  const fake: FitResult = { ...r, nobs: 50_000, smoothedProbabilities: long.y.map(() => [0.25, 0.75]) };
  const big = renderChartSvg(long, fake);
  assertWellFormed(big.trim());
  assert.ok(big.length < 250_000, `chart of 50,000 points is ${big.length} bytes`);
});

test('CLI: prints the result JSON, writes the chart, exits 2 with field errors on bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'model-cli-'));
  try {
    const good = join(dir, 'in.json');
    writeFileSync(good, JSON.stringify({ y: simulated(200, 8), k: 2, starts: 2, seed: 4 }));
    const chart = join(dir, 'chart.svg');
    const cli = join(root, 'batch-image', 'src', 'fit-cli.ts');
    const ok = spawnSync(process.execPath, ['--import', 'tsx', cli, good, '--chart', chart, '--workers', '1'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(ok.status, 0, ok.stderr);
    const out = JSON.parse(ok.stdout) as FitResult;
    assert.equal(out.k, 2);
    assert.ok(Number.isFinite(out.logLikelihood));
    assert.match(ok.stderr, /100%/);
    assert.match(readFileSync(chart, 'utf8'), /^<svg/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ y: [1, 2, 'x'], k: 9 }));
    const fail = spawnSync(process.execPath, ['--import', 'tsx', cli, bad], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(fail.status, 2);
    assert.equal(fail.stdout, '');
    const fieldsReported = (JSON.parse(fail.stderr) as { error: { details: { field: string }[] } }).error.details.map(
      (d) => d.field,
    );
    assert.ok(fieldsReported.includes('k') && fieldsReported.includes('y[2]'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('invariant to the location and scale of the data (standardization is undone exactly)', async () => {
  const y = simulated(300, 31);
  const x = y.map((_, t) => Math.cos(t / 3) * 10 + 50);
  const a = await fitModel(input({ y, exog: x.map((v) => [v]), k: 2, starts: 3, seed: 4 }), { workers: 1 });
  const shift = 1e6;
  const scale = 1000;
  const b = await fitModel(
    input({ y: y.map((v) => v * scale + shift), exog: x.map((v) => [v / 100]), k: 2, starts: 3, seed: 4 }),
    { workers: 1 },
  );
  const close = (u: number, v: number, tol: number, what: string): void =>
    assert.ok(Math.abs(u - v) <= tol * Math.max(1, Math.abs(v)), `${what}: ${u} vs ${v}`);
  close(b.logLikelihood, a.logLikelihood - 300 * Math.log(scale), 1e-8, 'log-likelihood');
  for (let j = 0; j < 2; j++) {
    const ra = a.regimes[j]!;
    const rb = b.regimes[j]!;
    // Estimates agree to a small fraction of their standard errors (both fits stop at a tolerance).
    const within = (u: number, v: number, se: number, what: string): void =>
      assert.ok(Math.abs(u - v) <= 1e-3 * se, `${what}: ${u} vs ${v} (s.e. ${se})`);
    within(rb.coefficients[0]!, ra.coefficients[0]! * scale + shift, rb.standardErrors[0]!, `constant ${j}`);
    within(rb.coefficients[1]!, ra.coefficients[1]! * scale * 100, rb.standardErrors[1]!, `slope ${j}`);
    within(rb.sigma2, ra.sigma2 * scale * scale, rb.sigma2StandardError!, `sigma2 ${j}`);
    close(rb.standardErrors[1]!, ra.standardErrors[1]! * scale * 100, 1e-3, `s.e. slope ${j}`);
    close(rb.sigma2StandardError!, ra.sigma2StandardError! * scale * scale, 1e-3, `s.e. sigma2 ${j}`);
    close(rb.tStatistics[1]!, ra.tStatistics[1]!, 1e-3, `t slope ${j}`);
    close(rb.standardErrors[0]!, ra.standardErrors[0]! * scale, 1e-3, `s.e. constant ${j}`);
    for (let l = 0; l < 2; l++) close(b.transitionMatrix[j]![l]!, a.transitionMatrix[j]![l]!, 1e-6, `p[${j}->${l}]`);
  }
});
