// One estimation start (starting values → EM → BFGS on the exact likelihood) and the final
// summary of the winning start (canonical regime order, standard errors from a numerical Hessian,
// filtered/smoothed probabilities). Runs inside worker threads; pure computation, no I/O.
import { minimizeBfgs } from './bfgs';
import { symmetricPinv, solveInPlace } from './linalg';
import { MsrModel, type MsrParams } from './msr-model';
import { createNormal, createRng } from './rng';
import type { FitInput, FitResult, RegimeResult } from './types';

/** EM iterations before quasi-Newton takes over (EM is cheap per step but converges linearly). */
const EM_ITERATIONS = 10;
const EM_TOLERANCE = 1e-6;
/** Max |∂(mean log-likelihood)/∂θ| at which BFGS declares convergence (θ on the standardized scale). */
const GRADIENT_TOLERANCE = 1e-8;

/** Data are standardized before estimation (y by its s.d., each exog column by its s.d.). */
export interface Scaling {
  sy: number;
  /** Per regressor (1 for the constant). */
  sx: number[];
}

export interface ScaledModel {
  model: MsrModel;
  scaling: Scaling;
}

function sd(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m += values[i]!;
  m /= values.length;
  let v = 0;
  for (let i = 0; i < values.length; i++) v += (values[i]! - m) ** 2;
  const s = Math.sqrt(v / values.length);
  return s > 0 && Number.isFinite(s) ? s : 1;
}

export function buildScaledModel(input: FitInput): ScaledModel {
  const sy = sd(input.y);
  const nx = input.exog?.[0]?.length ?? 0;
  const colSd: number[] = [];
  for (let c = 0; c < nx; c++) {
    const col = input.exog!.map((row) => row[c]!);
    colSd.push(sd(col));
  }
  const scaled: FitInput = { ...input, y: input.y.map((v) => v / sy) };
  if (input.exog) scaled.exog = input.exog.map((row) => row.map((v, c) => v / colSd[c]!));
  const sx = [...(input.trend === 'c' ? [1] : []), ...colSd];
  return { model: new MsrModel(scaled), scaling: { sy, sx } };
}

/** Plain-array form of parameters, for messages between threads. */
export interface PlainParams {
  beta: number[];
  sigma2: number[];
  transition: number[];
}

export function toPlain(p: MsrParams): PlainParams {
  return { beta: Array.from(p.beta), sigma2: Array.from(p.sigma2), transition: Array.from(p.transition) };
}

export function fromPlain(p: PlainParams): MsrParams {
  return {
    beta: Float64Array.from(p.beta),
    sigma2: Float64Array.from(p.sigma2),
    transition: Float64Array.from(p.transition),
  };
}

function ols(model: MsrModel): { beta: Float64Array; variance: number } {
  const { T, p, X, y } = model;
  const xtx = new Float64Array(p * p);
  const xty = new Float64Array(p);
  for (let t = 0; t < T; t++) {
    for (let a = 0; a < p; a++) {
      xty[a] = xty[a]! + X[t * p + a]! * y[t]!;
      for (let b = 0; b < p; b++) xtx[a * p + b] = xtx[a * p + b]! + X[t * p + a]! * X[t * p + b]!;
    }
  }
  const beta = new Float64Array(p);
  if (p > 0 && solveInPlace(xtx, xty, p)) beta.set(xty);
  let v = 0;
  for (let t = 0; t < T; t++) {
    let mu = 0;
    for (let c = 0; c < p; c++) mu += X[t * p + c]! * beta[c]!;
    v += (y[t]! - mu) ** 2;
  }
  return { beta, variance: Math.max(v / T, model.varianceFloor * 100) };
}

/**
 * Starting values. Start 0 is statsmodels' default (equal transition probabilities, coefficients
 * interpolated between 0 and OLS, variances spread from var/10 to var); the others are random
 * perturbations around OLS drawn from the start's own seed.
 */
