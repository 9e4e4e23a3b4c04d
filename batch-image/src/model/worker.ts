// Worker-thread entry: a `load` message builds the (standardized) model of one fit; `start`,
// `hessian` and `summarize` messages then run on it. Workers are pooled by fit.ts and reused for later fits.
import { parentPort } from 'node:worker_threads';
import { buildScaledModel, hessianColumns, runStart, summarize, type ScaledModel } from './estimate';
import type { FitInput } from './types';
import type { WorkerReply, WorkerRequest } from './worker-protocol';

const port = parentPort;
if (!port) throw new Error('model/worker must run in a worker thread');
const reply = (m: WorkerReply): void => port.postMessage(m);
let current: { input: FitInput; scaled: ScaledModel } | null = null;

port.on('message', (req: WorkerRequest) => {
  try {
    if (req.type === 'load') {
      current = { input: req.input, scaled: buildScaledModel(req.input) };
      return;
    }
    if (!current) throw new Error(`${req.type} before load`);
    const { input, scaled } = current;
    if (req.type === 'start') {
      const outcome = runStart(scaled.model, req.global, req.seed, input.maxIterations, input.tolerance, (fraction) =>
        reply({ type: 'progress', index: req.index, fraction }),
      );
      reply({ type: 'start-done', index: req.index, outcome });
    } else if (req.type === 'hessian') {
      reply({
        type: 'hessian-done',
        columns: req.columns,
        values: hessianColumns(scaled.model, req.params, req.columns),
      });
    } else {
      reply({ type: 'summary', summary: summarize(input, scaled, req.params, req.hessian) });
      current = null; // the fit is over: free its arrays while the worker idles in the pool
    }
  } catch (err) {
    reply({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
