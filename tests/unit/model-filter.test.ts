// The numerical core of the default model, checked against brute force: the Hamilton filter's
// likelihood and the Kim smoother's marginals equal sums over every regime path of a short series;
// the analytic score equals finite differences; an EM step never lowers the likelihood.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MsrModel, type MsrParams } from '../../batch-image/src/model/msr-model';
import { symmetricEigen, symmetricPinv, solveInPlace } from '../../batch-image/src/model/linalg';
import { isDegenerate } from '../../batch-image/src/model/estimate';
import { chooseBest } from '../../batch-image/src/model/fit';

const Y = [0.3, 2.1, 1.7, -0.4, 0.2, 2.5];
const X1 = [1.0, -0.5, 0.2, 0.8, -1.1, 0.4];

function model(
  k: number,
  opts: { switchingVariance?: boolean; switchingCoefficients?: boolean; exog?: boolean } = {},
): MsrModel {
  return new MsrModel({
    y: Y,
    ...(opts.exog ? { exog: X1.map((x) => [x]) } : {}),
    k,
    trend: 'c',
    switchingVariance: opts.switchingVariance ?? true,
    switchingCoefficients: opts.switchingCoefficients ?? true,
  });
}

function params2(m: MsrModel): MsrParams {
  const p = m.newParams();
  p.transition.set([0.8, 0.2, 0.3, 0.7]);
  if (m.p === 1) p.beta.set([0.1, 2.0]);
  else p.beta.set([0.1, 0.5, 2.0, -0.3]);
  p.sigma2.set([0.5, 0.9]);
  return p;
}

function density(y: number, mu: number, s2: number): number {
  return Math.exp((-0.5 * (y - mu) ** 2) / s2) / Math.sqrt(2 * Math.PI * s2);
}

/** Σ over all k^T paths of π(s_0) Π P(s_{t-1}, s_t) Π f(y_t | s_t): the likelihood by definition. */
function bruteForce(m: MsrModel, p: MsrParams): { likelihood: number; marginals: number[][] } {
  const { k, T } = m;
  const P = p.transition;
  // Ergodic distribution for k = 2: π_0 = p10 / (p01 + p10).
  const pi = k === 2 ? [P[2]! / (P[1]! + P[2]!), P[1]! / (P[1]! + P[2]!)] : [];
  let likelihood = 0;
  const marginals = Array.from({ length: T }, () => new Array<number>(k).fill(0));
  const path = new Array<number>(T).fill(0);
  for (let code = 0; code < k ** T; code++) {
    let c = code;
    for (let t = 0; t < T; t++) {
      path[t] = c % k;
      c = Math.floor(c / k);
    }
    let w = pi[path[0]!]!;
    for (let t = 0; t < T; t++) {
      const s = path[t]!;
      if (t > 0) w *= P[path[t - 1]! * k + s]!;
      let mu = 0;
      for (let j = 0; j < m.p; j++) mu += m.X[t * m.p + j]! * p.beta[s * m.p + j]!;
      w *= density(Y[t]!, mu, p.sigma2[s]!);
    }
    likelihood += w;
    for (let t = 0; t < T; t++) marginals[t]![path[t]!]! += w;
  }
  return { likelihood, marginals: marginals.map((row) => row.map((v) => v / likelihood)) };
}

test('Hamilton filter log-likelihood equals the brute-force sum over all regime paths', () => {
  for (const exog of [false, true]) {
    const m = model(2, { exog });
    const p = params2(m);
    const ll = m.filter(p, true);
    const { likelihood } = bruteForce(m, p);
    assert.ok(Math.abs(ll - Math.log(likelihood)) < 1e-12, `${ll} vs ${Math.log(likelihood)}`);
  }
});

test('first filtered probability is the ergodic prior updated by the first observation (by hand)', () => {
  const m = model(2);
  const p = params2(m);
  m.filter(p, true);
  // π = (0.3/0.5, 0.2/0.5) = (0.6, 0.4).
  const a = 0.6 * density(0.3, 0.1, 0.5);
  const b = 0.4 * density(0.3, 2.0, 0.9);
  assert.ok(Math.abs(m.filtered[0]! - a / (a + b)) < 1e-14);
  assert.ok(Math.abs(m.predicted[0]! - 0.6) < 1e-14);
  // Next prediction: filtered_0' P.
  const f0 = a / (a + b);
  assert.ok(Math.abs(m.predicted[2]! - (f0 * 0.8 + (1 - f0) * 0.3)) < 1e-14);
});

