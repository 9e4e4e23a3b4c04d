// Small dense linear algebra for the model: systems of at most a few dozen unknowns, so plain
// Gaussian elimination and a Jacobi eigensolver are exact enough and allocation is negligible.

/**
 * Solves A x = b in place for a dense n × n row-major A (destroyed) with partial pivoting.
 * Returns false (and leaves b unspecified) when A is numerically singular.
 */
export function solveInPlace(a: Float64Array, b: Float64Array, n: number): boolean {
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(a[i]!));
  const tiny = scale * n * 1e-14;
  if (scale === 0) return false;
  for (let c = 0; c < n; c++) {
    let piv = c;
    let best = Math.abs(a[c * n + c]!);
    for (let r = c + 1; r < n; r++) {
      const v = Math.abs(a[r * n + c]!);
      if (v > best) {
        best = v;
        piv = r;
      }
    }
    if (best <= tiny) return false;
    if (piv !== c) {
      for (let j = 0; j < n; j++) {
        const t = a[c * n + j]!;
        a[c * n + j] = a[piv * n + j]!;
        a[piv * n + j] = t;
      }
      const t = b[c]!;
      b[c] = b[piv]!;
      b[piv] = t;
    }
    const d = a[c * n + c]!;
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c]! / d;
      if (f === 0) continue;
      for (let j = c; j < n; j++) a[r * n + j] = a[r * n + j]! - f * a[c * n + j]!;
      b[r] = b[r]! - f * b[c]!;
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let j = r + 1; j < n; j++) s -= a[r * n + j]! * b[j]!;
    b[r] = s / a[r * n + r]!;
  }
  return true;
}

/** Eigen-decomposition of a symmetric n × n matrix by cyclic Jacobi rotations. */
export function symmetricEigen(m: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const x = a[i * n + j]! * a[i * n + j]!;
        total += x;
        if (i !== j) off += x;
      }
    }
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < n; r++) {
          const arp = a[r * n + p]!;
          const arq = a[r * n + q]!;
          a[r * n + p] = c * arp - s * arq;
          a[r * n + q] = s * arp + c * arq;
        }
        for (let r = 0; r < n; r++) {
          const apr = a[p * n + r]!;
          const aqr = a[q * n + r]!;
          a[p * n + r] = c * apr - s * aqr;
          a[q * n + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < n; r++) {
          const vrp = v[r * n + p]!;
          const vrq = v[r * n + q]!;
          v[r * n + p] = c * vrp - s * vrq;
          v[r * n + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]!;
  return { values, vectors: v };
}

/**
 * Moore–Penrose pseudo-inverse of a symmetric matrix (as numpy's pinv does for statsmodels'
 * covariance: singular directions get zero variance instead of an exception).
 */
export function symmetricPinv(m: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(m, n);
  let maxAbs = 0;
  for (let i = 0; i < n; i++) maxAbs = Math.max(maxAbs, Math.abs(values[i]!));
  const cutoff = 1e-15 * n * maxAbs;
  const out = new Float64Array(n * n);
  for (let e = 0; e < n; e++) {
    const lambda = values[e]!;
    if (Math.abs(lambda) <= cutoff) continue;
    const inv = 1 / lambda;
    for (let i = 0; i < n; i++) {
      const vi = vectors[i * n + e]! * inv;
      for (let j = 0; j < n; j++) out[i * n + j] = out[i * n + j]! + vi * vectors[j * n + e]!;
    }
  }
  return out;
}
