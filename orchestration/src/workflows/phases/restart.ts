// Phase 7, restart: keep the failed attempt's logs (ACI keeps only the current run's), wait the
// retry's backoff (a durable timer), then restart the group — or create it again: when the next
// attempt needs more memory (ACI refuses a PUT that changes the memory of an existing group, so it
// is deleted first) or when the restart fails (the group may be gone).
import { decodeJobError, JOB_ERROR_CODES, type Outcome } from '../../contracts';
import { billAttempt } from '../job-decisions';
import { recordAttemptStart } from '../retry-decision';
import type { RunContext, Step } from '../run-context';

export function* restart(ctx: RunContext): Step<void> {
  const { s, settings } = ctx;
  billAttempt(s, ctx.nowIso());
  const plan = s.retryPlan ?? { backoffSeconds: 0, memoryGb: s.status.resources.memoryGb };
  s.retryPlan = null;
  try {
    const a = yield* ctx.activity('ArchiveLogs', {
      ...ctx.groupRef,
      ip: s.status.container.ip,
      attempt: s.status.attempts,
    });
    s.status.result = { urls: { ...(s.status.result?.urls ?? {}), ...a.urls } };
  } catch (e) {
    ctx.log('warn', { err: decodeJobError(e).message }, 'logs of the failed attempt not archived');
  }
  if (plan.backoffSeconds > 0) {
    ctx.enter('restarting', s.status.state, `${s.status.message}; waiting ${plan.backoffSeconds} s first`);
    yield* ctx.pause(ctx.untilDeadline(s.runDeadline, plan.backoffSeconds));
    if (s.outcome) return;
  }
  if (plan.memoryGb !== s.status.resources.memoryGb) {
    // ACI answers a PUT that changes memory on an existing group with 400 InvalidContainerGroupUpdate:
    // the group goes, and the create phase PUTs it again with the new memory.
    try {
      yield* ctx.activity('DeleteContainerGroup', ctx.groupRef);
    } catch (e) {
      return ctx.fail(decodeJobError(e, JOB_ERROR_CODES.armError));
    }
    s.status.resources = { ...s.status.resources, memoryGb: plan.memoryGb };
    s.status.container = { ...s.status.container, state: 'deleted', exitCode: null, ip: null };
    s.phase = 'creating';
    return;
  }
  let r: Outcome<null>;
  try {
    r = yield* ctx.activity('RestartContainerGroup', ctx.groupRef);
  } catch (e) {
    r = { ok: false, error: decodeJobError(e, JOB_ERROR_CODES.armError) };
  }
  if (!r.ok) {
    // The group may be gone: create it again (idempotent PUT) rather than give up.
    ctx.log('warn', { code: r.error.code }, 'restart failed; re-creating the group');
    s.phase = 'creating';
    return;
  }
  s.status.attempts += 1;
  recordAttemptStart(s);
  s.groupStartedAt = ctx.nowIso();
  s.agentReady = false;
  s.provisionDeadline = ctx.later(settings.provisionTimeoutSeconds).toISOString();
  s.status.container = { ...s.status.container, state: 'creating', exitCode: null };
  ctx.enter('provisioning', 'provisioning', `Restarted (attempt ${s.status.attempts}); waiting for the group to run`);
  ctx.steps = 0;
}
