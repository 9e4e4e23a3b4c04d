// The Markov-switching regression y_t = x_t'β_{S_t} + ε_t, ε_t ~ N(0, σ²_{S_t}), with a first-order
// Markov chain S_t on k regimes: Hamilton filter (scaled, so it is stable for any T), Kim smoother,
// the exact score by Fisher's identity (smoothed expectations of the complete-data score), and the
// closed-form EM step. The chain starts from its ergodic distribution, as statsmodels does.
import { solveInPlace } from './linalg';
import type { FitInput } from './types';

/** Parameters in their natural (constrained) form. */
export interface MsrParams {
  /** k × p row-major: row j = coefficients of regime j (identical rows when not switching). */
  beta: Float64Array;
  /** k variances (identical when not switching). */
  sigma2: Float64Array;
  /** k × k row-stochastic: P[i*k + j] = Pr[S_t = j | S_{t-1} = i]. */
  transition: Float64Array;
}

const LOG_2PI = Math.log(2 * Math.PI);

export class MsrModel {
  readonly T: number;
  readonly k: number;
  /** Regressors per regime (constant included). */
  readonly p: number;
  readonly switchingCoefficients: boolean;
  readonly switchingVariance: boolean;
  readonly y: Float64Array;
  /** T × p row-major design (constant first). */
  readonly X: Float64Array;
  /** Length of the unconstrained parameter vector θ. */
  readonly nTheta: number;
  readonly varianceY: number;
  /** Lower bound on variances: below it the likelihood is treated as invalid (degenerate regime). */
  readonly varianceFloor: number;

  // Filter/smoother storage, reused between calls.
  readonly predicted: Float64Array;
  readonly filtered: Float64Array;
  readonly smoothed: Float64Array;
  /** Σ_t Pr[S_{t-1}=i, S_t=j | Y_T], from the last smooth() call. */
  readonly transitionCounts: Float64Array;
  private readonly stationary: Float64Array;
  private readonly scratchK: Float64Array;
  private readonly scratchK2: Float64Array;
  private readonly logDensity: Float64Array;
  private readonly halfLogVar: Float64Array;
  private readonly invVar: Float64Array;

  constructor(input: Pick<FitInput, 'y' | 'exog' | 'k' | 'trend' | 'switchingCoefficients' | 'switchingVariance'>) {
    const T = input.y.length;
    const k = input.k;
    const nx = input.exog?.[0]?.length ?? 0;
    const c = input.trend === 'c' ? 1 : 0;
    const p = c + nx;
    this.T = T;
    this.k = k;
    this.p = p;
    this.switchingCoefficients = input.switchingCoefficients;
    this.switchingVariance = input.switchingVariance;
    this.y = Float64Array.from(input.y);
    this.X = new Float64Array(T * p);
    for (let t = 0; t < T; t++) {
      if (c) this.X[t * p] = 1;
      const row = input.exog?.[t];
      for (let j = 0; j < nx; j++) this.X[t * p + c + j] = row?.[j] ?? 0;
    }
    this.nTheta = k * (k - 1) + (this.switchingCoefficients ? k : 1) * p + (this.switchingVariance ? k : 1);
    let mean = 0;
    for (let t = 0; t < T; t++) mean += this.y[t]!;
    mean /= T;
    let v = 0;
    for (let t = 0; t < T; t++) v += (this.y[t]! - mean) ** 2;
    this.varianceY = v / T;
    this.varianceFloor = Math.max(this.varianceY * 1e-10, 1e-300);
    this.predicted = new Float64Array(T * k);
    this.filtered = new Float64Array(T * k);
    this.smoothed = new Float64Array(T * k);
    this.transitionCounts = new Float64Array(k * k);
    this.stationary = new Float64Array(k);
    this.scratchK = new Float64Array(k);
    this.scratchK2 = new Float64Array(k);
    this.logDensity = new Float64Array(k);
    this.halfLogVar = new Float64Array(k);
    this.invVar = new Float64Array(k);
  }

  newParams(): MsrParams {
    return {
      beta: new Float64Array(this.k * this.p),
      sigma2: new Float64Array(this.k),
      transition: new Float64Array(this.k * this.k),
    };
  }

  copyParams(src: MsrParams): MsrParams {
    return {
      beta: Float64Array.from(src.beta),
      sigma2: Float64Array.from(src.sigma2),
      transition: Float64Array.from(src.transition),
    };
  }

