// Is the winning estimate a real regime-switching fit, or a degenerate one? The Gaussian mixture
// likelihood is unbounded (Day 1969; Hamilton 1991, "A quasi-Bayesian approach to estimating
// parameters for mixtures of normal distributions", JBES 9(1)): a regime can sit on a few
// observations with its variance shrinking to nothing, and the likelihood grows without limit.
// Such a "fit" is a spurious maximizer (McLachlan & Peel 2000, Finite Mixture Models, §3.10), not an
// estimate: it is reported as unusable, and the agent fails the job with DegenerateFit. Milder signs
// are reported as warnings on a usable fit, as statsmodels warns on non-convergence
// (ConvergenceWarning) and on a Hessian it cannot invert.
import type { FitWarning } from './types';

/** A regime's variance below this fraction of var(y) has collapsed (the estimator's own rule for a start). */
export const COLLAPSED_VARIANCE_RATIO = 1e-6;
/**
 * Smallest to largest regime variance below this: nearly collapsed. Hathaway (1985, Ann. Statist.
 * 13(2) 795-800) bounds this ratio to make normal-mixture ML well posed; here it is a diagnostic.
 */
export const NEARLY_COLLAPSED_RATIO = 1e-3;
/** Expected observations per regime-specific parameter below which a regime is small (parse-input's rule: 5 per parameter). */
export const OBSERVATIONS_PER_PARAMETER = 5;

export interface FitFacts {
  k: number;
  /** Regressors per regime (constant included). */
  p: number;
  switchingCoefficients: boolean;
  switchingVariance: boolean;
  /** var(y), population, original scale. */
  varianceY: number;
  logLikelihood: number;
  converged: boolean;
  /** Σ_t Pr[S_t = j | y_1..y_T] per regime: its expected number of observations. */
  occupancy: number[];
  sigma2: number[];
  /** Regimes whose coefficient or variance standard errors the Hessian could not give. */
  regimesWithoutStandardErrors: number[];
}

/**
 * Rules (fatal → unusable):
 * - RegimeCollapsed (fatal): a regime expects fewer observations than its own coefficients + 1: its
 *   regression is not identified (the estimator's per-start rule).
 * - VarianceCollapsed (fatal): a regime's variance is below 1e-6 · var(y) (the estimator's rule).
 * - LikelihoodNotFinite (fatal).
 * - SmallRegime: fewer than 5 expected observations per regime-specific parameter.
 * - NearlyCollapsedVariance: smallest / largest regime variance below 1e-3 (switching variance only).
 * - NotConverged: the winning start stopped at its iteration budget.
 * - StandardErrorsUnavailable: some coefficient or variance has no standard error.
 * A short expected duration is not a rule: statsmodels' own absolute-returns example has a regime
 * lasting 1.47 observations on average, and it is a proper fit.
 */
export function assessFit(f: FitFacts): { usable: boolean; warnings: FitWarning[] } {
  const warnings: FitWarning[] = [];
  const own = (f.switchingCoefficients ? f.p : 0) + (f.switchingVariance ? 1 : 0);
  const fix = 'use fewer regimes (k), set switchingVariance to false, or check the data for repeated values';
  if (!Number.isFinite(f.logLikelihood)) {
    warnings.push({
      code: 'LikelihoodNotFinite',
      fatal: true,
      message: `the log-likelihood is ${f.logLikelihood}; ${fix}`,
    });
  }
  for (let j = 0; j < f.k; j++) {
    const n = f.occupancy[j] ?? 0;
    const s2 = f.sigma2[j] ?? 0;
    const needed = (f.switchingCoefficients ? f.p : 0) + 1;
    if (n < needed) {
      warnings.push({
        code: 'RegimeCollapsed',
        regime: j,
        fatal: true,
        message: `regime ${j} holds ${n.toFixed(2)} expected observations, fewer than the ${needed} its parameters need; ${fix}`,
      });
    } else if (n < OBSERVATIONS_PER_PARAMETER * Math.max(own, 1)) {
      warnings.push({
        code: 'SmallRegime',
        regime: j,
        fatal: false,
        message: `regime ${j} holds ${n.toFixed(1)} expected observations for ${Math.max(own, 1)} regime-specific parameter(s) (fewer than ${OBSERVATIONS_PER_PARAMETER} each): its estimates are imprecise`,
      });
    }
    if (!(s2 >= COLLAPSED_VARIANCE_RATIO * f.varianceY)) {
      warnings.push({
        code: 'VarianceCollapsed',
        regime: j,
        fatal: true,
        message: `regime ${j}'s variance ${s2.toExponential(3)} is below ${COLLAPSED_VARIANCE_RATIO} × var(y) (${f.varianceY.toExponential(3)}): the likelihood is unbounded there, this is no estimate; ${fix}`,
      });
    }
  }
  if (f.switchingVariance && !warnings.some((w) => w.code === 'VarianceCollapsed')) {
    const max = Math.max(...f.sigma2);
    f.sigma2.forEach((s2, j) => {
      if (s2 / max < NEARLY_COLLAPSED_RATIO) {
        warnings.push({
          code: 'NearlyCollapsedVariance',
          regime: j,
          fatal: false,
          message: `regime ${j}'s variance is ${(s2 / max).toExponential(2)} of the largest (below ${NEARLY_COLLAPSED_RATIO}): it may be a spurious maximum fitting a few observations`,
        });
      }
    });
  }
  if (!f.converged) {
    warnings.push({
      code: 'NotConverged',
      fatal: false,
      message: 'the best start stopped at its iteration budget before converging; raise maxIterations',
    });
  }
  if (f.regimesWithoutStandardErrors.length > 0) {
    warnings.push({
      code: 'StandardErrorsUnavailable',
      fatal: false,
      message: `the Hessian gives no standard error for some parameters of regime(s) ${f.regimesWithoutStandardErrors.join(', ')} (on a boundary or not identified)`,
    });
  }
  return { usable: !warnings.some((w) => w.fatal), warnings };
}
