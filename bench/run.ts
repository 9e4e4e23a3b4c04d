// `npm run bench [-- name ...]`: runs every bench/<name>.bench.ts (or the named ones) one after
// another, each in its own process so that one benchmark's memory and CPU do not skew the next.
// Each benchmark writes bench/results/<name>.json (raw numbers + machine) and bench/results/<name>.md
// (a table a person reads); bench/README.md explains them.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const dir = __dirname;
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`bench: unknown benchmark(s) ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length ? wanted : all) {
  console.log(`\n=== bench ${name} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(dir, `${name}.bench.ts`)], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed++;
    console.error(`bench ${name} failed with exit ${r.status ?? r.signal}`);
  }
}
process.exit(failed ? 1 : 0);