  /**
   * Ergodic distribution π of the chain (π'P = π', Σπ = 1), floored at 1e-20 like statsmodels.
   * Returns false when the chain has no unique one.
   */
  stationaryDistribution(P: Float64Array, out: Float64Array): boolean {
    const k = this.k;
    const a = new Float64Array(k * k);
    for (let l = 0; l < k - 1; l++) {
      for (let i = 0; i < k; i++) a[l * k + i] = (l === i ? 1 : 0) - P[i * k + l]!;
    }
    for (let i = 0; i < k; i++) a[(k - 1) * k + i] = 1;
    out.fill(0);
    out[k - 1] = 1;
    if (!solveInPlace(a, out, k)) return false;
    for (let i = 0; i < k; i++) out[i] = Math.max(out[i]!, 1e-20);
    return true;
  }

  private prepareDensities(params: MsrParams): boolean {
    for (let j = 0; j < this.k; j++) {
      const s2 = params.sigma2[j]!;
      if (!(s2 >= this.varianceFloor) || !Number.isFinite(s2)) return false;
      this.invVar[j] = 1 / s2;
      this.halfLogVar[j] = 0.5 * (LOG_2PI + Math.log(s2));
    }
    return true;
  }

  /**
   * Hamilton filter. Returns the log-likelihood (−Infinity for invalid parameters). With store, keeps
   * predicted and filtered probabilities for the smoother.
   */
  filter(params: MsrParams, store: boolean): number {
    const { T, k, p, X, y } = this;
    const P = params.transition;
    const beta = params.beta;
    if (!this.prepareDensities(params)) return -Infinity;
    const pi = this.stationary;
    if (!this.stationaryDistribution(P, pi)) return -Infinity;
    const prev = this.scratchK;
    const pred = this.scratchK2;
    const lf = this.logDensity;
    const invVar = this.invVar;
    const halfLogVar = this.halfLogVar;
    const predicted = this.predicted;
    const filtered = this.filtered;
    let ll = 0;
    for (let t = 0; t < T; t++) {
      if (t === 0) {
        for (let j = 0; j < k; j++) pred[j] = pi[j]!;
      } else {
        for (let j = 0; j < k; j++) {
          let s = 0;
          for (let i = 0; i < k; i++) s += prev[i]! * P[i * k + j]!;
          pred[j] = s;
        }
      }
      const yt = y[t]!;
      const xo = t * p;
      let m = -Infinity;
      for (let j = 0; j < k; j++) {
        let mu = 0;
        const bo = j * p;
        for (let c = 0; c < p; c++) mu += X[xo + c]! * beta[bo + c]!;
        const r = yt - mu;
        const v = -0.5 * r * r * invVar[j]! - halfLogVar[j]!;
        lf[j] = v;
        if (v > m) m = v;
      }
      let s = 0;
      for (let j = 0; j < k; j++) {
        const d = lf[j]! - m;
        // exp(< -745) underflows to 0 anyway; skipping it avoids slow subnormal arithmetic.
        const w = d > -745 ? pred[j]! * Math.exp(d) : 0;
        prev[j] = w;
        s += w;
      }
      if (!(s > 0) || !Number.isFinite(m)) return -Infinity;
      ll += m + Math.log(s);
      const inv = 1 / s;
      for (let j = 0; j < k; j++) prev[j] = prev[j]! * inv;
      if (store) {
        const o = t * k;
        for (let j = 0; j < k; j++) {
          predicted[o + j] = pred[j]!;
          filtered[o + j] = prev[j]!;
        }
      }
    }
    return ll;
  }

  /**
   * Kim smoother over the last filter(params, true): fills smoothed and transitionCounts.
   */
  smooth(params: MsrParams): void {
    const { T, k } = this;
    const P = params.transition;
    const { predicted, filtered, smoothed, transitionCounts } = this;
    const ratio = this.scratchK;
    transitionCounts.fill(0);
    const last = (T - 1) * k;
    for (let j = 0; j < k; j++) smoothed[last + j] = filtered[last + j]!;
    for (let t = T - 2; t >= 0; t--) {
      const o = t * k;
      const n = o + k;
      for (let j = 0; j < k; j++) {
        const pr = predicted[n + j]!;
        ratio[j] = pr > 0 ? smoothed[n + j]! / pr : 0;
      }
      let total = 0;
      for (let i = 0; i < k; i++) {
        const fi = filtered[o + i]!;
        let acc = 0;
        for (let j = 0; j < k; j++) {
          const w = fi * P[i * k + j]! * ratio[j]!;
          transitionCounts[i * k + j] = transitionCounts[i * k + j]! + w;
          acc += w;
        }
        smoothed[o + i] = acc;
        total += acc;
      }
      // Renormalise: rounding must not let probabilities drift over a long series.
      if (total > 0) for (let i = 0; i < k; i++) smoothed[o + i] = smoothed[o + i]! / total;
    }
  }

