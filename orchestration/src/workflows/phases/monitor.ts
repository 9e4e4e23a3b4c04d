// Phase 6, monitor: each round reads the agent's /status, the instance view and the cancel record,
// decides, then sleeps until the next poll, the run deadline, a cancel or an agent callback
// (progress callbacks update the status without a poll). The agent's final callback — authenticated
// by its job token (api/callbacks.ts) — decides the end by itself when it is this attempt's and
// says what it is (type and state agree): no poll after it; any other one triggers the poll at once.
// Pull mode (nothing can call the agent) decides in phases/pull.ts from the final callback and the
// instance view.
import { decodeJobError, JOB_ERROR_CODES, type GroupView, type Observation } from '../../contracts';
import { decideOnObservation, isPast, MAX_OBSERVE_FAILURES, recordProgress } from '../job-decisions';
import type { RunContext, Step } from '../run-context';
import { isPull, monitorPull, takeCallback } from './pull';

/** After a failed observation, the next one within this (or the poll interval when shorter), in seconds. */
const OBSERVE_RETRY_SECONDS = 60;

/** An agent callback event as api/callbacks.ts raises it (`at`: when the agent sent it). */
type CallbackEvent = ReturnType<typeof takeCallback> & { at?: string | null };

export function* monitor(ctx: RunContext): Step<void> {
  const { s, spec, settings } = ctx;
  if (isPast(ctx.nowIso(), s.runDeadline)) {
    const message = `The job exceeded timeoutMinutes (${spec.timeoutMinutes}).`;
    return ctx.finish({ state: 'timed_out', error: { code: JOB_ERROR_CODES.timedOut, message } });
  }
  if (isPull(ctx)) {
    if (!(yield* monitorPull(ctx, () => observe(ctx)))) return;
    if (ctx.countStep()) return;
    // Its final callback is kept (s.pullFinal) for the next round.
    yield* sleepUntilNextPoll(ctx, Date.parse(ctx.nowIso()) + settings.pollIntervalSeconds * 1000);
    return;
  }
  if (s.justStarted) {
    s.justStarted = false;
    return yield* sleepThenDecide(ctx);
  }
  const obs = yield* observe(ctx);
  if (!obs) return;
  decide(ctx, obs);
  if (s.outcome || s.phase !== 'running') return;
  if (ctx.countStep()) return;
  yield* sleepThenDecide(ctx);
}

/** What one observation (a poll, or a trusted final callback) means for the job. */
function decide(ctx: RunContext, obs: Observation): void {
  const { s } = ctx;
  const d = decideOnObservation(obs, s.unreachablePolls);
  if (obs.group.ip) s.status.container.ip = obs.group.ip;
  switch (d.kind) {
    case 'cancel':
      return ctx.canceled();
    case 'finished':
      s.status.container.exitCode = d.exitCode;
      recordProgress(s, ctx.nowIso(), 1, obs.agent.message || 'Finished');
      return ctx.finish(d.outcome);
    case 'attemptFailed':
      return ctx.attemptFailed(d.error, d.exitCode);
    case 'continue':
      s.unreachablePolls = d.unreachablePolls;
      if (d.progress >= 0) {
        const before = JSON.stringify([s.status.progress, s.status.message]);
        recordProgress(s, ctx.nowIso(), d.progress, d.message);
        if (JSON.stringify([s.status.progress, s.status.message]) !== before) ctx.publish();
      }
  }
}

/** Sleeps until the next poll; a trusted final callback that ends the sleep decides at once. */
function* sleepThenDecide(ctx: RunContext): Step<void> {
  const final = yield* sleepUntilNextPoll(ctx, Date.parse(ctx.nowIso()) + ctx.settings.pollIntervalSeconds * 1000);
  if (final) decide(ctx, final);
}

/** The instance view behind a final callback: the group exists (its agent just called); nothing more was read. */
const CALLED_FROM: GroupView = {
  exists: true,
  provisioningState: null,
  state: null,
  ip: null,
  container: null,
  lastEvent: null,
};

