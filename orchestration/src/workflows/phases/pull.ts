// Pull mode's start and monitor (Spot groups and network.mode pull tenants: nothing can call the
// agent). The agent fetches its start from the controller once the job is `starting` (api/
// callbacks-pull.ts raises a `started` callback event when it answers) and reports only by callback;
// the safety poll reads just the instance view and what the agent uploaded. An eviction (ACI
// restarts an evicted Spot group by itself) is a retried attempt whatever onFailure says, up to
// spotAttemptCap(maxAttempts), and the status counts it.
import { EVENTS, EVICTED_REASON, JOB_ERROR_CODES, type Observation } from '../../contracts';
import {
  decidePullFinal,
  decidePullObservation,
  isPast,
  recordProgress,
  spotAttemptCap,
  type PullDecision,
} from '../job-decisions';
import { matchRule, recordAttemptEnd, recordAttemptStart } from '../retry-decision';
import type { RunContext, Step } from '../run-context';
import type { PullFinal } from '../run-state';

export const isPull = (ctx: RunContext): boolean => ctx.spec.startMode === 'pull';

interface CallbackEvent {
  type?: string;
  state?: string | null;
  progress?: number | null;
  message?: string;
  exitCode?: number | null;
  uploads?: { result?: boolean };
  error?: string;
}

const FINAL_TYPES = ['completed', 'failed', 'canceled'];

/** Takes the callback event that just won a wait, and arms the next one. */
export function takeCallback(ctx: RunContext): CallbackEvent {
  const cb = (ctx.wake.result ?? {}) as CallbackEvent;
  ctx.wake = ctx.df.waitForExternalEvent(EVENTS.callback);
  if (isPull(ctx) && cb.type && FINAL_TYPES.includes(cb.type)) ctx.s.pullFinal = toFinal(cb);
  return cb;
}

const toFinal = (cb: CallbackEvent): PullFinal => ({
  type: cb.type as PullFinal['type'],
  exitCode: typeof cb.exitCode === 'number' ? cb.exitCode : null,
  uploaded: cb.uploads?.result === true,
  error: cb.error ?? null,
});

/** Start, pull mode: wait until the agent took its start (or reported at all), or the start deadline. */
export function* startPull(ctx: RunContext): Step<void> {
  const { s, settings } = ctx;
  const why = yield* ctx.wait(ctx.untilDeadline(s.startDeadline, settings.startTimeoutSeconds), true);
  if (why === 'cancel') return ctx.canceled();
  if (why === 'callback') {
    const cb = takeCallback(ctx);
    // A ready callback is the agent announcing itself: it asks for its start next.
    if (cb.type === 'ready') return;
    // The evicted container's last word (SIGTERM: canceled, nothing uploaded) arrives late: not this attempt's.
    if (s.pullFinal?.type === 'canceled' && !s.pullFinal.uploaded) {
      s.pullFinal = null;
      return;
    }
    s.status.startedAt ??= ctx.nowIso();
    s.runDeadline ??= ctx.later(ctx.spec.timeoutMinutes * 60).toISOString();
    s.unreachablePolls = 0;
    ctx.enter(
      'running',
      'running',
      s.status.evictions ? `Running (after ${s.status.evictions} eviction(s))` : 'Running',
    );
    ctx.steps = 0;
    return;
  }
  if (isPast(ctx.nowIso(), s.startDeadline)) {
    ctx.attemptFailed(
      {
        code: JOB_ERROR_CODES.agentUnreachable,
        message: `The agent did not fetch its start within ${settings.startTimeoutSeconds} s (pull mode).`,
      },
      null,
    );
  }
}

