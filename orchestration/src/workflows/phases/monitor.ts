// Phase 6, monitor: each round reads the agent's /status, the instance view and the cancel record,
// decides, then sleeps until the next poll, the run deadline, a cancel or an agent callback
// (progress callbacks update the status without a poll; a final one triggers the poll at once).
// Pull mode (nothing can call the agent) decides in phases/pull.ts from the final callback and the
// instance view.
import { decodeJobError, JOB_ERROR_CODES, type Observation } from '../../contracts';
import { decideOnObservation, isPast, MAX_OBSERVE_FAILURES, recordProgress } from '../job-decisions';
import type { RunContext, Step } from '../run-context';
import { isPull, monitorPull, takeCallback } from './pull';

export function* monitor(ctx: RunContext): Step<void> {
  const { s, spec, settings } = ctx;
  if (isPast(ctx.nowIso(), s.runDeadline)) {
    const message = `The job exceeded timeoutMinutes (${spec.timeoutMinutes}).`;
    return ctx.finish({ state: 'timed_out', error: { code: JOB_ERROR_CODES.timedOut, message } });
  }
  if (isPull(ctx)) {
    if (!(yield* monitorPull(ctx, () => observe(ctx)))) return;
    if (ctx.countStep()) return;
    return yield* sleepUntilNextPoll(ctx, Date.parse(ctx.nowIso()) + settings.pollIntervalSeconds * 1000);
  }
  if (s.justStarted) {
    s.justStarted = false;
    return yield* sleepUntilNextPoll(ctx, Date.parse(ctx.nowIso()) + settings.pollIntervalSeconds * 1000);
  }
  const obs = yield* observe(ctx);
  if (!obs) return;
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
  if (ctx.countStep()) return;
  yield* sleepUntilNextPoll(ctx, Date.parse(ctx.nowIso()) + settings.pollIntervalSeconds * 1000);
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
      yield* ctx.pause(ctx.untilDeadline(s.runDeadline, settings.pollIntervalSeconds));
    }
    return undefined;
  }
}

function* sleepUntilNextPoll(ctx: RunContext, nextPoll: number): Step<void> {
  const { s, settings } = ctx;
  for (;;) {
    const remaining = Math.max(0, (nextPoll - Date.parse(ctx.nowIso())) / 1000);
    const why = yield* ctx.wait(ctx.untilDeadline(s.runDeadline, remaining), true);
    if (why === 'cancel') return ctx.canceled();
    if (why !== 'callback') return;
    const cb = takeCallback(ctx);
    if (cb.type !== 'progress') return;
    if (typeof cb.progress === 'number') {
      recordProgress(s, ctx.nowIso(), cb.progress, cb.message ?? '');
      ctx.publish();
    }
    if (++ctx.steps >= settings.stepsPerGeneration) return;
  }
}
