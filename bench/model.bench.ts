// `npm run bench -- model`: fit time of the default model (batch-image/src/model) against statsmodels'
// MarkovRegression on the same simulated data, T = 500, 5,000, 50,000 and k = 2, 3 (switching constant
// and variance), plus the speed-up of a multi-start fit from 1 to 2 worker threads.
//   - ours, 1 start, 1 worker: the same budget as statsmodels' fit() (one start → EM → BFGS → Hessian)
//   - ours, 4 starts on 1 and on 2 workers: what a container with 1 or 2 CPUs does
//   - statsmodels fit() with its defaults (em_iter=5, BFGS, cov_type='approx'), run by /usr/bin/python3
// Every timing includes standard errors and smoothed probabilities. Log-likelihoods of both are
// recorded so that "faster" is only claimed at an equal (or better) optimum.
// Writes bench/results/model.json and model.md. BENCH_REPS (default 3) repeats the short cases.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { machineInfo, median } from './machine';

type ModelModule = typeof import('../batch-image/src/model');

const REPS = Number(process.env.BENCH_REPS ?? 3);
const PYTHON = '/usr/bin/python3';
const root = join(__dirname, '..');
const tmp = join(__dirname, '.tmp', 'model');
const resultsDir = join(__dirname, 'results');
const SIZES = [500, 5_000, 50_000];
const REGIMES = [2, 3];
const STARTS_PARALLEL = 4;

/** The compiled module, as the container runs it (workers start without a TypeScript loader). */
function loadModel(): ModelModule {
  const build = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'batch-image')],
    { stdio: 'inherit' },
  );
  if (build.status !== 0) throw new Error('tsc -p batch-image failed');
  const load = createRequire(__filename);
  return load(join(root, 'batch-image', 'dist', 'model', 'index.js')) as ModelModule;
}

