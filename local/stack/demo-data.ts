// Generated data for the demo (and tests): a two-regime Markov-switching series with known
// parameters, y_t = mu[s_t] + e_t, e_t ~ N(0, sigma2[s_t]), s_t a Markov chain. Seeded, so a run
// can be repeated and the fitted parameters compared with the true ones.

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

/** mulberry32: small, fast, good enough for test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
