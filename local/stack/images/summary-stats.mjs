// contoso/custom-model:1.0 — an example of a tenant's own program run by the batch agent in command
// mode: it reads the job input from INPUT_FILE, reports progress on stdout with AGENT_PROGRESS lines,
// and leaves its result in RESULT_DIR/result.json. Its exit code is the job's outcome.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const input = process.env.INPUT_FILE ? JSON.parse(readFileSync(process.env.INPUT_FILE, 'utf8')) : {};
const y = Array.isArray(input.y) ? input.y.filter((v) => typeof v === 'number' && Number.isFinite(v)) : [];
if (y.length < 2) {
  console.error('summary-stats: input.y must be an array of at least 2 numbers');
  process.exit(2);
}
const progress = (p, message) => console.log(`AGENT_PROGRESS ${JSON.stringify({ progress: p, message })}`);

progress(0.1, `read ${y.length} observations`);
const n = y.length;
const mean = y.reduce((a, b) => a + b, 0) / n;
const variance = y.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
progress(0.5, 'moments computed');
const sorted = [...y].sort((a, b) => a - b);
const quantile = (q) => sorted[Math.min(n - 1, Math.max(0, Math.round(q * (n - 1))))];
let lag1 = 0;
for (let i = 1; i < n; i++) lag1 += (y[i] - mean) * (y[i - 1] - mean);
const result = {
  model: 'summary-stats',
  n,
  mean,
  sd: Math.sqrt(variance),
  min: sorted[0],
  median: quantile(0.5),
  max: sorted[n - 1],
  autocorrelationLag1: lag1 / ((n - 1) * variance),
};
writeFileSync(join(process.env.RESULT_DIR ?? '.', 'result.json'), JSON.stringify(result, null, 2));
progress(1, 'done');
console.log(`summary-stats: n=${n} mean=${mean.toFixed(4)} sd=${result.sd.toFixed(4)}`);