/** One monitor round in pull mode: the final callback if it came, else the safety poll. */
export function* monitorPull(ctx: RunContext, observe: () => Step<Observation | undefined>): Step<boolean> {
  const { s } = ctx;
  let d: PullDecision;
  /** The container's exit code as this round learnt it (for a stopped Regular group). */
  let exitCode: number | null;
  const known = s.knownRestarts ?? 0;
  if (s.pullFinal) {
    exitCode = s.pullFinal.exitCode;
    d = decidePullFinal(s.pullFinal, s.cancelRequested);
    // Stopped by SIGTERM: ACI restarts the evicted group once; that restart is this eviction, not another.
    if (d.kind === 'evicted') s.knownRestarts = known + 1;
  } else {
    const obs = yield* observe();
    if (!obs) return false;
    exitCode = obs.group.container?.exitCode ?? null;
    d = decidePullObservation(obs, known);
    const count = obs.group.container?.restartCount ?? 0;
    // Seen restarted: that restart is counted; seen terminated (Evicted) before ACI restarted it: the coming one is.
    if (d.kind === 'evicted') s.knownRestarts = count > known ? count : count + 1;
  }
  switch (d.kind) {
    case 'continue':
      return true;
    case 'cancel':
      ctx.canceled();
      return false;
    case 'finished':
      s.status.container.exitCode = d.exitCode;
      recordProgress(s, ctx.nowIso(), 1, 'Finished');
      ctx.finish(d.outcome);
      return false;
    case 'attemptFailed':
      ctx.attemptFailed(d.error, d.exitCode);
      return false;
    case 'evicted':
      // Only Spot groups are evicted (and restarted by ACI); a Regular one was stopped: a failed attempt.
      if (ctx.spec.priority === 'Spot') evicted(ctx, d.why);
      else
        ctx.attemptFailed(
          { code: JOB_ERROR_CODES.containerExited, message: `The container was stopped (${d.why}).` },
          exitCode,
        );
      return false;
  }
}

/**
 * An eviction: ACI restarts the group, whose agent asks for its start again — so the next attempt
 * waits at the start step, whatever onFailure says, while attempts (spotAttemptCap) and time last.
 */
export function evicted(ctx: RunContext, why: string): void {
  const { s, settings, spec } = ctx;
  s.status.evictions = (s.status.evictions ?? 0) + 1;
  s.pullFinal = null;
  s.status.container.exitCode = 137;
  const cap = spotAttemptCap(spec.maxAttempts);
  const error = {
    code: JOB_ERROR_CODES.evicted,
    message: `The Spot group was evicted ${s.status.evictions} time(s) (${why}); attempts: ${s.status.attempts} of ${cap}.`,
  };
  ctx.log('warn', { evictions: s.status.evictions, attempt: s.status.attempts }, 'evicted');
  const failed = { reason: EVICTED_REASON, exitCode: 137 };
  recordAttemptEnd(s, failed);
  // A retry rule may refuse evictions (`onReason: Evicted, action: fail`); otherwise they are retried.
  const refused = matchRule(spec.retry?.rules, failed)?.action === 'fail';
  if (refused || s.status.attempts >= cap || isPast(ctx.nowIso(), s.runDeadline)) return ctx.fail(error);
  s.status.attempts += 1;
  recordAttemptStart(s);
  s.status.error = error;
  // The restarted container starts from scratch (image pull included): provisioning time plus start time.
  s.startDeadline = ctx.later(settings.provisionTimeoutSeconds + settings.startTimeoutSeconds).toISOString();
  ctx.enter(
    'starting',
    'starting',
    `Evicted (Spot, ${s.status.evictions} eviction(s)); attempt ${s.status.attempts} waits for the restarted container`,
  );
}

/**
 * Teardown of a canceled pull-mode job that had started: the agent learns of the cancel only from
 * the answer to its next callback (heartbeats at least every 15 s), so wait for its final callback,
 * at most `seconds`, before the group goes.
 */
export function* awaitFinalCallback(ctx: RunContext, seconds: number): Step<boolean> {
  const until = Date.parse(ctx.nowIso()) + seconds * 1000;
  while (!ctx.s.pullFinal) {
    const left = (until - Date.parse(ctx.nowIso())) / 1000;
    if (left <= 0) return false;
    // Not ctx.wait: the cancel event already fired; only the callback and the timer matter now.
    const timer = ctx.df.createTimer(ctx.later(left));
    const winner = yield ctx.df.Task.any([timer, ctx.wake]);
    if (winner !== timer) timer.cancel();
    else return false;
    takeCallback(ctx);
  }
  return true;
}
