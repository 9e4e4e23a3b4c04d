// `npm run fit -- <input.json> [--chart out.svg] [--workers N] [--task I/N]`: fits the default model
// offline and prints the result JSON on stdout (progress on stderr). Bad input exits 2 with the field
// errors; a degenerate (unusable) fit prints its result and exits 3. `--task` replays one task of a job
// array (its ACI_BATCH_TASK_INDEX / _COUNT).
import { readFileSync, writeFileSync } from 'node:fs';
import { fitModel, parseFitInput, renderChartSvg } from './model';

const USAGE = 'usage: npm run fit -- <input.json> [--chart out.svg] [--workers N] [--task I/N] [--quiet]';

async function main(argv: string[]): Promise<number> {
  let file: string | undefined;
  let chart: string | undefined;
  let workers: number | undefined;
  let quiet = false;
  let task: { index: number; count: number } | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--chart') chart = argv[++i];
    else if (a === '--workers') workers = Number(argv[++i]);
    else if (a === '--quiet') quiet = true;
    else if (a === '--task') {
      const m = /^(\d+)\/(\d+)$/.exec(argv[++i] ?? '');
      if (!m || Number(m[1]) >= Number(m[2])) {
        process.stderr.write(`--task must be I/N with 0 <= I < N, e.g. 2/10\n${USAGE}\n`);
        return 2;
      }
      task = { index: Number(m[1]), count: Number(m[2]) };
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE + '\n');
      return 0;
    } else if (a.startsWith('-') || file !== undefined) {
      process.stderr.write(`unexpected argument ${a}\n${USAGE}\n`);
      return 2;
    } else file = a;
  }
  if (
    !file ||
    (argv.includes('--chart') && !chart) ||
    (workers !== undefined && !(Number.isInteger(workers) && workers >= 1))
  ) {
    process.stderr.write(USAGE + '\n');
    return 2;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    process.stderr.write(`cannot read ${file} as JSON: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const parsed = parseFitInput(raw);
  if (!parsed.ok) {
    process.stderr.write(JSON.stringify({ error: { code: 'invalid_input', details: parsed.errors } }, null, 2) + '\n');
    return 2;
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const result = await fitModel(parsed.value, {
    signal: controller.signal,
    ...(workers !== undefined ? { workers } : {}),
    ...(task ? { task } : {}),
    onProgress: quiet ? undefined : (f, m) => process.stderr.write(`[${(f * 100).toFixed(0).padStart(3)}%] ${m}\n`),
  });
  if (chart) writeFileSync(chart, renderChartSvg(parsed.value, result));
  process.stdout.write(JSON.stringify(result) + '\n');
  for (const w of result.warnings) process.stderr.write(`${w.fatal ? 'error' : 'warning'} ${w.code}: ${w.message}\n`);
  return result.usable ? 0 : 3;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fit failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = err instanceof Error && err.name === 'AbortError' ? 130 : 1;
  },
);