test('Kim smoother marginals equal brute-force posteriors and sum to one', () => {
  const m = model(2, { exog: true });
  const p = params2(m);
  m.filter(p, true);
  m.smooth(p);
  const { marginals } = bruteForce(m, p);
  for (let t = 0; t < m.T; t++) {
    let s = 0;
    for (let j = 0; j < 2; j++) {
      s += m.smoothed[t * 2 + j]!;
      assert.ok(Math.abs(m.smoothed[t * 2 + j]! - marginals[t]![j]!) < 1e-12, `t=${t} j=${j}`);
    }
    assert.ok(Math.abs(s - 1) < 1e-12);
  }
  // Smoothed transitions out of each regime add up to the smoothed time spent there (t < T-1).
  for (let i = 0; i < 2; i++) {
    let counts = 0;
    for (let j = 0; j < 2; j++) counts += m.transitionCounts[i * 2 + j]!;
    let time = 0;
    for (let t = 0; t < m.T - 1; t++) time += m.smoothed[t * 2 + i]!;
    assert.ok(Math.abs(counts - time) < 1e-12);
  }
});

test('filter is stable on a long series where probabilities underflow without scaling', () => {
  const T = 50_000;
  const y = Array.from({ length: T }, (_, t) => (Math.floor(t / 500) % 2 ? 3 : 0) + Math.sin(t * 12.9898) * 0.5);
  const m = new MsrModel({ y, k: 3, trend: 'c', switchingVariance: true, switchingCoefficients: true });
  const p = m.newParams();
  p.transition.set([0.98, 0.01, 0.01, 0.01, 0.98, 0.01, 0.01, 0.01, 0.98]);
  p.beta.set([0, 1.5, 3]);
  p.sigma2.set([0.1, 1, 0.1]);
  const ll = m.filter(p, true);
  assert.ok(Number.isFinite(ll) && ll < 0);
  m.smooth(p);
  for (const t of [0, 1234, T - 1]) {
    const s = m.smoothed[t * 3]! + m.smoothed[t * 3 + 1]! + m.smoothed[t * 3 + 2]!;
    assert.ok(Math.abs(s - 1) < 1e-9);
  }
});

for (const variant of [
  { k: 2, switchingVariance: true, switchingCoefficients: true, exog: true },
  { k: 3, switchingVariance: false, switchingCoefficients: true, exog: false },
  { k: 3, switchingVariance: true, switchingCoefficients: false, exog: true },
]) {
  test(`analytic score equals central differences (${JSON.stringify(variant)})`, () => {
    const m = model(variant.k, variant);
    const p = m.newParams();
    const k = variant.k;
    p.transition.set(k === 2 ? [0.8, 0.2, 0.35, 0.65] : [0.7, 0.2, 0.1, 0.15, 0.6, 0.25, 0.3, 0.1, 0.6]);
    for (let j = 0; j < k; j++)
      for (let c = 0; c < m.p; c++) p.beta[j * m.p + c] = (variant.switchingCoefficients ? j : 0) + 0.3 * c + 0.1;
    for (let j = 0; j < k; j++) p.sigma2[j] = variant.switchingVariance ? 0.4 + 0.3 * j : 0.6;
    const theta = new Float64Array(m.nTheta);
    m.toTheta(p, theta);
    const grad = new Float64Array(m.nTheta);
    m.logLikelihoodAndGradient(p, grad);
    const work = m.newParams();
    const ll = (x: Float64Array): number => {
      m.fromTheta(x, work);
      return m.filter(work, false);
    };
    for (let i = 0; i < m.nTheta; i++) {
      const h = 1e-6;
      const a = Float64Array.from(theta);
      a[i] = a[i]! + h;
      const b = Float64Array.from(theta);
      b[i] = b[i]! - h;
      const fd = (ll(a) - ll(b)) / (2 * h);
      assert.ok(
        Math.abs(fd - grad[i]!) < 1e-6 * Math.max(1, Math.abs(fd)),
        `θ[${i}]: analytic ${grad[i]} vs numeric ${fd}`,
      );
    }
  });
}

test('θ round-trips through the unconstrained parameterization', () => {
  const m = model(3, { exog: true });
  const p = m.newParams();
  p.transition.set([0.7, 0.2, 0.1, 0.05, 0.9, 0.05, 0.3, 0.3, 0.4]);
  p.beta.set([1, 2, 3, 4, 5, 6]);
  p.sigma2.set([0.1, 1, 10]);
  const theta = new Float64Array(m.nTheta);
  m.toTheta(p, theta);
  const q = m.newParams();
  m.fromTheta(theta, q);
  for (const key of ['transition', 'beta', 'sigma2'] as const) {
    p[key].forEach((v, i) => assert.ok(Math.abs(v - q[key][i]!) < 1e-12, `${key}[${i}]`));
  }
});