  // ---- Unconstrained parameterization θ for quasi-Newton ----
  // [ transition logits a_{i,m} for i < k, m < k-1 (row i, relative to column k-1) |
  //   coefficients (k·p if switching, else p) | log variances (k or 1) ]

  toTheta(params: MsrParams, theta: Float64Array): void {
    const { k, p } = this;
    let o = 0;
    for (let i = 0; i < k; i++) {
      const last = Math.max(params.transition[i * k + k - 1]!, 1e-300);
      for (let m = 0; m < k - 1; m++) theta[o++] = Math.log(Math.max(params.transition[i * k + m]!, 1e-300) / last);
    }
    const nb = this.switchingCoefficients ? k : 1;
    for (let j = 0; j < nb; j++) for (let c = 0; c < p; c++) theta[o++] = params.beta[j * p + c]!;
    const nv = this.switchingVariance ? k : 1;
    for (let j = 0; j < nv; j++) theta[o++] = Math.log(params.sigma2[j]!);
  }

  fromTheta(theta: Float64Array, params: MsrParams): void {
    const { k, p } = this;
    let o = 0;
    for (let i = 0; i < k; i++) {
      let mx = 0;
      for (let m = 0; m < k - 1; m++) mx = Math.max(mx, theta[o + m]!);
      let s = Math.exp(-mx);
      for (let m = 0; m < k - 1; m++) s += Math.exp(theta[o + m]! - mx);
      for (let m = 0; m < k - 1; m++) params.transition[i * k + m] = Math.exp(theta[o + m]! - mx) / s;
      params.transition[i * k + k - 1] = Math.exp(-mx) / s;
      o += k - 1;
    }
    if (this.switchingCoefficients) {
      for (let j = 0; j < k; j++) for (let c = 0; c < p; c++) params.beta[j * p + c] = theta[o + j * p + c]!;
      o += k * p;
    } else {
      for (let j = 0; j < k; j++) for (let c = 0; c < p; c++) params.beta[j * p + c] = theta[o + c]!;
      o += p;
    }
    if (this.switchingVariance) {
      for (let j = 0; j < k; j++) params.sigma2[j] = Math.exp(theta[o + j]!);
    } else {
      params.sigma2.fill(Math.exp(theta[o]!));
    }
  }

  /**
   * Log-likelihood and its exact gradient with respect to θ (Fisher's identity: the score equals the
   * smoothed expectation of the complete-data score, including the ergodic initial distribution).
   * Leaves filtered/smoothed probabilities for params in place.
   */
  logLikelihoodAndGradient(params: MsrParams, grad: Float64Array): number {
    const ll = this.filter(params, true);
    grad.fill(0);
    if (!Number.isFinite(ll)) return ll;
    this.smooth(params);
    const { T, k, p, X, y, smoothed, transitionCounts } = this;
    const P = params.transition;
    const pi = this.stationary;
    // Transition logits.
    const dpi = new Float64Array(k);
    const a = new Float64Array(k * k);
    let o = 0;
    for (let i = 0; i < k; i++) {
      let ni = 0;
      for (let j = 0; j < k; j++) ni += transitionCounts[i * k + j]!;
      for (let m = 0; m < k - 1; m++) {
        const pim = P[i * k + m]!;
        let g = transitionCounts[i * k + m]! - pim * ni;
        // d log π / d a_{i,m}: (I − P)' dπ = dP' π with Σ dπ = 0, dP only in row i.
        for (let l = 0; l < k - 1; l++) {
          for (let c = 0; c < k; c++) a[l * k + c] = (l === c ? 1 : 0) - P[c * k + l]!;
          const pil = P[i * k + l]!;
          dpi[l] = pi[i]! * pil * ((l === m ? 1 : 0) - pim);
        }
        for (let c = 0; c < k; c++) a[(k - 1) * k + c] = 1;
        dpi[k - 1] = 0;
        if (solveInPlace(a, dpi, k)) {
          for (let l = 0; l < k; l++) g += (smoothed[l]! / pi[l]!) * dpi[l]!;
        }
        grad[o + m] = g;
      }
      o += k - 1;
    }
    // Coefficients and log variances.
    const bo = o;
    const vo = o + (this.switchingCoefficients ? k * p : p);
    const invVar = this.invVar;
    const beta = params.beta;
    for (let t = 0; t < T; t++) {
      const xo = t * p;
      const yt = y[t]!;
      for (let j = 0; j < k; j++) {
        const w = smoothed[t * k + j]!;
        if (w === 0) continue;
        let mu = 0;
        for (let c = 0; c < p; c++) mu += X[xo + c]! * beta[j * p + c]!;
        const r = yt - mu;
        const wr = w * r * invVar[j]!;
        const go = bo + (this.switchingCoefficients ? j * p : 0);
        for (let c = 0; c < p; c++) grad[go + c] = grad[go + c]! + wr * X[xo + c]!;
        const gv = vo + (this.switchingVariance ? j : 0);
        grad[gv] = grad[gv]! + w * (0.5 * r * r * invVar[j]! - 0.5);
      }
    }
    return ll;
  }

