// Validation of a fit request: every problem is reported at once, each with the field it concerns
// (relative to the input: `y[3]`, `exog[2][1]`, `k`) and a message that says how to fix it.
import type { FieldError, FitInput, ParseResult, Trend } from './types';

export const DEFAULT_STARTS = 8;
export const MAX_STARTS = 64;
export const DEFAULT_SEED = 1;
export const DEFAULT_MAX_ITERATIONS = 500;
export const DEFAULT_TOLERANCE = 1e-8;
/** At most this many observations, to bound memory (the T × k probability arrays) and time. */
export const MAX_OBSERVATIONS = 200_000;
const MAX_REPORTED_ERRORS = 20;

const KNOWN_FIELDS = new Set([
  'y',
  'exog',
  'k',
  'trend',
  'switchingVariance',
  'switchingCoefficients',
  'starts',
  'seed',
  'maxIterations',
  'tolerance',
]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Number of free parameters of the model (transition probabilities, coefficients, variances). */
export function parameterCount(
  k: number,
  regressors: number,
  switchingCoefficients: boolean,
  switchingVariance: boolean,
): number {
  return k * (k - 1) + (switchingCoefficients ? k : 1) * regressors + (switchingVariance ? k : 1);
}

/**
 * Index of the first exog column that is linearly dependent on the constant (if any) and the columns
 * before it, or null. Gram–Schmidt on the columns with a relative tolerance.
 */
function firstDependentColumn(exog: number[][], constant: boolean): number | null {
  const T = exog.length;
  const width = exog[0]?.length ?? 0;
  const basis: Float64Array[] = [];
  if (constant) basis.push(new Float64Array(T).fill(1 / Math.sqrt(T)));
  for (let c = 0; c < width; c++) {
    const v = new Float64Array(T);
    let norm0 = 0;
    for (let t = 0; t < T; t++) {
      v[t] = exog[t]![c]!;
      norm0 += v[t]! * v[t]!;
    }
    // Twice for numerical orthogonality.
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        let dot = 0;
        for (let t = 0; t < T; t++) dot += v[t]! * b[t]!;
        for (let t = 0; t < T; t++) v[t] = v[t]! - dot * b[t]!;
      }
    }
    let norm = 0;
    for (let t = 0; t < T; t++) norm += v[t]! * v[t]!;
    if (norm0 === 0 || norm <= 1e-20 * norm0) return c;
    const inv = 1 / Math.sqrt(norm);
    for (let t = 0; t < T; t++) v[t] = v[t]! * inv;
    basis.push(v);
  }
  return null;
}

