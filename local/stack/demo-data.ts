// Generated data for the demo (and tests): a two-regime Markov-switching series with known
// parameters, y_t = mu[s_t] + e_t, e_t ~ N(0, sigma2[s_t]), s_t a Markov chain. Seeded, so a run
// can be repeated and the fitted parameters compared with the true ones.
import { createRng } from '../../batch-image/src/model/rng';

export interface RegimeSeriesSpec {
  n: number;
  /** Intercept of each regime. */
  mu: [number, number];
  /** Variance of each regime. */
  sigma2: [number, number];
  /** P(stay in regime i). */
  stay: [number, number];
  seed: number;
}

export interface RegimeSeries {
  y: number[];
  states: number[];
  spec: RegimeSeriesSpec;
}

/** The model's seeded mulberry32 generator (same streams as before: the demo's series are unchanged). */
export const prng = createRng;

export function generateRegimeSeries(spec: RegimeSeriesSpec): RegimeSeries {
  const rand = prng(spec.seed);
  const normal = (): number => {
    // Box–Muller; 1 - u keeps log away from 0.
    const u = 1 - rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const y: number[] = [];
  const states: number[] = [];
  let s = 0;
  for (let t = 0; t < spec.n; t++) {
    if (t > 0 && rand() > spec.stay[s as 0 | 1]) s = 1 - s;
    states.push(s);
    y.push(Number((spec.mu[s as 0 | 1] + Math.sqrt(spec.sigma2[s as 0 | 1]) * normal()).toFixed(6)));
  }
  return { y, states, spec };
}

/** The model input (batch-image's default model) for a series. */
export function modelInput(series: RegimeSeries, seed = 1): Record<string, unknown> {
  return { y: series.y, k: 2, switchingVariance: true, trend: 'c', seed };
}
