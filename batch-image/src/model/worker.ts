// Worker-thread entry: builds the (standardized) model once from the input, then runs the starts
// and the final summary that fitModel sends it.
import { parentPort, workerData } from 'node:worker_threads';
import { buildScaledModel, runStart, summarize } from './estimate';
import type { WorkerData, WorkerReply, WorkerRequest } from './worker-protocol';

const port = parentPort;
if (!port) throw new Error('model/worker must run in a worker thread');
const { input } = workerData as WorkerData;
const scaled = buildScaledModel(input);
const reply = (m: WorkerReply): void => port.postMessage(m);

port.on('message', (req: WorkerRequest) => {
  try {
    if (req.type === 'start') {
      const outcome = runStart(scaled.model, req.index, req.seed, input.maxIterations, input.tolerance, (fraction) =>
        reply({ type: 'progress', index: req.index, fraction }),
      );
      reply({ type: 'start-done', index: req.index, outcome });
    } else {
      reply({ type: 'summary', summary: summarize(input, scaled, req.params) });
    }
  } catch (err) {
    reply({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
});