  /**
   * One EM step from params (whose filter/smoother must be current) into next: closed-form
   * M-step — transition counts, weighted least squares per regime (or one GLS for common
   * coefficients), then weighted residual variances.
   */
  emStep(params: MsrParams, next: MsrParams): void {
    const { T, k, p, X, y, smoothed, transitionCounts } = this;
    for (let i = 0; i < k; i++) {
      let ni = 0;
      for (let j = 0; j < k; j++) ni += transitionCounts[i * k + j]!;
      for (let j = 0; j < k; j++) {
        next.transition[i * k + j] =
          ni > 0 ? Math.min(Math.max(transitionCounts[i * k + j]! / ni, 1e-12), 1) : params.transition[i * k + j]!;
      }
      let s = 0;
      for (let j = 0; j < k; j++) s += next.transition[i * k + j]!;
      for (let j = 0; j < k; j++) next.transition[i * k + j] = next.transition[i * k + j]! / s;
    }
    const xtx = new Float64Array(p * p);
    const xty = new Float64Array(p);
    const solveWeighted = (
      weight: (t: number) => number,
      out: Float64Array,
      offset: number,
      fallback: Float64Array,
    ): void => {
      xtx.fill(0);
      xty.fill(0);
      for (let t = 0; t < T; t++) {
        const w = weight(t);
        if (w === 0) continue;
        const xo = t * p;
        for (let a = 0; a < p; a++) {
          const wa = w * X[xo + a]!;
          xty[a] = xty[a]! + wa * y[t]!;
          for (let b = 0; b <= a; b++) xtx[a * p + b] = xtx[a * p + b]! + wa * X[xo + b]!;
        }
      }
      for (let a = 0; a < p; a++) for (let b = a + 1; b < p; b++) xtx[a * p + b] = xtx[b * p + a]!;
      if (solveInPlace(xtx, xty, p)) for (let a = 0; a < p; a++) out[offset + a] = xty[a]!;
      else for (let a = 0; a < p; a++) out[offset + a] = fallback[offset + a]!;
    };
    if (p > 0) {
      if (this.switchingCoefficients) {
        for (let j = 0; j < k; j++) solveWeighted((t) => smoothed[t * k + j]!, next.beta, j * p, params.beta);
      } else {
        const invVar = new Float64Array(k);
        for (let j = 0; j < k; j++) invVar[j] = 1 / params.sigma2[j]!;
        solveWeighted(
          (t) => {
            let w = 0;
            for (let j = 0; j < k; j++) w += smoothed[t * k + j]! * invVar[j]!;
            return w;
          },
          next.beta,
          0,
          params.beta,
        );
        for (let j = 1; j < k; j++) for (let c = 0; c < p; c++) next.beta[j * p + c] = next.beta[c]!;
      }
    }
    const ss = new Float64Array(k);
    const ws = new Float64Array(k);
    for (let t = 0; t < T; t++) {
      const xo = t * p;
      for (let j = 0; j < k; j++) {
        const w = smoothed[t * k + j]!;
        let mu = 0;
        for (let c = 0; c < p; c++) mu += X[xo + c]! * next.beta[j * p + c]!;
        const r = y[t]! - mu;
        ss[j] = ss[j]! + w * r * r;
        ws[j] = ws[j]! + w;
      }
    }
    const floor = this.varianceFloor * 10;
    if (this.switchingVariance) {
      for (let j = 0; j < k; j++) next.sigma2[j] = ws[j]! > 0 ? Math.max(ss[j]! / ws[j]!, floor) : params.sigma2[j]!;
    } else {
      let s = 0;
      for (let j = 0; j < k; j++) s += ss[j]!;
      next.sigma2.fill(Math.max(s / T, floor));
    }
  }
}