export function startingParams(model: MsrModel, index: number, seed: number): MsrParams {
  const { k, p } = model;
  const params = model.newParams();
  const { beta, variance } = ols(model);
  if (index === 0) {
    params.transition.fill(1 / k);
    for (let j = 0; j < k; j++) {
      for (let c = 0; c < p; c++) params.beta[j * p + c] = model.switchingCoefficients ? beta[c]! * (j / k) : beta[c]!;
      params.sigma2[j] = model.switchingVariance
        ? variance / 10 + ((variance - variance / 10) * j) / (k - 1)
        : variance;
    }
    return params;
  }
  const uniform = createRng(seed);
  const normal = createNormal(uniform);
  const sdResid = Math.sqrt(variance);
  for (let i = 0; i < k; i++) {
    const stay = 0.5 + 0.48 * uniform();
    const rest = new Float64Array(k);
    let rs = 0;
    for (let j = 0; j < k; j++)
      if (j !== i) {
        rest[j] = 0.05 + uniform();
        rs += rest[j]!;
      }
    for (let j = 0; j < k; j++) params.transition[i * k + j] = j === i ? stay : ((1 - stay) * rest[j]!) / rs;
  }
  const common = new Float64Array(p);
  for (let c = 0; c < p; c++) common[c] = beta[c]! + 0.3 * normal() * (Math.abs(beta[c]!) + 0.1 * sdResid);
  for (let j = 0; j < k; j++) {
    for (let c = 0; c < p; c++) {
      params.beta[j * p + c] = model.switchingCoefficients
        ? beta[c]! + normal() * (c === 0 ? 1.5 * sdResid : 0.7 * (Math.abs(beta[c]!) + 0.5 * sdResid))
        : common[c]!;
    }
  }
  const commonVar = variance * Math.exp(-1 + 1.2 * uniform());
  for (let j = 0; j < k; j++)
    params.sigma2[j] = model.switchingVariance ? variance * Math.exp(-2 + 2.3 * uniform()) : commonVar;
  return params;
}

export interface StartOutcome {
  params: PlainParams;
  /** Log-likelihood of the standardized data (comparable across starts of one fit). */
  logLikelihood: number;
  iterations: number;
  converged: boolean;
  seconds: number;
  /** A regime holds fewer observations than it has coefficients + 1, or its variance collapsed. */
  degenerate: boolean;
}

/**
 * The Gaussian mixture likelihood is unbounded: a regime can sit on a handful of observations with
 * its variance shrinking to nothing. Such a start is reported but does not win against a proper one.
 */
export function isDegenerate(model: MsrModel, params: MsrParams): boolean {
  const { T, k, p } = model;
  if (!Number.isFinite(model.filter(params, true))) return true;
  model.smooth(params);
  for (let j = 0; j < k; j++) {
    let occupancy = 0;
    for (let t = 0; t < T; t++) occupancy += model.smoothed[t * k + j]!;
    if (occupancy < (model.switchingCoefficients ? p : 0) + 1) return true;
    if (params.sigma2[j]! < 1e-6 * model.varianceY) return true;
  }
  return false;
}

/** EM then BFGS from one start. progress(fraction) is called now and then with this start's progress. */
export function runStart(
  model: MsrModel,
  index: number,
  seed: number,
  maxIterations: number,
  tolerance: number,
  progress?: (fraction: number) => void,
): StartOutcome {
  const began = performance.now();
  let params = startingParams(model, index, seed);
  let next = model.newParams();
  let ll = model.filter(params, true);
  let iterations = 0;
  const emBudget = Math.min(EM_ITERATIONS, maxIterations);
  for (let it = 0; it < emBudget && Number.isFinite(ll); it++) {
    model.smooth(params);
    model.emStep(params, next);
    const llNext = model.filter(next, true);
    iterations++;
    if (!Number.isFinite(llNext)) break;
    [params, next] = [next, params];
    const change = Math.abs(llNext - ll) / Math.max(Math.abs(llNext), 1);
    ll = llNext;
    if (it % 10 === 9) progress?.((0.3 * it) / emBudget);
    if (change < EM_TOLERANCE) break;
  }
  progress?.(0.3);
  const theta = new Float64Array(model.nTheta);
  model.toTheta(params, theta);
  const work = model.newParams();
  const T = model.T;
  let calls = 0;
  const bfgsBudget = Math.max(1, maxIterations - iterations);
  const res = minimizeBfgs(
    (x, g) => {
      model.fromTheta(x, work);
      const value = model.logLikelihoodAndGradient(work, g);
      for (let i = 0; i < g.length; i++) g[i] = -g[i]! / T;
      if (++calls % 25 === 0) progress?.(Math.min(0.99, 0.3 + (0.7 * calls) / (3 * bfgsBudget + 25)));
      return Number.isFinite(value) ? -value / T : Infinity;
    },
    theta,
    { maxIterations: bfgsBudget, tolerance, gradientTolerance: GRADIENT_TOLERANCE },
  );
  const best = model.newParams();
  let logLikelihood: number;
  if (Number.isFinite(res.f)) {
    model.fromTheta(res.x, best);
    logLikelihood = -res.f * T;
  } else {
    best.beta.set(params.beta);
    best.sigma2.set(params.sigma2);
    best.transition.set(params.transition);
    logLikelihood = ll;
  }
  progress?.(1);
  return {
    params: toPlain(best),
    logLikelihood,
    iterations: iterations + res.iterations,
    converged: res.converged,
    seconds: (performance.now() - began) / 1000,
    degenerate: isDegenerate(model, best),
  };
}