/** Seeded simulation: k regimes with long spells, switching mean and variance. */
function simulate(T: number, k: number, seed: number): number[] {
  let s = seed >>> 0;
  const u = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const mu = k === 2 ? [0, 2] : [-1, 1, 3];
  const sd = k === 2 ? [1, Math.sqrt(0.5)] : [Math.sqrt(0.5), Math.sqrt(0.8), 1];
  const stay = k === 2 ? [0.97, 0.95] : [0.96, 0.94, 0.95];
  const y: number[] = [];
  let r = 0;
  for (let t = 0; t < T; t++) {
    if (t > 0 && u() > stay[r]!) r = (r + 1 + Math.floor(u() * (k - 1))) % k;
    y.push(mu[r]! + sd[r]! * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
  }
  return y;
}

const PY = `
import json, sys, time, warnings
warnings.simplefilter('ignore')
import numpy as np
import statsmodels
from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression
d = json.load(open(sys.argv[1]))
reps = int(sys.argv[2])
y = np.asarray(d['y'])
secs, llf = [], None
for _ in range(reps):
    t = time.perf_counter()
    res = MarkovRegression(y, k_regimes=d['k'], trend='c', switching_variance=True).fit()
    _ = res.bse, res.smoothed_marginal_probabilities
    secs.append(time.perf_counter() - t)
    llf = float(res.llf)
print(json.dumps({'seconds': secs, 'logLikelihood': llf, 'version': statsmodels.__version__}))
`;

interface PyResult {
  seconds: number[];
  logLikelihood: number;
  version: string;
}

function statsmodelsAvailable(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import statsmodels; print(statsmodels.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function runStatsmodels(file: string, reps: number): PyResult {
  const r = spawnSync(PYTHON, ['-c', PY, file, String(reps)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    timeout: 900_000,
  });
  if (r.status !== 0) throw new Error(`statsmodels failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as PyResult;
}

/** cpuSeconds: CPU time of the whole process (all threads) during the fits; cpu / wall = threads really running. */
interface Timed {
  medianSeconds: number;
  seconds: number[];
  logLikelihood: number;
  cpuSeconds: number;
  parallelism: number;
}

async function timeOurs(
  model: ModelModule,
  y: number[],
  k: number,
  starts: number,
  workers: number,
  reps: number,
): Promise<Timed> {
  const parsed = model.parseFitInput({ y, k, starts, seed: 1 });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const seconds: number[] = [];
  let ll = NaN;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const r = await model.fitModel(parsed.value, { workers });
    seconds.push((performance.now() - t0) / 1000);
    ll = r.logLikelihood;
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const wall = seconds.reduce((a, b) => a + b, 0);
  return { medianSeconds: median(seconds), seconds, logLikelihood: ll, cpuSeconds, parallelism: cpuSeconds / wall };
}

/**
 * Control: the same CPU work on 1 thread, then split over 2 threads. Its speed-up is what this
 * machine can give a second thread right now (2 on an idle 2-CPU machine); the model's 1→2 worker
 * speed-up is only meaningful next to it.
 */
async function controlSpeedup(): Promise<{ oneThreadSeconds: number; twoThreadsSeconds: number; speedup: number }> {
  const { Worker } = await import('node:worker_threads');
  const run = async (threads: number): Promise<number> => {
    const iterations = Math.round(2e8 / threads);
    const code = `let s = 0; for (let i = 0; i < ${iterations}; i++) s += Math.sqrt(i); require('node:worker_threads').parentPort.postMessage(s);`;
    const t0 = performance.now();
    await Promise.all(
      Array.from(
        { length: threads },
        () =>
          new Promise<void>((resolve, reject) => {
            const w = new Worker(code, { eval: true });
            w.once('message', () => {
              void w.terminate();
              resolve();
            });
            w.once('error', reject);
          }),
      ),
    );
    return (performance.now() - t0) / 1000;
  };
  const one = await run(1);
  const two = await run(2);
  return { oneThreadSeconds: one, twoThreadsSeconds: two, speedup: one / two };
}

const f3 = (v: number): string =>
  v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3);

async function main(): Promise<void> {
  const model = loadModel();
  const control = await controlSpeedup();
  // The first fit of a process starts its worker threads; later fits reuse them (as an agent serving
  // several fits would). Record that cold start once, then time warm fits.
  const coldY = simulate(500, 2, 7);
  const coldStart = (await timeOurs(model, coldY, 2, 2, 2, 1)).medianSeconds;
  const warmAgain = (await timeOurs(model, coldY, 2, 2, 2, 1)).medianSeconds;
  const smVersion = statsmodelsAvailable();
  mkdirSync(tmp, { recursive: true });
  const rows: Record<string, unknown>[] = [];
  const md: string[] = [];
  try {
    for (const T of SIZES) {
      for (const k of REGIMES) {
        const reps = T >= 50_000 ? 1 : REPS;
        const y = simulate(T, k, 1000 * k + T);
        const file = join(tmp, `sim-${T}-${k}.json`);
        writeFileSync(file, JSON.stringify({ y, k }));
        process.stderr.write(`model bench: T=${T} k=${k} ...\n`);
        const one = await timeOurs(model, y, k, 1, 1, T >= 50_000 ? 3 : REPS);
        const w1 = await timeOurs(model, y, k, STARTS_PARALLEL, 1, reps);
        const w2 = await timeOurs(model, y, k, STARTS_PARALLEL, 2, reps);
        let sm: (PyResult & { medianSeconds: number }) | null = null;
        if (smVersion) {
          const r = runStatsmodels(file, reps);
          sm = { ...r, medianSeconds: median(r.seconds) };
        }
        const row = {
          T,
          k,
          loadAverage1m: loadavg()[0],
          ours1Start: one,
          ours4StartsWorkers1: w1,
          ours4StartsWorkers2: w2,
          speedup1to2Workers: w1.medianSeconds / w2.medianSeconds,
          statsmodels: sm,
          speedupVsStatsmodels: sm ? sm.medianSeconds / one.medianSeconds : null,
          logLikelihoodOursMinusStatsmodels: sm ? one.logLikelihood - sm.logLikelihood : null,
        };
        rows.push(row);
        process.stderr.write(
          `  ours 1 start ${f3(one.medianSeconds)} s, 4 starts 1w ${f3(w1.medianSeconds)} s / 2w ${f3(w2.medianSeconds)} s` +
            (sm
              ? `, statsmodels ${f3(sm.medianSeconds)} s (ll ours ${one.logLikelihood.toFixed(4)} vs ${sm.logLikelihood.toFixed(4)})`
              : '') +
            '\n',
        );
        md.push(
          `| ${T.toLocaleString('en-US')} | ${k} | ${row.loadAverage1m!.toFixed(1)} | ${f3(one.medianSeconds)} | ${f3(w1.medianSeconds)} | ${f3(w2.medianSeconds)} | ${row.speedup1to2Workers.toFixed(2)}× (${w2.parallelism.toFixed(2)}) | ` +
            (sm
              ? `${f3(sm.medianSeconds)} | **${row.speedupVsStatsmodels!.toFixed(1)}×** | ${one.logLikelihood.toFixed(4)} | ${sm.logLikelihood.toFixed(4)} | ${row.logLikelihoodOursMinusStatsmodels!.toExponential(1)} |`
              : 'n/a | n/a | ' + `${one.logLikelihood.toFixed(4)} | n/a | n/a |`),
        );
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const machine = machineInfo();
  const load = loadavg()
    .map((v) => v.toFixed(2))
    .join(' / ');
  const command = 'npm run bench -- model';
  writeFileSync(
    join(resultsDir, 'model.json'),
    JSON.stringify(
      {
        machine,
        loadAverageAtEnd: load,
        command,
        reps: REPS,
        startsParallel: STARTS_PARALLEL,
        firstFitWithThreadStartSeconds: coldStart,
        sameFitWarmSeconds: warmAgain,
        controlTwoThreads: control,
        statsmodels: smVersion ?? 'statsmodels not installed: apt-get install -y python3-statsmodels',
        rows,
      },
      null,
      2,
    ) + '\n',
  );
  const text = [
    '# Default model benchmark: Markov-switching regression vs statsmodels',
    '',
    `Machine: ${String(machine.cpus)} × ${String(machine.cpuModel)}, ${String(machine.memoryGiB)} GiB, Node ${String(machine.node)}, ${String(machine.date)}; ` +
      `load average at the end ${load} (shared machine: other work may have run at the same time).`,
    `statsmodels: ${smVersion ? `${smVersion} (Debian python3-statsmodels, ${PYTHON})` : 'not installed: apt-get install -y python3-statsmodels — its columns are skipped'}.`,
    `Data: seeded simulations, switching constant and variance (k = 2: means 0/2, variances 1/0.5; k = 3: means −1/1/3, variances 0.5/0.8/1), trend "c".`,
    `Every time includes standard errors (numerical Hessian) and smoothed probabilities. Our worker threads are reused across fits;`,
    `the first fit of a process also starts them: T = 500, k = 2, 2 starts took ${f3(coldStart)} s cold vs ${f3(warmAgain)} s warm here.`,
    `Medians of ${REPS} runs (1 run for statsmodels and the 4-start fits at T = 50,000; 3 for our 1-start fit).`,
    `Reproduce: \`${command}\` (\`BENCH_REPS=5\` for more runs).`,
    '',
    '| T | k | load (1 min) | ours, 1 start, 1 worker (s) | ours, 4 starts, 1 worker (s) | ours, 4 starts, 2 workers (s) | speed-up 1→2 workers (CPU/wall with 2) | statsmodels fit() (s) | speed-up vs statsmodels (1 start each) | log-lik. ours (1 start) | log-lik. statsmodels | ours − statsmodels |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...md,
    '',
    '"1 start" is the same budget as statsmodels\' `fit()`: one starting point (statsmodels\' own default start), EM, then BFGS.',
    'Ours uses the exact score (Fisher identity through the Kim smoother) where statsmodels differentiates numerically,',
    'which is most of the difference at large T; a positive "ours − statsmodels" means our optimum is higher (statsmodels stopped earlier).',
    'The 1→2 worker speed-up needs a second idle CPU: "load (1 min)" is the machine\'s load average when the row was measured;',
    'with a load above the CPU count the second worker thread has no CPU of its own and the speed-up says little. In brackets:',
    'CPU seconds of the process per wall second during the 2-worker fits, i.e. how many threads really ran at once.',
    `Control measured at the start: a plain CPU loop split over 2 threads ran ${control.speedup.toFixed(2)}× faster than on 1 thread`,
    `(${f3(control.oneThreadSeconds)} s → ${f3(control.twoThreadsSeconds)} s; 2× on an idle 2-CPU machine).`,
    '',
  ].join('\n');
  writeFileSync(join(resultsDir, 'model.md'), text);
  process.stdout.write(text);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