test('EM steps never decrease the likelihood', () => {
  const y = Array.from({ length: 200 }, (_, t) => (Math.floor(t / 25) % 2 ? 2 : 0) + Math.sin(t * 7.31) * 0.8);
  const m = new MsrModel({ y, k: 2, trend: 'c', switchingVariance: true, switchingCoefficients: true });
  let p = m.newParams();
  p.transition.set([0.6, 0.4, 0.4, 0.6]);
  p.beta.set([0.5, 1.0]);
  p.sigma2.set([1, 1]);
  let next = m.newParams();
  let ll = m.filter(p, true);
  for (let i = 0; i < 30; i++) {
    m.smooth(p);
    m.emStep(p, next);
    const llNext = m.filter(next, true);
    assert.ok(llNext >= ll - 1e-9, `iteration ${i}: ${llNext} < ${ll}`);
    ll = llNext;
    [p, next] = [next, p];
  }
  assert.ok(Math.abs(p.beta[0]! - p.beta[1]!) > 1.5, 'EM should separate the two means');
});

test('invalid parameters give −Infinity, not NaN', () => {
  const m = model(2);
  const p = params2(m);
  p.sigma2[1] = 0;
  assert.equal(m.filter(p, false), -Infinity);
});

test('linear algebra: solve, symmetric eigen-decomposition and pseudo-inverse', () => {
  const a = Float64Array.from([4, 1, 2, 1, 3, 0, 2, 0, 5]);
  const b = Float64Array.from([1, 2, 3]);
  assert.ok(solveInPlace(Float64Array.from(a), b, 3));
  const back = [0, 1, 2].map((i) => a[i * 3]! * b[0]! + a[i * 3 + 1]! * b[1]! + a[i * 3 + 2]! * b[2]!);
  back.forEach((v, i) => assert.ok(Math.abs(v - [1, 2, 3][i]!) < 1e-12));
  assert.equal(solveInPlace(Float64Array.from([1, 2, 2, 4]), Float64Array.from([1, 1]), 2), false);
  const { values, vectors } = symmetricEigen(a, 3);
  for (let e = 0; e < 3; e++) {
    for (let i = 0; i < 3; i++) {
      let av = 0;
      for (let j = 0; j < 3; j++) av += a[i * 3 + j]! * vectors[j * 3 + e]!;
      assert.ok(Math.abs(av - values[e]! * vectors[i * 3 + e]!) < 1e-10);
    }
  }
  const inv = symmetricPinv(a, 3);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let l = 0; l < 3; l++) s += a[i * 3 + l]! * inv[l * 3 + j]!;
      assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-12);
    }
  // Singular: pinv of [[1,1],[1,1]] is [[.25,.25],[.25,.25]].
  const sing = symmetricPinv(Float64Array.from([1, 1, 1, 1]), 2);
  sing.forEach((v) => assert.ok(Math.abs(v - 0.25) < 1e-12));
});

test('a regime sitting on one observation with a collapsed variance is flagged degenerate', () => {
  const y = Array.from({ length: 100 }, (_, t) => Math.sin(t * 3.1) + (t === 50 ? 7 : 0));
  const m = new MsrModel({ y, k: 2, trend: 'c', switchingVariance: true, switchingCoefficients: true });
  const spike = m.newParams();
  spike.transition.set([0.99, 0.01, 0.99, 0.01]);
  spike.beta.set([0, y[50]!]);
  spike.sigma2.set([0.5, 1e-9 * m.varianceY]);
  assert.ok(
    m.filter(spike, false) > m.filter({ ...spike, sigma2: Float64Array.from([0.5, 0.5]) }, false),
    'the spike has the higher likelihood',
  );
  assert.equal(isDegenerate(m, spike), true);
  const proper = m.newParams();
  proper.transition.set([0.9, 0.1, 0.1, 0.9]);
  proper.beta.set([-0.5, 0.5]);
  proper.sigma2.set([0.3, 0.3]);
  assert.equal(isDegenerate(m, proper), false);
});

test('the best start is the highest proper log-likelihood, ties to the lower index', () => {
  assert.equal(
    chooseBest([
      { logLikelihood: -10, degenerate: false },
      { logLikelihood: -5, degenerate: false },
      { logLikelihood: -5, degenerate: false },
    ]),
    1,
  );
  assert.equal(
    chooseBest([
      { logLikelihood: -10, degenerate: false },
      { logLikelihood: 50, degenerate: true },
    ]),
    0,
  );
  assert.equal(
    chooseBest([
      { logLikelihood: Number.NaN, degenerate: false },
      { logLikelihood: -3, degenerate: false },
    ]),
    1,
  );
  assert.equal(
    chooseBest([
      { logLikelihood: 5, degenerate: true },
      { logLikelihood: 9, degenerate: true },
    ]),
    1,
  );
});
