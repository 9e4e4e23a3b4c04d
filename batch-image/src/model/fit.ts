// fitModel: runs the estimation starts in parallel worker threads (as many as the container's CPU
// quota allows), keeps the best log-likelihood, and has one worker summarize it. The main thread
// only coordinates, so an HTTP agent in it stays responsive during a long fit. Threads that finish a
// fit cleanly wait (unref'd, so they never keep the process alive) for the next one: starting a
// thread costs 50-300 ms, more than a whole fit of a short series.
import { Worker } from 'node:worker_threads';
import { extname, join } from 'node:path';
import { availableCpus } from './cpus';
import { assessFit } from './diagnostics';
import { canonicalParams, shapeOf, thetaLength, type PlainParams, type StartOutcome } from './estimate';
import { startSeed } from './rng';
import type { FitInput, FitOptions, FitResult, StartReport } from './types';
import type { WorkerReply, WorkerRequest } from './worker-protocol';

/** Idle threads kept for the next fit. */
const MAX_IDLE = 8;
const idle: Worker[] = [];

function createWorker(): Worker {
  const ext = extname(__filename);
  const file = join(__dirname, `worker${ext}`);
  let w: Worker;
  if (ext === '.ts') {
    // Running from sources (tests, tsx): worker threads do not inherit tsx's loader, so register it.
    const tsx = require.resolve('tsx/cjs/api');
    w = new Worker(`require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(file)});`, { eval: true });
  } else {
    w = new Worker(file);
  }
  // An idle thread that dies is simply forgotten.
  w.on('exit', () => {
    const i = idle.indexOf(w);
    if (i >= 0) idle.splice(i, 1);
  });
  return w;
}

function acquireWorker(): Worker {
  const w = idle.pop() ?? createWorker();
  w.ref();
  return w;
}

function releaseWorker(w: Worker): void {
  if (idle.length >= MAX_IDLE) {
    void w.terminate();
    return;
  }
  w.unref();
  idle.push(w);
}

/** Terminates the idle worker threads (they are unref'd, so this is only needed for a tidy shutdown). */
export async function shutdownModelWorkers(): Promise<void> {
  const all = idle.splice(0);
  await Promise.all(all.map((w) => w.terminate()));
}

export function abortError(reason?: unknown): Error {
  const err = new Error('the fit was aborted', reason === undefined ? undefined : { cause: reason });
  err.name = 'AbortError';
  return err;
}

/** Standard deviation of y: the estimators work on y / sd(y), whose log-likelihood differs by T·log sd. */
function logScaleOfY(y: number[]): number {
  let m = 0;
  for (const v of y) m += v;
  m /= y.length;
  let s = 0;
  for (const v of y) s += (v - m) ** 2;
  const sd = Math.sqrt(s / y.length);
  return sd > 0 && Number.isFinite(sd) ? Math.log(sd) : 0;
}

/** Population variance of y (the scale the degenerate-fit rules compare regime variances with). */
function varianceOf(y: number[]): number {
  let m = 0;
  for (const v of y) m += v;
  m /= y.length;
  let s = 0;
  for (const v of y) s += (v - m) ** 2;
  return s / y.length;
}

/**
 * The winning start: the highest finite log-likelihood among non-degenerate starts (see
 * isDegenerate), else among all; ties go to the lower index, so the choice never depends on timing.
 */
export function chooseBest(outcomes: Pick<StartOutcome, 'logLikelihood' | 'degenerate'>[]): number {
  let best = -1;
  const rank = (o: Pick<StartOutcome, 'logLikelihood' | 'degenerate'>): [number, number] => [
    o.degenerate ? 0 : 1,
    Number.isFinite(o.logLikelihood) ? o.logLikelihood : -Infinity,
  ];
  outcomes.forEach((o, i) => {
    if (best < 0) {
      best = i;
      return;
    }
    const [da, la] = rank(o);
    const [db, lb] = rank(outcomes[best]!);
    if (da > db || (da === db && la > lb)) best = i;
  });
  return Math.max(best, 0);
}

