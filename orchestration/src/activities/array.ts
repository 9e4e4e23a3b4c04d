// Activities of a job array's parent (workflows/phases/fanout.ts): split the inputs into the tasks'
// input blobs as they start (and read the parent's cancel record), cancel tasks, and write the
// parent's result at the end — with select "best", the result of the succeeded task with the
// highest log-likelihood, saying which it was.
import { cancelJobs } from '../admission/cancel-jobs';
import { blobNames, TASK_STATE_CODES, taskJobIdOf, type ActivityHandlers, type ArrayCompletion } from '../contracts';
import { forEachLimited } from '../parallel';
import type { ActivityDeps } from './deps';
import { retryable } from './outcomes';

/** Blob reads/writes in flight at once (a batch of tasks is up to a few hundred). */
const IO_CONCURRENCY = 16;

const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

export function arrayActivities(
  deps: ActivityDeps,
): Pick<ActivityHandlers, 'PrepareTasks' | 'CancelJobs' | 'CompleteArray'> {
  const readJson = async (name: string): Promise<unknown> => {
    const stored = await deps.results.get(name);
    return stored ? (JSON.parse(stored.body.toString('utf8')) as unknown) : undefined;
  };
  return {
    PrepareTasks: (req) =>
      retryable('prepare tasks', async () => {
        const canceled = await deps.admission.cancelRequested(req.tenant, req.instanceId);
        if (canceled || !req.inputsBlob) return { prepared: 0, canceled };
        const inputs = await readJson(req.inputsBlob);
        if (!Array.isArray(inputs)) throw new Error(`the array's inputs (${req.inputsBlob}) are missing`);
        const indexes = range(req.from, Math.min(req.to, inputs.length));
        await forEachLimited(indexes, IO_CONCURRENCY, async (i) => {
          const name = blobNames(req.tenant, taskJobIdOf(req.jobId, i)).input;
          await deps.results.put(name, JSON.stringify(inputs[i]), 'application/json');
        });
        return { prepared: indexes.length, canceled };
      }),
    CancelJobs: (req, env) =>
      cancelJobs(
        { admission: deps.admission, raise: env.raise, log: deps.log },
        req.tenant,
        req.instanceIds,
        deps.now().toISOString(),
      ),
    CompleteArray: (req) =>
      retryable('complete array', async (): Promise<ArrayCompletion> => {
        const name = blobNames(req.tenant, req.jobId).result;
        const tasks = [...req.states].map((code, index) => ({
          index,
          id: taskJobIdOf(req.jobId, index),
          state: TASK_STATE_CODES[code] ?? 'failed',
        }));
        if (req.select !== 'best') {
          const url = await deps.results.put(name, JSON.stringify({ result: { tasks } }), 'application/json');
          return { urls: { result: url }, selected: null };
        }
        let best: { id: string; index: number; logLikelihood: number; result: Record<string, unknown> } | undefined;
        await forEachLimited(
          tasks.filter((t) => t.state === 'succeeded'),
          IO_CONCURRENCY,
          async (t) => {
            const doc = (await readJson(blobNames(req.tenant, t.id).result)) as { result?: unknown } | undefined;
            const result = doc?.result as Record<string, unknown> | undefined;
            const ll = result?.logLikelihood;
            if (!result || typeof ll !== 'number' || !Number.isFinite(ll)) return;
            if (!best || ll > best.logLikelihood || (ll === best.logLikelihood && t.index < best.index))
              best = { id: t.id, index: t.index, logLikelihood: ll, result };
          },
        );
        if (!best) return { urls: {}, selected: null };
        const selected = { id: best.id, index: best.index, logLikelihood: best.logLikelihood };
        const doc = { result: { ...best.result, selectedTask: selected } };
        const urls: Record<string, string> = {
          result: await deps.results.put(name, JSON.stringify(doc), 'application/json'),
        };
        // The chosen task's chart is the parent's chart.
        const chart = await deps.results.get(blobNames(req.tenant, best.id).chart);
        if (chart)
          urls['chart.svg'] = await deps.results.put(
            blobNames(req.tenant, req.jobId).chart,
            chart.body,
            chart.contentType,
          );
        return { urls, selected };
      }),
  };
}
