// A self-contained SVG chart of a fit: the series on top, the smoothed regime probabilities as
// stacked areas below, on one time axis; axes, ticks and a legend; no external fonts or scripts.
import type { FitInput, FitResult } from './types';

const WIDTH = 960;
const LEGEND_LINE = 16;
const LEFT = 64;
const RIGHT = 24;
const TOP = 48;
const GAP = 36;
const SERIES_H = 250;
const PROB_H = 170;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
/** Longer series are reduced to this many buckets (min/max per bucket for the series). */
const MAX_BUCKETS = 1500;

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceTicks(min: number, max: number, count: number): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function renderChartSvg(input: FitInput, result: FitResult): string {
  const y = input.y;
  const T = y.length;
  const k = result.k;
  const plotW = WIDTH - LEFT - RIGHT;
  // Room for the time-axis label, then one legend line per regime.
  const HEIGHT = TOP + SERIES_H + GAP + PROB_H + 44 + k * LEGEND_LINE + 8;
  const buckets = Math.min(T, MAX_BUCKETS);
  const xOf = (t: number): number => LEFT + (T <= 1 ? 0 : (t / (T - 1)) * plotW);
  let yMin = Infinity;
  let yMax = -Infinity;
  for (const v of y) {
    if (v < yMin) yMin = v;
    if (v > yMax) yMax = v;
  }
  if (yMin === yMax) {
    yMin -= 1;
    yMax += 1;
  }
  const pad = (yMax - yMin) * 0.05;
  yMin -= pad;
  yMax += pad;
  const seriesTop = TOP;
  const probTop = TOP + SERIES_H + GAP;
  const yPix = (v: number): number => seriesTop + SERIES_H - ((v - yMin) / (yMax - yMin)) * SERIES_H;
  const pPix = (p: number): number => probTop + PROB_H - p * PROB_H;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">`,
  );
  parts.push(`<title>Markov-switching regression: ${k} regimes, ${T} observations</title>`);
  parts.push(`<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  parts.push(
    `<text x="${LEFT}" y="24" font-size="14" font-weight="bold">${esc(`Markov-switching regression (k = ${k}, log-likelihood ${fmt(result.logLikelihood)})`)}</text>`,
  );

  // Series: one point per bucket edge (min and max inside each bucket keep spikes visible).
  const pts: string[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * T) / buckets);
    const to = Math.max(from + 1, Math.floor(((b + 1) * T) / buckets));
    if (to - from === 1) {
      pts.push(`${xOf(from).toFixed(2)},${yPix(y[from]!).toFixed(2)}`);
      continue;
    }
    let lo = from;
    let hi = from;
    for (let t = from; t < to; t++) {
      if (y[t]! < y[lo]!) lo = t;
      if (y[t]! > y[hi]!) hi = t;
    }
    const [a, c] = lo < hi ? [lo, hi] : [hi, lo];
    pts.push(`${xOf(a).toFixed(2)},${yPix(y[a]!).toFixed(2)}`, `${xOf(c).toFixed(2)},${yPix(y[c]!).toFixed(2)}`);
  }
  parts.push(`<rect x="${LEFT}" y="${seriesTop}" width="${plotW}" height="${SERIES_H}" fill="none" stroke="#888"/>`);
  for (const v of niceTicks(yMin, yMax, 5)) {
    const py = yPix(v).toFixed(2);
    parts.push(`<line x1="${LEFT - 4}" y1="${py}" x2="${LEFT + plotW}" y2="${py}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${LEFT - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${esc(fmt(v))}</text>`);
  }
  parts.push(`<polyline fill="none" stroke="#222" stroke-width="1" points="${pts.join(' ')}"/>`);
  parts.push(`<text x="${LEFT + 4}" y="${seriesTop + 14}">y</text>`);

  // Smoothed probabilities: stacked areas, bucket averages.
  const sm = result.smoothedProbabilities;
  const cum: number[][] = [];
  const xs: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * T) / buckets);
    const to = Math.max(from + 1, Math.floor(((b + 1) * T) / buckets));
    const avg = new Array<number>(k).fill(0);
    for (let t = from; t < to; t++) for (let j = 0; j < k; j++) avg[j] = avg[j]! + (sm[t]?.[j] ?? 0) / (to - from);
    let c = 0;
    cum.push(avg.map((p) => (c += p)));
    xs.push(xOf((from + to - 1) / 2));
  }
  for (let j = 0; j < k; j++) {
    const upper = xs.map((x, b) => `${x.toFixed(2)},${pPix(Math.min(1, cum[b]![j]!)).toFixed(2)}`);
    const lower = xs
      .map((x, b) => `${x.toFixed(2)},${pPix(j === 0 ? 0 : Math.min(1, cum[b]![j - 1]!)).toFixed(2)}`)
      .reverse();
    parts.push(
      `<polygon fill="${COLORS[j % COLORS.length]}" fill-opacity="0.75" stroke="none" points="${[...upper, ...lower].join(' ')}"/>`,
    );
  }
  parts.push(`<rect x="${LEFT}" y="${probTop}" width="${plotW}" height="${PROB_H}" fill="none" stroke="#888"/>`);
  for (const v of [0, 0.5, 1]) {
    const py = pPix(v).toFixed(2);
    parts.push(`<text x="${LEFT - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${v}</text>`);
  }
  parts.push(
    `<text x="${LEFT - 48}" y="${probTop + PROB_H / 2}" transform="rotate(-90 ${LEFT - 48} ${probTop + PROB_H / 2})" text-anchor="middle">smoothed Pr[regime]</text>`,
  );

  // Shared time axis.
  const axisY = probTop + PROB_H;
  for (const t of niceTicks(0, T - 1, 8)) {
    const px = xOf(t).toFixed(2);
    parts.push(`<line x1="${px}" y1="${axisY}" x2="${px}" y2="${axisY + 4}" stroke="#888"/>`);
    parts.push(`<line x1="${px}" y1="${seriesTop}" x2="${px}" y2="${seriesTop + SERIES_H}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${px}" y="${axisY + 16}" text-anchor="middle">${t}</text>`);
  }
  parts.push(`<text x="${LEFT + plotW / 2}" y="${axisY + 32}" text-anchor="middle">observation</text>`);

  // Legend: one line per regime.
  result.regimes.forEach((r, j) => {
    const x = LEFT;
    const ly = axisY + 44 + j * LEGEND_LINE;
    const coef = r.coefficients.length ? `coefficients ${r.coefficients.map(fmt).join(', ')}; ` : '';
    const label = `regime ${j}: ${coef}σ² = ${fmt(r.sigma2)}; expected duration ${fmt(r.expectedDuration)} observations`;
    parts.push(
      `<rect x="${x}" y="${ly - 9}" width="12" height="12" fill="${COLORS[j % COLORS.length]}" fill-opacity="0.75"/>`,
    );
    parts.push(`<text x="${x + 18}" y="${ly + 1}">${esc(label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