export function fitModel(input: FitInput, opts: FitOptions = {}): Promise<FitResult> {
  const began = performance.now();
  const { signal, onProgress } = opts;
  if (signal?.aborted) return Promise.reject(abortError(signal.reason));
  const requested = opts.workers ?? availableCpus();
  const workerCount = Math.max(1, Math.min(input.starts, Math.floor(Number.isFinite(requested) ? requested : 1)));
  const llShift = input.y.length * logScaleOfY(input.y);
  const task = opts.task ? { index: opts.task.index, count: opts.task.count } : null;
  if (
    task &&
    !(Number.isInteger(task.index) && Number.isInteger(task.count) && task.index >= 0 && task.index < task.count)
  )
    return Promise.reject(
      new Error(`task must be {index, count} with 0 <= index < count, got ${JSON.stringify(task)}`),
    );
  /** Start i of this fit is start `firstStart + i` of the seed's one sequence (see FitOptions.task). */
  const firstStart = (task?.index ?? 0) * input.starts;

  return new Promise<FitResult>((resolve, reject) => {
    const workers: Worker[] = [];
    const outcomes: (StartOutcome | undefined)[] = new Array<StartOutcome | undefined>(input.starts).fill(undefined);
    const fractions = new Float64Array(input.starts);
    let nextStart = 0;
    let done = 0;
    let settled = false;
    let summarizing = false;
    let bestIndex = -1;

    let lastFraction = 0;
    // Progress never goes backwards, whatever order the workers report in.
    const report = (fraction: number, message: string): void => {
      lastFraction = Math.max(lastFraction, Math.min(1, Math.max(0, fraction)));
      if (!settled && onProgress) {
        try {
          onProgress(lastFraction, message);
        } catch {
          /* a progress sink must not break the fit */
        }
      }
    };
    const startsFraction = (): number => {
      let sum = 0;
      for (const f of fractions) sum += f;
      return (0.9 * sum) / input.starts;
    };
    const detach: (() => void)[] = [];
    const finish = (err: Error | null, result?: FitResult): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      for (const d of detach) d();
      // After an error or abort a thread may still be computing: end it. Otherwise keep it for the next fit.
      for (const w of workers) {
        if (err) void w.terminate();
        else releaseWorker(w);
      }
      if (err) reject(err);
      else resolve(result!);
    };
    const onAbort = (): void => finish(abortError(signal?.reason));
    signal?.addEventListener('abort', onAbort, { once: true });

    const send = (w: Worker, req: WorkerRequest): void => w.postMessage(req);
    // After the starts: relabel the winner, spread the Hessian's columns over every worker, then one
    // worker assembles the summary.
    let canonical: PlainParams | null = null;
    const shape = shapeOf(input);
    const nTheta = thetaLength(shape);
    const hessian: (number[] | null)[] = new Array<number[] | null>(nTheta).fill(null);
    let hessianPending = 0;
    let hessianDone = 0;
    const beginSummary = (): void => {
      summarizing = true;
      bestIndex = chooseBest(outcomes.map((o) => o!));
      canonical = canonicalParams(shape, outcomes[bestIndex]!.params);
      report(0.9, `best of ${input.starts} starts: #${bestIndex}; computing standard errors and probabilities`);
      workers.forEach((w, wi) => {
        const columns: number[] = [];
        for (let i = wi; i < nTheta; i += workers.length) columns.push(i);
        if (columns.length === 0) return;
        hessianPending++;
        send(w, { type: 'hessian', params: canonical!, columns });
      });
    };
    const dispatch = (w: Worker): void => {
      if (nextStart < input.starts) {
        const index = nextStart++;
        const global = firstStart + index;
        send(w, { type: 'start', index, global, seed: startSeed(input.seed, global) });
      } else if (done === input.starts && !summarizing) {
        beginSummary();
      }
    };

    report(
      0,
      `fitting ${input.k}-regime model to ${input.y.length} observations: ${input.starts} starts on ${workerCount} worker thread(s)`,
    );
    for (let i = 0; i < workerCount; i++) {
      let w: Worker;
      try {
        w = acquireWorker();
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      workers.push(w);
      const onMessage = (msg: WorkerReply): void => {
        if (settled) return;
        switch (msg.type) {
          case 'progress': {
            fractions[msg.index] = msg.fraction;
            report(startsFraction(), `start ${msg.index + 1}/${input.starts} running`);
            break;
          }
          case 'start-done': {
            outcomes[msg.index] = msg.outcome;
            fractions[msg.index] = 1;
            done++;
            const ll = msg.outcome.logLikelihood - llShift;
            report(
              startsFraction(),
              `start ${msg.index + 1}/${input.starts} done: log-likelihood ${ll.toFixed(4)}${msg.outcome.converged ? '' : ' (not converged)'}`,
            );
            dispatch(w);
            break;
          }
          case 'hessian-done': {
            msg.columns.forEach((c, i) => {
              hessian[c] = msg.values[i] ?? null;
            });
            hessianDone += msg.columns.length;
            report(0.9 + (0.07 * hessianDone) / nTheta, 'standard errors: numerical Hessian');
            if (--hessianPending === 0) send(workers[0]!, { type: 'summarize', params: canonical!, hessian });
            break;
          }
          case 'summary': {
            const starts: StartReport[] = outcomes.map((o, i) => ({
              seed: startSeed(input.seed, firstStart + i),
              logLikelihood: o!.logLikelihood - llShift,
              iterations: o!.iterations,
              converged: o!.converged,
              seconds: o!.seconds,
              degenerate: o!.degenerate,
              globalIndex: firstStart + i,
            }));
            const converged = starts[bestIndex]!.converged;
            const summary = msg.summary;
            const { usable, warnings } = assessFit({
              k: summary.k,
              p: shape.p,
              switchingCoefficients: input.switchingCoefficients,
              switchingVariance: input.switchingVariance,
              varianceY: varianceOf(input.y),
              logLikelihood: summary.logLikelihood,
              converged,
              occupancy: summary.regimes.map((_, j) =>
                summary.smoothedProbabilities.reduce((sum, row) => sum + (row[j] ?? 0), 0),
              ),
              sigma2: summary.regimes.map((r) => r.sigma2),
              regimesWithoutStandardErrors: summary.regimes.flatMap((r, j) =>
                r.standardErrors.some((e) => e === null) || r.sigma2StandardError === null ? [j] : [],
              ),
            });
            report(1, 'done');
            finish(null, {
              ...summary,
              starts,
              bestStart: bestIndex,
              converged,
              usable,
              warnings,
              task,
              elapsedSeconds: (performance.now() - began) / 1000,
              workers: workerCount,
            });
            break;
          }
          case 'error':
            finish(new Error(`model worker failed: ${msg.message}`));
            break;
        }
      };
      const onError = (err: Error): void => finish(err);
      const onExit = (code: number): void => {
        if (!settled) finish(new Error(`model worker exited unexpectedly with code ${code}`));
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      detach.push(() => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      });
      send(w, { type: 'load', input });
      dispatch(w);
    }
  });
}
