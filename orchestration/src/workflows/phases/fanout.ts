// An array's parent (issue 13): start its tasks as sub-orchestrations of the job orchestrator —
// Durable Functions' own fan-out/fan-in — at most `parallelism` in flight, follow them as they end,
// and decide: every task succeeded → succeeded; else TaskFailed. History stays bounded for 1,000
// tasks: a generation starts at most 2 × max(HISTORY_STEPS_PER_GENERATION, parallelism) tasks (200
// by default), lets them drain, and hands over (continueAsNew) with one state character per task. A cancel cancels the tasks in flight,
// waits for their teardown (bounded), and counts the tasks never started as canceled.
import {
  instanceIdOf,
  JOB_ERROR_CODES,
  ORCHESTRATORS,
  TASK_STATE_CODES,
  taskJobIdOf,
  taskStateCode,
  type JobStatus,
} from '../../contracts';
import { countsOf, taskInput } from '../array-tasks';
import type { RunContext, Step, TaskLike } from '../run-context';

/** Tasks one generation may start (at least twice the parallelism, so the drain is a small part). */
export const startsPerGeneration = (parallelism: number, stepsPerGeneration: number): number =>
  2 * Math.max(stepsPerGeneration, parallelism);

export function* fanout(ctx: RunContext): Step<void> {
  const { s, spec } = ctx;
  const array = spec.array!;
  const a = (s.array ??= { next: 0, states: '.'.repeat(array.count) });
  const budget = startsPerGeneration(array.parallelism, ctx.settings.stepsPerGeneration);
  const until = Math.min(array.count, a.next + budget);
  if (a.next < until && !a.canceled) {
    const { inputsBlob } = array;
    const req = { ...tenantJob(ctx), instanceId: s.input.instanceId, from: a.next, to: until };
    const prepared = yield* ctx.activity('PrepareTasks', { ...req, ...(inputsBlob ? { inputsBlob } : {}) });
    // A cancel raised while the previous generation handed over is still in the ledger.
    if (prepared.canceled) a.canceled = s.cancelRequested = true;
  }

  const inFlight = new Map<number, TaskLike>();
  let teardownTimer: TaskLike | undefined;
  for (;;) {
    while (!a.canceled && inFlight.size < array.parallelism && a.next < until) {
      const task = taskInput(s.input, a.next, ctx.nowIso());
      inFlight.set(a.next, ctx.df.callSubOrchestrator(ORCHESTRATORS.job, { job: task }, task.instanceId));
      a.next += 1;
    }
    if (inFlight.size === 0) break;
    publishCounts(ctx, inFlight.size);
    const winner = yield ctx.df.Task.any([...inFlight.values(), teardownTimer ?? ctx.cancelEvent]);
    if (winner === ctx.cancelEvent) {
      teardownTimer = yield* cancelTasks(ctx, [...inFlight.keys()]);
      continue;
    }
    if (winner === teardownTimer) {
      ctx.log('warn', { inFlight: inFlight.size }, 'canceled tasks did not end within the teardown deadline');
      break;
    }
    for (const [index, t] of inFlight) {
      if (!t.isCompleted && !t.isFaulted) continue;
      const status = t.isFaulted ? undefined : (t.result as JobStatus | undefined);
      a.states = a.states.slice(0, index) + taskStateCode(status?.state ?? 'failed') + a.states.slice(index + 1);
      addUsage(ctx, status);
      inFlight.delete(index);
    }
  }
  if (a.next < array.count && !a.canceled) {
    ctx.continued = true; // the next generation starts the next batch with a fresh history
    return;
  }
  yield* complete(ctx);
}

/** The parent's usage (and so its cost) is its tasks' together: teardown bills it like a group's. */
function addUsage(ctx: RunContext, task: JobStatus | undefined): void {
  if (!task?.usage) return;
  const { s, spec } = ctx;
  s.billedSeconds += task.usage.vcpuSeconds / spec.cpu;
  s.billedGbSeconds = (s.billedGbSeconds ?? 0) + task.usage.gbSeconds;
}

const tenantJob = (ctx: RunContext) => ({ tenant: ctx.s.input.tenant, jobId: ctx.s.input.jobId });

/** Cancels the tasks in flight; answers the timer that bounds the wait for their teardown. */
function* cancelTasks(ctx: RunContext, indexes: number[]): Step<TaskLike> {
  const { s } = ctx;
  s.array!.canceled = true;
  s.cancelRequested = true;
  const instanceIds = indexes.map((i) => instanceIdOf(s.input.tenant, taskJobIdOf(s.input.jobId, i)));
  ctx.log('info', { tasks: instanceIds.length }, 'array canceled; canceling its tasks in flight');
  try {
    yield* ctx.activity('CancelJobs', { tenant: s.input.tenant, instanceIds });
  } catch {
    ctx.log('warn', {}, 'task cancels not delivered; each task still ends by its own deadlines');
  }
  // A task's teardown is bounded by TEARDOWN_TIMEOUT_SECONDS; twice that covers its last episode.
  return ctx.df.createTimer(ctx.later(2 * ctx.settings.teardownTimeoutSeconds + 30));
}

function publishCounts(ctx: RunContext, inFlight: number): void {
  const { s } = ctx;
  const counts = countsOf(s.array!.states);
  const ended = s.array!.states.length - counts.queued;
  const prev = s.status.array;
  if (prev && JSON.stringify(prev.counts) === JSON.stringify(counts) && s.status.state === 'running') return;
  s.status.array = { ...prev!, counts };
  s.status.progress = ended / s.array!.states.length;
  ctx.enter('fanout', 'running', `${ended} of ${s.array!.states.length} tasks ended; ${inFlight} in flight`);
}

/** Every task ended (or the array was canceled): the parent's result and outcome. */
function* complete(ctx: RunContext): Step<void> {
  const { s, spec } = ctx;
  const a = s.array!;
  if (a.canceled) a.states = a.states.replace(/\./g, 'c'); // never started (or not confirmed in time)
  const counts = countsOf(a.states);
  s.status.array = { ...s.status.array!, counts };
  const completion = yield* ctx.activity('CompleteArray', {
    ...tenantJob(ctx),
    states: a.states,
    ...(spec.array!.select ? { select: spec.array!.select } : {}),
  });
  if (Object.keys(completion.urls).length) s.status.result = { urls: completion.urls };
  if (spec.array!.select) s.status.array.selected = completion.selected;
  if (a.canceled) return ctx.canceled();
  const first = [...a.states].findIndex((c) => c !== 's');
  if (first < 0) return ctx.finish({ state: 'succeeded', error: null });
  const notSucceeded = a.states.length - counts.succeeded;
  ctx.fail({
    code: JOB_ERROR_CODES.taskFailed,
    message: `${notSucceeded} of ${a.states.length} tasks did not succeed (the first: task ${first}, ${TASK_STATE_CODES[a.states[first]!]}).`,
  });
}
