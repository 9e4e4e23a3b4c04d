// BFGS on a smooth objective with an exact gradient: backtracking (Armijo) line search, the
// inverse-Hessian update skipped when curvature is not positive, and a restart from a scaled
// identity when the search direction stops descending.

export interface BfgsOptions {
  maxIterations: number;
  /** Stop when the relative decrease of f stays below this for 3 iterations and max |gradient| < 100 × gradientTolerance. */
  tolerance: number;
  /** Stop when max |gradient| falls below this. */
  gradientTolerance: number;
}

export interface BfgsResult {
  x: Float64Array;
  f: number;
  iterations: number;
  converged: boolean;
}

/** fg(x, grad) returns f(x) and writes its gradient; non-finite f means "outside the domain". */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!));
  return m;
}

export function minimizeBfgs(fg: Objective, x0: Float64Array, opts: BfgsOptions): BfgsResult {
  const n = x0.length;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let f = fg(x, g);
  if (!Number.isFinite(f)) return { x, f, iterations: 0, converged: false };
  const H = new Float64Array(n * n);
  const resetH = (scale: number): void => {
    H.fill(0);
    for (let i = 0; i < n; i++) H[i * n + i] = scale;
  };
  resetH(1 / Math.max(1, maxAbs(g)));
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const s = new Float64Array(n);
  const yv = new Float64Array(n);
  const Hy = new Float64Array(n);
  let smallSteps = 0;
  let restarted = false;
  for (let iter = 1; iter <= opts.maxIterations; iter++) {
    if (maxAbs(g) < opts.gradientTolerance) return { x, f, iterations: iter - 1, converged: true };
    let slope = 0;
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let j = 0; j < n; j++) v -= H[i * n + j]! * g[j]!;
      d[i] = v;
      slope += v * g[i]!;
    }
    if (!(slope < 0)) {
      resetH(1 / Math.max(1, maxAbs(g)));
      for (let i = 0; i < n; i++) d[i] = -H[i * n + i]! * g[i]!;
      slope = 0;
      for (let i = 0; i < n; i++) slope += d[i]! * g[i]!;
    }
    let step = 1;
    let fNew = Infinity;
    let accepted = false;
    for (let tries = 0; tries < 50; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + step * d[i]!;
      fNew = fg(xNew, gNew);
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= Number.isFinite(fNew) ? 0.5 : 0.1;
    }
    if (!accepted) {
      if (restarted) return { x, f, iterations: iter, converged: maxAbs(g) < 100 * opts.gradientTolerance };
      restarted = true;
      resetH(1e-3 / Math.max(1, maxAbs(g)));
      fg(x, g);
      continue;
    }
    restarted = false;
    let sy = 0;
    let yy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i]! - x[i]!;
      yv[i] = gNew[i]! - g[i]!;
      sy += s[i]! * yv[i]!;
      yy += yv[i]! * yv[i]!;
    }
    const decrease = f - fNew;
    x.set(xNew);
    g.set(gNew);
    f = fNew;
    if (sy > 1e-300 && Number.isFinite(sy)) {
      if (iter === 1) resetH(sy / yy);
      let yHy = 0;
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (let j = 0; j < n; j++) v += H[i * n + j]! * yv[j]!;
        Hy[i] = v;
        yHy += yv[i]! * v;
      }
      const rho = 1 / sy;
      const c = (1 + yHy * rho) * rho;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          H[i * n + j] = H[i * n + j]! + c * s[i]! * s[j]! - rho * (Hy[i]! * s[j]! + s[i]! * Hy[j]!);
        }
      }
    }
    if (decrease <= opts.tolerance * Math.max(Math.abs(f), 1e-8)) smallSteps++;
    else smallSteps = 0;
    if (smallSteps >= 3 && maxAbs(g) < 100 * opts.gradientTolerance) return { x, f, iterations: iter, converged: true };
  }
  return { x, f, iterations: opts.maxIterations, converged: maxAbs(g) < opts.gradientTolerance };
}