/**
 * The observation a final callback stands for, when it can be trusted: `completed` with state
 * `succeeded` or `failed` with state `failed` (a callback without its state, or `canceled`, which
 * depends on the cancel record, is checked by a poll), sent after this attempt's group started (a
 * late callback of a restarted attempt's agent must not end the next attempt; a clock too far
 * behind only costs that poll).
 */
function trustedFinal(ctx: RunContext, cb: CallbackEvent): Observation | undefined {
  const agrees =
    (cb.type === 'completed' && cb.state === 'succeeded') || (cb.type === 'failed' && cb.state === 'failed');
  const at = typeof cb.at === 'string' ? Date.parse(cb.at) : NaN;
  const since = ctx.s.groupStartedAt === null ? NaN : Date.parse(ctx.s.groupStartedAt);
  if (!agrees || !(at >= since)) return undefined;
  const agent = {
    reachable: true,
    state: cb.state as 'succeeded' | 'failed',
    progress: typeof cb.progress === 'number' ? cb.progress : 1,
    message: cb.message ?? '',
    exitCode: typeof cb.exitCode === 'number' ? cb.exitCode : null,
    error: cb.error ?? null,
  };
  return { group: CALLED_FROM, agent, cancelRequested: false };
}

/**
 * One observation; undefined when it failed (after its own retries). A transient outage while
 * polling is neither fatal at once nor ignored forever: up to MAX_OBSERVE_FAILURES rounds in a row.
 */
function* observe(ctx: RunContext): Step<Observation | undefined> {
  const { s, settings } = ctx;
  try {
    const obs = yield* ctx.activity('ObserveJob', {
      ...ctx.ids,
      groupName: s.input.groupName,
      ip: s.status.container.ip,
      ...(isPull(ctx) ? { pull: true } : {}),
    });
    s.observeFailures = 0;
    return obs;
  } catch (e) {
    const err = decodeJobError(e, JOB_ERROR_CODES.transient);
    s.observeFailures = (s.observeFailures ?? 0) + 1;
    ctx.log('warn', { code: err.code, failures: s.observeFailures }, 'poll failed');
    if (s.observeFailures >= MAX_OBSERVE_FAILURES) {
      const message = `Polling failed ${s.observeFailures} times in a row: ${err.message}`;
      ctx.attemptFailed({ code: err.code, message }, null);
    } else {
      // Not a whole safety-poll interval (600 s by default since the liveness watch): this pause hears no callback.
      yield* ctx.pause(ctx.untilDeadline(s.runDeadline, Math.min(settings.pollIntervalSeconds, OBSERVE_RETRY_SECONDS)));
    }
    return undefined;
  }
}

/**
 * Sleeps until `nextPoll`; returns the final callback that ended the sleep when it can be trusted.
 * One timer for the whole sleep: a progress callback does not re-arm it (a timer per callback cost a
 * history event each, and on Azure a cancelled durable timer still fires later, in an episode of its own).
 */
function* sleepUntilNextPoll(ctx: RunContext, nextPoll: number): Step<Observation | undefined> {
  const { s, settings } = ctx;
  const remaining = Math.max(0, (nextPoll - Date.parse(ctx.nowIso())) / 1000);
  const timer = ctx.df.createTimer(ctx.later(ctx.untilDeadline(s.runDeadline, remaining)));
  for (;;) {
    const winner = yield ctx.df.Task.any([timer, ctx.cancelEvent, ctx.wake]);
    if (winner === timer) return undefined;
    if (winner === ctx.cancelEvent) {
      timer.cancel();
      ctx.canceled();
      return undefined;
    }
    const cb = takeCallback(ctx);
    if (cb.type !== 'progress') {
      timer.cancel();
      return isPull(ctx) ? undefined : trustedFinal(ctx, cb);
    }
    if (typeof cb.progress === 'number') {
      recordProgress(s, ctx.nowIso(), cb.progress, cb.message ?? '');
      ctx.publish();
    }
    if (++ctx.steps >= settings.stepsPerGeneration) {
      timer.cancel();
      return undefined;
    }
  }
}
