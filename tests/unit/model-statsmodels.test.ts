// Correctness of the default model against statsmodels' MarkovRegression: for every fixture written by
// scripts/statsmodels-reference.py (simulated series with known regimes and real series statsmodels
// ships), our fit must reach the same optimum — log-likelihood within 1e-4 relative, every parameter
// in statsmodels' params vector within 1e-3 (absolute, or relative for values above 1) after the best
// relabelling of regimes — and standard errors within 0.5% (looser: both sides differentiate numerically, statsmodels by complex step
// in the constrained parameters, we by central differences of the exact score in the unconstrained ones).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fitModel, parseFitInput, type FitResult } from '../../batch-image/src/model';

interface Fixture {
  name: string;
  input: Record<string, unknown>;
  reference: {
    logLikelihood: number;
    aic: number;
    bic: number;
    paramNames: string[];
    params: number[];
    bse: (number | null)[];
    transitionMatrix: number[][];
  };
}

const dir = join(__dirname, '..', 'fixtures', 'model');
const fixtures: Fixture[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture);

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  const out: number[][] = [];
  for (const rest of permutations(n - 1))
    for (let i = 0; i <= rest.length; i++) out.push([...rest.slice(0, i), n - 1, ...rest.slice(i)]);
  return out;
}

/**
 * Our estimate (and standard error) of each statsmodels parameter name, with statsmodels' regime r
 * taken to be our regime perm[r]. Names: p[i->j] (j < k-1), const[i] / x1[i] / const / x1, sigma2[i] / sigma2.
 */
function ours(result: FitResult, name: string, perm: number[], trend: string): { value: number; se: number | null } {
  const tp = /^p\[(\d+)->(\d+)\]$/.exec(name);
  if (tp) {
    const i = perm[Number(tp[1])]!;
    const j = perm[Number(tp[2])]!;
    return { value: result.transitionMatrix[i]![j]!, se: result.transitionStandardErrors[i]![j]! };
  }
  const m = /^(const|x(\d+)|sigma2)(?:\[(\d+)\])?$/.exec(name);
  assert.ok(m, `unexpected statsmodels parameter name ${name}`);
  const regime = perm[m[3] === undefined ? 0 : Number(m[3])]!;
  const r = result.regimes[regime]!;
  if (m[1] === 'sigma2') return { value: r.sigma2, se: r.sigma2StandardError };
  const c = m[1] === 'const' ? 0 : (trend === 'c' ? 1 : 0) + Number(m[2]) - 1;
  return { value: r.coefficients[c]!, se: r.standardErrors[c]! };
}

const paramError = (a: number, b: number): number => Math.abs(a - b) / Math.max(1, Math.abs(b));

assert.ok(fixtures.length >= 3, 'expected at least three statsmodels fixtures in tests/fixtures/model');

for (const fx of fixtures) {
  test(`matches statsmodels MarkovRegression on ${fx.name}`, async (t) => {
    const parsed = parseFitInput({ starts: 8, seed: 1, ...fx.input });
    assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
    const result = await fitModel(parsed.value, { workers: 2 });
    const ref = fx.reference;
    const llRel = Math.abs(result.logLikelihood - ref.logLikelihood) / Math.abs(ref.logLikelihood);
    assert.ok(
      llRel <= 1e-4,
      `log-likelihood ${result.logLikelihood} vs statsmodels ${ref.logLikelihood} (rel ${llRel})`,
    );

    // Same parameter count in the information criteria.
    assert.ok(Math.abs(result.aic - ref.aic) <= 1e-4 * Math.abs(ref.aic), `AIC ${result.aic} vs ${ref.aic}`);
    // Published fits are proper ones: the degenerate-fit rules must not flag any of them.
    assert.equal(result.usable, true);
    assert.deepEqual(result.warnings, []);
    assert.ok(Math.abs(result.bic - ref.bic) <= 1e-4 * Math.abs(ref.bic), `BIC ${result.bic} vs ${ref.bic}`);

    let best: { err: number; perm: number[] } | null = null;
    for (const perm of permutations(result.k)) {
      let err = 0;
      ref.paramNames.forEach((n, i) => {
        err = Math.max(err, paramError(ours(result, n, perm, parsed.value.trend).value, ref.params[i]!));
      });
      if (!best || err < best.err) best = { err, perm };
    }
    assert.ok(best);
    const detail = ref.paramNames
      .map((n, i) => `${n}: ${ours(result, n, best.perm, parsed.value.trend).value} vs ${ref.params[i]}`)
      .join('; ');
    assert.ok(best.err <= 1e-3, `max parameter error ${best.err} > 1e-3 (${detail})`);

    let seErr = 0;
    ref.paramNames.forEach((n, i) => {
      const se = ours(result, n, best.perm, parsed.value.trend).se;
      const refSe = ref.bse[i];
      if (refSe === null || refSe === undefined) return; // statsmodels has none (parameter on the boundary)
      assert.ok(se !== null, `no standard error for ${n}`);
      assert.ok(Math.abs(se - refSe) <= 5e-3 * refSe + 1e-8, `standard error of ${n}: ${se} vs statsmodels ${refSe}`);
      seErr = Math.max(seErr, Math.abs(se - refSe) / refSe);
    });
    t.diagnostic(
      `${fx.name}: log-likelihood ours − statsmodels ${(result.logLikelihood - ref.logLikelihood).toExponential(2)} (rel. ${llRel.toExponential(2)}), max parameter error ${best.err.toExponential(2)}, max s.e. rel. error ${seErr.toExponential(2)}`,
    );
  });
}