/** What canonical labelling and the parameter count need to know about a model. */
export interface ModelShape {
  k: number;
  /** Regressors per regime (constant included). */
  p: number;
  switchingCoefficients: boolean;
  switchingVariance: boolean;
}

export function shapeOf(input: FitInput): ModelShape {
  return {
    k: input.k,
    p: (input.trend === 'c' ? 1 : 0) + (input.exog?.[0]?.length ?? 0),
    switchingCoefficients: input.switchingCoefficients,
    switchingVariance: input.switchingVariance,
  };
}

/** Length of θ (the unconstrained parameters), which is also the parameter count of AIC/BIC. */
export function thetaLength(shape: ModelShape): number {
  const { k, p } = shape;
  return k * (k - 1) + (shape.switchingCoefficients ? k : 1) * p + (shape.switchingVariance ? k : 1);
}

/** Permutation putting regimes in canonical order: ascending constant (or first coefficient), else ascending variance. */
export function canonicalOrder(shape: ModelShape, params: MsrParams): number[] {
  const { k, p } = shape;
  const order = Array.from({ length: k }, (_, j) => j);
  const key = (j: number): number[] => {
    const keys: number[] = [];
    if (shape.switchingCoefficients && p > 0) keys.push(params.beta[j * p]!);
    if (shape.switchingVariance) keys.push(params.sigma2[j]!);
    return keys;
  };
  order.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
    return a - b;
  });
  return order;
}

export function permuteParams(shape: ModelShape, params: MsrParams, order: number[]): MsrParams {
  const { k, p } = shape;
  const out: MsrParams = {
    beta: new Float64Array(k * p),
    sigma2: new Float64Array(k),
    transition: new Float64Array(k * k),
  };
  for (let a = 0; a < k; a++) {
    const src = order[a]!;
    for (let c = 0; c < p; c++) out.beta[a * p + c] = params.beta[src * p + c]!;
    out.sigma2[a] = params.sigma2[src]!;
    for (let b = 0; b < k; b++) out.transition[a * k + b] = params.transition[src * k + order[b]!]!;
  }
  return out;
}

/** The winning parameters relabelled in canonical order (done once, before the summary is split up). */
export function canonicalParams(shape: ModelShape, plain: PlainParams): PlainParams {
  const params = fromPlain(plain);
  return toPlain(permuteParams(shape, params, canonicalOrder(shape, params)));
}

/**
 * Columns of the Hessian of the log-likelihood in θ, by central differences of the exact score:
 * column i = (score(θ + h e_i) − score(θ − h e_i)) / 2h; null when the likelihood is not finite there.
 * Columns are independent, so fitModel spreads them over its workers.
 */
export function hessianColumns(model: MsrModel, plain: PlainParams, columns: number[]): (number[] | null)[] {
  const n = model.nTheta;
  const theta = new Float64Array(n);
  model.toTheta(fromPlain(plain), theta);
  const gp = new Float64Array(n);
  const gm = new Float64Array(n);
  const x = new Float64Array(n);
  const work = model.newParams();
  // An absolute step: θ is on the standardized scale, and a step relative to a large constant (a
  // series far from zero) would swamp its curvature. The score is exact, so rounding stays small.
  const h = 1e-5;
  return columns.map((i) => {
    x.set(theta);
    x[i] = theta[i]! + h;
    model.fromTheta(x, work);
    const a = model.logLikelihoodAndGradient(work, gp);
    x[i] = theta[i]! - h;
    model.fromTheta(x, work);
    const b = model.logLikelihoodAndGradient(work, gm);
    if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
    return Array.from({ length: n }, (_, j) => (gp[j]! - gm[j]!) / (2 * h));
  });
}

export type FitSummary = Omit<
  FitResult,
  'starts' | 'bestStart' | 'converged' | 'usable' | 'warnings' | 'task' | 'elapsedSeconds' | 'workers'
>;

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/**
 * Summary at the winning parameters (standardized scale, already in canonical order), given the
 * Hessian columns if they were computed elsewhere: log-likelihood and
 * information criteria on the original scale, standard errors by the delta method from the inverse
 * of a numerical Hessian (central differences of the exact score) — at the optimum this equals the
 * inverse Hessian in statsmodels' parameterization (p[i->j], coefficients, sigma2).
 */
