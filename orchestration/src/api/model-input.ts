// The default model's rules that a JSON Schema cannot say (kept in step with
// batch-image/src/model/parse-input.ts, which remains the authority at /start): enough observations
// for the parameters, a series that varies, and something that switches. Checked at submit so that a
// bad input is a 400 now rather than a failed job a minute later.
import type { FieldProblem } from '../errors';

interface ModelInput {
  y: number[];
  exog?: number[][];
  k: number;
  trend?: 'c' | 'n';
  switchingVariance?: boolean;
  switchingCoefficients?: boolean;
}

export function parameterCount(
  k: number,
  regressors: number,
  switchingCoefficients: boolean,
  switchingVariance: boolean,
): number {
  return k * (k - 1) + (switchingCoefficients ? k : 1) * regressors + (switchingVariance ? k : 1);
}

/** Problems of a schema-valid model input (fields prefixed `input.`). */
export function checkModelInput(input: ModelInput): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const trend = input.trend ?? 'c';
  const switchingVariance = input.switchingVariance ?? true;
  const switchingCoefficients = input.switchingCoefficients ?? true;
  if (input.exog) {
    if (input.exog.length !== input.y.length)
      problems.push({
        field: 'input.exog',
        message: `has ${input.exog.length} rows but y has ${input.y.length} observations; give one row per observation`,
      });
    const width = input.exog[0]?.length ?? 0;
    input.exog.forEach((row, i) => {
      if (row.length !== width && problems.length < 20)
        problems.push({ field: `input.exog[${i}]`, message: `has ${row.length} columns; every row needs ${width}` });
    });
  }
  const regressors = (trend === 'c' ? 1 : 0) + (input.exog?.[0]?.length ?? 0);
  if (regressors === 0 && !input.exog && !switchingVariance) {
    problems.push({
      field: 'input.switchingVariance',
      message:
        'with trend "n" and no exog only the variance can switch; set switchingVariance to true, trend to "c", or give exog',
    });
  }
  if (!switchingCoefficients && !switchingVariance) {
    problems.push({
      field: 'input.switchingCoefficients',
      message: 'nothing would differ between regimes; set switchingCoefficients or switchingVariance to true',
    });
  }
  const n = parameterCount(input.k, regressors, switchingCoefficients, switchingVariance);
  const minimum = Math.max(20, 5 * n);
  if (input.y.length < minimum) {
    problems.push({
      field: 'input.y',
      message: `has ${input.y.length} observations; this model has ${n} parameters and needs at least ${minimum} (5 per parameter, at least 20)`,
    });
  } else if (input.y.every((v) => v === input.y[0])) {
    problems.push({ field: 'input.y', message: 'is constant; a regression needs a series that varies' });
  }
  return problems;
}