export function parseFitInput(raw: unknown): ParseResult {
  const errors: FieldError[] = [];
  const add = (field: string, message: string): void => {
    if (errors.length < MAX_REPORTED_ERRORS) errors.push({ field, message });
  };
  if (!isRecord(raw)) {
    return { ok: false, errors: [{ field: '', message: 'the input must be a JSON object like {"y": [..], "k": 2}' }] };
  }
  for (const key of Object.keys(raw)) {
    if (!KNOWN_FIELDS.has(key)) add(key, `unknown field; allowed fields are ${[...KNOWN_FIELDS].join(', ')}`);
  }

  // y
  let y: number[] | undefined;
  if (!Array.isArray(raw.y)) {
    add('y', 'required: an array of finite numbers (the dependent series, oldest first)');
  } else if (raw.y.length > MAX_OBSERVATIONS) {
    add('y', `has ${raw.y.length} observations; at most ${MAX_OBSERVATIONS} are supported`);
  } else {
    let bad = false;
    raw.y.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        bad = true;
        add(
          `y[${i}]`,
          `must be a finite number, got ${JSON.stringify(v) ?? String(v)}; remove or impute missing values`,
        );
      }
    });
    if (!bad) y = raw.y as number[];
  }

  // k
  let k: number | undefined;
  if (raw.k === undefined) add('k', 'required: the number of regimes, an integer from 2 to 4');
  else if (typeof raw.k !== 'number' || !Number.isInteger(raw.k) || raw.k < 2 || raw.k > 4) {
    add('k', `must be an integer from 2 to 4, got ${JSON.stringify(raw.k)}`);
  } else k = raw.k;

  // trend
  let trend: Trend = 'c';
  if (raw.trend !== undefined) {
    if (raw.trend === 'c' || raw.trend === 'n') trend = raw.trend;
    else add('trend', `must be "c" (a constant, the default) or "n" (no constant), got ${JSON.stringify(raw.trend)}`);
  }

  const bool = (name: 'switchingVariance' | 'switchingCoefficients', dflt: boolean): boolean => {
    const v = raw[name];
    if (v === undefined) return dflt;
    if (typeof v === 'boolean') return v;
    add(name, `must be true or false, got ${JSON.stringify(v)}`);
    return dflt;
  };
  const switchingVariance = bool('switchingVariance', true);
  const switchingCoefficients = bool('switchingCoefficients', true);

  const int = (
    name: 'starts' | 'seed' | 'maxIterations',
    dflt: number,
    min: number,
    max: number,
    what: string,
  ): number => {
    const v = raw[name];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      add(name, `must be an integer from ${min} to ${max} (${what}), got ${JSON.stringify(v)}`);
      return dflt;
    }
    return v;
  };
  const starts = int('starts', DEFAULT_STARTS, 1, MAX_STARTS, 'the number of estimation starts');
  const seed = int('seed', DEFAULT_SEED, 0, 2 ** 32 - 1, 'the random seed of the starts');
  const maxIterations = int('maxIterations', DEFAULT_MAX_ITERATIONS, 1, 100_000, 'the iteration budget of each start');

  let tolerance = DEFAULT_TOLERANCE;
  if (raw.tolerance !== undefined) {
    if (
      typeof raw.tolerance !== 'number' ||
      !Number.isFinite(raw.tolerance) ||
      raw.tolerance <= 0 ||
      raw.tolerance > 0.1
    ) {
      add(
        'tolerance',
        `must be a number in (0, 0.1] (relative log-likelihood change at convergence), got ${JSON.stringify(raw.tolerance)}`,
      );
    } else tolerance = raw.tolerance;
  }

  // exog
  let exog: number[][] | undefined;
  if (raw.exog !== undefined) {
    if (!Array.isArray(raw.exog)) {
      add('exog', 'must be an array of rows (one row of regressors per observation), e.g. [[1.2], [0.7], ...]');
    } else {
      let bad = false;
      const width = Array.isArray(raw.exog[0]) ? (raw.exog[0] as unknown[]).length : -1;
      if (y && raw.exog.length !== y.length) {
        bad = true;
        add('exog', `has ${raw.exog.length} rows but y has ${y.length} observations; give one row per observation`);
      }
      if (width === 0) {
        bad = true;
        add('exog[0]', 'rows must have at least one column; omit exog for a model without regressors');
      }
      raw.exog.forEach((row, i) => {
        if (!Array.isArray(row)) {
          bad = true;
          add(`exog[${i}]`, 'must be an array of finite numbers (the regressors of observation ' + i + ')');
          return;
        }
        if (row.length !== width) {
          bad = true;
          add(`exog[${i}]`, `has ${row.length} columns but exog[0] has ${width}; every row needs the same columns`);
        }
        row.forEach((v, j) => {
          if (typeof v !== 'number' || !Number.isFinite(v)) {
            bad = true;
            add(`exog[${i}][${j}]`, `must be a finite number, got ${JSON.stringify(v) ?? String(v)}`);
          }
        });
      });
      if (!bad) exog = raw.exog as number[][];
    }
  }

  const regressors = (trend === 'c' ? 1 : 0) + (exog?.[0]?.length ?? 0);
  if (regressors === 0 && raw.exog === undefined && !switchingVariance) {
    add(
      'switchingVariance',
      'with trend "n" and no exog only the variance can switch; set switchingVariance to true, trend to "c", or give exog',
    );
  }
  if (!switchingCoefficients && !switchingVariance && errors.length === 0) {
    add(
      'switchingCoefficients',
      'nothing would differ between regimes; set switchingCoefficients or switchingVariance to true',
    );
  }
  if (y && k !== undefined) {
    const n = parameterCount(k, regressors, switchingCoefficients, switchingVariance);
    const minimum = Math.max(20, 5 * n);
    if (y.length < minimum) {
      add(
        'y',
        `has ${y.length} observations; this model has ${n} parameters and needs at least ${minimum} (5 per parameter, at least 20)`,
      );
    } else {
      let min = Infinity;
      let max = -Infinity;
      for (const v of y) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      if (min === max) add('y', 'is constant; a regression needs a series that varies');
    }
  }

  if (exog && errors.length === 0) {
    const dependent = firstDependentColumn(exog, trend === 'c');
    if (dependent !== null) {
      add(
        `exog[0][${dependent}]`,
        `column ${dependent} of exog is (nearly) a linear combination of ${trend === 'c' ? 'the constant and ' : ''}the columns before it, so its coefficient cannot be estimated; drop that column${trend === 'c' ? ' (and never include a column of ones: trend "c" adds the constant)' : ''}`,
      );
    }
  }

  if (errors.length > 0 || !y || k === undefined) return { ok: false, errors };
  const value: FitInput = {
    y,
    k,
    trend,
    switchingVariance,
    switchingCoefficients,
    starts,
    seed,
    maxIterations,
    tolerance,
  };
  if (exog) value.exog = exog;
  return { ok: true, value };
}
