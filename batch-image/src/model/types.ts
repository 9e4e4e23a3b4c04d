// Public types of the default batch model (Markov-switching regression). The agent and the CLI
// code against these; they are also the JSON shapes of the input and the result.

export type Trend = 'c' | 'n';

/** Validated input of one fit (see parseFitInput for the rules and defaults). */
export interface FitInput {
  y: number[];
  /** One row per observation; columns are the regressors after the constant. */
  exog?: number[][];
  k: number;
  trend: Trend;
  switchingVariance: boolean;
  switchingCoefficients: boolean;
  starts: number;
  seed: number;
  maxIterations: number;
  tolerance: number;
}

export interface FieldError {
  field: string;
  message: string;
}

export type ParseResult = { ok: true; value: FitInput } | { ok: false; errors: FieldError[] };

export interface FitOptions {
  onProgress?: (fraction: number, message: string) => void;
  signal?: AbortSignal;
  /** Worker threads to use; default: the CPUs this container really has (cgroup quota aware). */
  workers?: number;
  /**
   * This fit's task in a job array (ACI_BATCH_TASK_INDEX / _COUNT): task i runs starts number
   * i·starts … i·starts + starts − 1 of the seed's one sequence, so the tasks of an array explore
   * different starts and together the starts of one fit with count·starts starts.
   */
  task?: { index: number; count: number };
}

/** Why a fit is suspect (usable) or unusable; see diagnostics.ts for the rules. */
export interface FitWarning {
  code:
    | 'RegimeCollapsed'
    | 'VarianceCollapsed'
    | 'LikelihoodNotFinite'
    | 'SmallRegime'
    | 'NearlyCollapsedVariance'
    | 'NotConverged'
    | 'StandardErrorsUnavailable';
  /** Index into regimes, when the warning is about one. */
  regime?: number;
  message: string;
  /** True when this makes the estimate unusable (then `usable` is false and the job fails). */
  fatal: boolean;
}

export interface RegimeResult {
  /** Constant first (trend "c"), then the exog columns. */
  coefficients: number[];
  /** null where the numerical Hessian gives no finite standard error. */
  standardErrors: (number | null)[];
  tStatistics: (number | null)[];
  sigma2: number;
  sigma2StandardError: number | null;
  /** 1 / (1 - p[i->i]) observations. */
  expectedDuration: number;
}

export interface StartReport {
  seed: number;
  logLikelihood: number;
  iterations: number;
  converged: boolean;
  seconds: number;
  /** A regime ended with (almost) no observations or a collapsed variance; such a start only wins if all are. */
  degenerate: boolean;
  /** The start's number across the job array (= its index in starts without one); 0 is the default start. */
  globalIndex: number;
}

export interface FitResult {
  model: 'markov-switching-regression';
  k: number;
  nobs: number;
  trend: Trend;
  switchingVariance: boolean;
  switchingCoefficients: boolean;
  logLikelihood: number;
  aic: number;
  bic: number;
  /** Number of free parameters used in AIC/BIC. */
  parameterCount: number;
  regimes: RegimeResult[];
  /** Row i = from regime i, column j = to regime j; rows sum to 1. */
  transitionMatrix: number[][];
  /** Standard errors of transitionMatrix entries (the last column is implied, so its errors are derived). */
  transitionStandardErrors: (number | null)[][];
  /** T × k: Pr[S_t = j | y_1..y_t]. */
  filteredProbabilities: number[][];
  /** T × k: Pr[S_t = j | y_1..y_T]. */
  smoothedProbabilities: number[][];
  starts: StartReport[];
  /** Index into starts of the winning start. */
  bestStart: number;
  converged: boolean;
  /** False when the estimate is degenerate (a fatal warning): the agent then fails the job with DegenerateFit. */
  usable: boolean;
  /** Diagnostics of the winning estimate, fatal or not; empty for a clean fit. */
  warnings: FitWarning[];
  /** The job-array task this fit was (null outside an array). */
  task: { index: number; count: number } | null;
  elapsedSeconds: number;
  workers: number;
}
