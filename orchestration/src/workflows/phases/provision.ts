// Phase 4, provision: wait for the group to run with a reachable agent, until the provisioning
// deadline. Event-driven: the agent announces itself with a `ready` callback, and the controller
// then confirms the group's address with one ARM read (it talks only to the IP ARM reports), which
// starts the batch at that address in the same activity. A fallback timer (READY_FALLBACK_SECONDS,
// for a lost callback) reads the group and checks the agent's health as before; it also notices a
// provisioning failure.
import { decodeJobError, EVENTS, JOB_ERROR_CODES, type ReadGroupAnswer } from '../../contracts';
import { decideReadiness, isPast, type Readiness } from '../job-decisions';

/** After the agent's ready callback, how soon ARM is read again while it lags behind (seconds). */
const REREAD_AFTER_READY_SECONDS = 1;
import type { RunContext, Step } from '../run-context';
import { isPull } from './pull';
import { answered, startRequest } from './start';

export function* provision(ctx: RunContext): Step<void> {
  const { s, settings } = ctx;
  const pull = isPull(ctx);
  ctx.steps += 1;
  if (s.agentReady) {
    // The agent said it listens, ARM did not show the address yet: read again soon.
    yield* ctx.pause(ctx.untilDeadline(s.provisionDeadline, REREAD_AFTER_READY_SECONDS));
  } else {
    // (A job submitted before this setting existed has none: 30 s.)
    const fallback = ctx.untilDeadline(s.provisionDeadline, settings.readyFallbackSeconds ?? 30);
    const woke = yield* ctx.waitForEvent(EVENTS.ready, fallback);
    if (woke.why === 'cancel') return ctx.canceled();
    if (woke.why === 'event') s.agentReady = true;
  }
  if (s.outcome) return;
  let view: ReadGroupAnswer | undefined;
  try {
    // After the ready callback the same read starts the agent at the address it shows.
    const start = s.agentReady && !pull ? { start: startRequest(ctx) } : {};
    view = yield* ctx.activity('GetContainerGroup', { ...ctx.groupRef, ...start });
  } catch (e) {
    // Transient even after retries: keep waiting, the provisioning deadline still applies.
    ctx.log('warn', { err: decodeJobError(e).message }, 'instance view not readable');
  }
  const ready: Readiness = view
    ? decideReadiness(view, s.status.attempts > 1 ? s.groupStartedAt : null, !pull)
    : { kind: 'wait', why: 'the instance view is not readable' };
  if (ready.kind === 'failed') {
    return ctx.attemptFailed(ready.error, view?.container?.exitCode ?? null);
  }
  // After the agent's own ready callback its health is known; without it, ask the agent. In pull
  // mode nothing can ask it: Running is enough (the agent asks for its start when it listens).
  const known = pull || !!s.agentReady;
  if (ready.kind === 'ready' && (known || (yield* ctx.activity('CheckAgentHealth', { ip: ready.ip }, null)))) {
    s.status.container = { ...s.status.container, state: 'running', ip: pull ? null : ready.ip };
    if (pull) {
      s.knownRestarts = view?.container?.restartCount ?? 0;
      s.pullFinal = null;
    }
    s.startDeadline = ctx.later(settings.startTimeoutSeconds).toISOString();
    ctx.enter('starting', 'starting', 'Starting the batch');
    // Started by the read (an agent that did not answer is started by the start phase, as before).
    if (view?.started) answered(ctx, view.started);
    return;
  }
  if (isPast(ctx.nowIso(), s.provisionDeadline)) {
    const why = ready.kind === 'wait' ? ready.why : 'agent not healthy';
    return ctx.attemptFailed(
      {
        code: JOB_ERROR_CODES.provisioningTimeout,
        message: `The group was not running with a healthy agent within ${settings.provisionTimeoutSeconds} s (${why}).`,
      },
      null,
    );
  }
}