export function summarize(
  input: FitInput,
  scaled: ScaledModel,
  canonical: PlainParams,
  hessian?: (number[] | null)[],
): FitSummary {
  const { model, scaling } = scaled;
  const { T, k, p } = model;
  const params = fromPlain(canonical);
  const n = model.nTheta;
  const columns =
    hessian ??
    hessianColumns(
      model,
      canonical,
      Array.from({ length: n }, (_, i) => i),
    );
  const hessianOk = columns.length === n && columns.every((c) => c !== null && c.length === n);
  const H = new Float64Array(n * n);
  if (hessianOk)
    columns.forEach((col, i) =>
      col!.forEach((v, j) => {
        H[j * n + i] = v;
      }),
    );
  const negH = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) negH[i * n + j] = -0.5 * (H[i * n + j]! + H[j * n + i]!);
  const cov = hessianOk ? symmetricPinv(negH, n) : new Float64Array(n * n).fill(NaN);
  const variance = (row: Float64Array): number => {
    let v = 0;
    for (let i = 0; i < n; i++) {
      if (row[i] === 0) continue;
      for (let j = 0; j < n; j++) if (row[j] !== 0) v += row[i]! * cov[i * n + j]! * row[j]!;
    }
    return v;
  };
  const se = (row: Float64Array): number | null => {
    const v = variance(row);
    return v >= 0 ? finiteOrNull(Math.sqrt(v)) : null;
  };

  // Filtered and smoothed probabilities at the optimum.
  const llScaled = model.filter(params, true);
  model.smooth(params);
  const filteredProbabilities: number[][] = [];
  const smoothedProbabilities: number[][] = [];
  for (let t = 0; t < T; t++) {
    filteredProbabilities.push(Array.from(model.filtered.subarray(t * k, t * k + k)));
    smoothedProbabilities.push(Array.from(model.smoothed.subarray(t * k, t * k + k)));
  }

  const transitionMatrix: number[][] = [];
  const transitionStandardErrors: (number | null)[][] = [];
  const row = new Float64Array(n);
  for (let i = 0; i < k; i++) {
    const probs: number[] = [];
    const ses: (number | null)[] = [];
    for (let l = 0; l < k; l++) {
      const pil = params.transition[i * k + l]!;
      probs.push(pil);
      row.fill(0);
      for (let m = 0; m < k - 1; m++) row[i * (k - 1) + m] = pil * ((l === m ? 1 : 0) - params.transition[i * k + m]!);
      ses.push(se(row));
    }
    transitionMatrix.push(probs);
    transitionStandardErrors.push(ses);
  }
  const betaOffset = k * (k - 1);
  const varOffset = betaOffset + (model.switchingCoefficients ? k : 1) * p;
  const regimes: RegimeResult[] = [];
  for (let j = 0; j < k; j++) {
    const coefficients: number[] = [];
    const standardErrors: (number | null)[] = [];
    const tStatistics: (number | null)[] = [];
    for (let c = 0; c < p; c++) {
      const factor = scaling.sy / scaling.sx[c]!;
      const value = params.beta[j * p + c]! * factor;
      row.fill(0);
      row[betaOffset + (model.switchingCoefficients ? j * p : 0) + c] = factor;
      const s = se(row);
      coefficients.push(value);
      standardErrors.push(s);
      tStatistics.push(s !== null && s > 0 ? value / s : null);
    }
    const sigma2 = params.sigma2[j]! * scaling.sy * scaling.sy;
    row.fill(0);
    row[varOffset + (model.switchingVariance ? j : 0)] = sigma2;
    const pjj = params.transition[j * k + j]!;
    regimes.push({
      coefficients,
      standardErrors,
      tStatistics,
      sigma2,
      sigma2StandardError: se(row),
      expectedDuration: pjj < 1 ? 1 / (1 - pjj) : Number.MAX_VALUE,
    });
  }
  const logLikelihood = llScaled - T * Math.log(scaling.sy);
  return {
    model: 'markov-switching-regression',
    k,
    nobs: T,
    trend: input.trend,
    switchingVariance: input.switchingVariance,
    switchingCoefficients: input.switchingCoefficients,
    logLikelihood,
    aic: -2 * logLikelihood + 2 * n,
    bic: -2 * logLikelihood + Math.log(T) * n,
    parameterCount: n,
    regimes,
    transitionMatrix,
    transitionStandardErrors,
    filteredProbabilities,
    smoothedProbabilities,
  };
}
