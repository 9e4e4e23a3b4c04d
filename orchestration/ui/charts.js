// SVG drawn by the page itself (DOM, no markup strings): the fit's smoothed regime probabilities when
// the model's own chart artifact cannot be fetched, and the operator's queue depth over time.
import { s } from './dom.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

/** Stacked areas of smoothed probabilities: one series per regime, values per observation. */
export function probabilityChart(result) {
  const probs = result?.smoothedProbabilities;
  if (!Array.isArray(probs) || probs.length === 0 || !Array.isArray(probs[0])) return undefined;
  // Accept both layouts: [regime][t] or [t][regime].
  const byRegime =
    probs.length <= 4 && probs[0].length > 4 ? probs : probs[0].map((_, k) => probs.map((row) => row[k]));
  const n = byRegime[0].length;
  const W = 640;
  const H = 180;
  const L = 36;
  const B = 24;
  const x = (t) => L + (t / Math.max(1, n - 1)) * (W - L - 8);
  const y = (v) => 8 + (1 - v) * (H - B - 8);
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': `Smoothed probabilities of ${byRegime.length} regimes over ${n} observations`,
  });
  const base = new Array(n).fill(0);
  byRegime.forEach((series, k) => {
    const top = series.map((v, t) => base[t] + (Number(v) || 0));
    const pts = [...top.map((v, t) => `${x(t)},${y(v)}`), ...base.map((v, t) => `${x(t)},${y(v)}`).reverse()];
    svg.append(s('polygon', { points: pts.join(' '), fill: COLORS[k % COLORS.length], 'fill-opacity': 0.55 }));
    top.forEach((v, t) => (base[t] = v));
  });
  svg.append(s('line', { x1: L, y1: y(0), x2: W - 8, y2: y(0), stroke: '#555' }));
  svg.append(s('line', { x1: L, y1: y(0), x2: L, y2: y(1), stroke: '#555' }));
  for (const v of [0, 0.5, 1])
    svg.append(s('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11 }, String(v)));
  svg.append(s('text', { x: W - 8, y: H - 6, 'text-anchor': 'end', 'font-size': 11 }, `t = 1…${n}`));
  byRegime.forEach((_, k) => {
    svg.append(s('rect', { x: L + 8 + k * 90, y: H - 17, width: 10, height: 10, fill: COLORS[k % COLORS.length] }));
    svg.append(s('text', { x: L + 22 + k * 90, y: H - 8, 'font-size': 11 }, `regime ${k}`));
  });
  return svg;
}

/** A step line of (time, value) samples with the latest value labelled. */
export function sparkline(samples, label) {
  const W = 480;
  const H = 120;
  const L = 30;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label });
  if (samples.length === 0) return svg;
  const t0 = samples[0].t;
  const t1 = Math.max(t0 + 1, samples[samples.length - 1].t);
  const max = Math.max(1, ...samples.map((p) => p.v));
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - 10);
  const y = (v) => 10 + (1 - v / max) * (H - 30);
  let d = `M ${x(samples[0].t)} ${y(samples[0].v)}`;
  for (let i = 1; i < samples.length; i++) d += ` H ${x(samples[i].t)} V ${y(samples[i].v)}`;
  svg.append(s('path', { d, fill: 'none', stroke: COLORS[0], 'stroke-width': 2 }));
  svg.append(s('line', { x1: L, y1: y(0), x2: W - 10, y2: y(0), stroke: '#555' }));
  svg.append(s('text', { x: L - 4, y: y(max) + 4, 'text-anchor': 'end', 'font-size': 11 }, String(max)));
  svg.append(s('text', { x: L - 4, y: y(0) + 4, 'text-anchor': 'end', 'font-size': 11 }, '0'));
  const last = samples[samples.length - 1];
  svg.append(s('text', { x: W - 10, y: H - 4, 'text-anchor': 'end', 'font-size': 11 }, `now: ${last.v} queued`));
  return svg;
}
