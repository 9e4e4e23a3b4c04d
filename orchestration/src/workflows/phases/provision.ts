// Phase 4, provision: wait (with backoff, until the provisioning deadline) for the group to run
// with an IP and a healthy agent.
import { decodeJobError, JOB_ERROR_CODES, type GroupView } from '../../contracts';
import { decideReadiness, isPast, readinessBackoff, type Readiness } from '../job-decisions';
import type { RunContext, Step } from '../run-context';

export function* provision(ctx: RunContext): Step<void> {
  const { s, settings } = ctx;
  let view: GroupView | undefined;
  try {
    view = yield* ctx.activity('GetContainerGroup', ctx.groupRef);
  } catch (e) {
    // Transient even after retries: keep waiting, the provisioning deadline still applies.
    ctx.log('warn', { err: decodeJobError(e).message }, 'instance view not readable');
  }
  const ready: Readiness = view
    ? decideReadiness(view, s.status.attempts > 1 ? s.groupStartedAt : null)
    : { kind: 'wait', why: 'the instance view is not readable' };
  if (ready.kind === 'failed') {
    s.status.container.exitCode = view?.container?.exitCode ?? null;
    return ctx.attemptFailed(ready.error);
  }
  if (ready.kind === 'ready' && (yield* ctx.activity('CheckAgentHealth', { ip: ready.ip }, null))) {
    s.status.container = { ...s.status.container, state: 'running', ip: ready.ip };
    s.startDeadline = ctx.later(settings.startTimeoutSeconds).toISOString();
    return ctx.enter('starting', 'starting', 'Starting the batch');
  }
  if (isPast(ctx.nowIso(), s.provisionDeadline)) {
    const why = ready.kind === 'wait' ? ready.why : 'agent not healthy';
    return ctx.attemptFailed({
      code: JOB_ERROR_CODES.provisioningTimeout,
      message: `The group was not running with a healthy agent within ${settings.provisionTimeoutSeconds} s (${why}).`,
    });
  }
  ctx.steps += 1;
  yield* ctx.pause(ctx.untilDeadline(s.provisionDeadline, readinessBackoff(ctx.steps, settings.pollIntervalSeconds)));
}
