// Phase 7, restart: keep the failed attempt's logs (ACI keeps only the current run's), then
// restart the group — or, when that fails (the group may be gone), create it again.
import { decodeJobError, JOB_ERROR_CODES, type Outcome } from '../../contracts';
import { secondsBetween } from '../job-decisions';
import type { RunContext, Step } from '../run-context';

export function* restart(ctx: RunContext): Step<void> {
  const { s, settings } = ctx;
  s.billedSeconds += secondsBetween(s.groupStartedAt, ctx.nowIso());
  s.groupStartedAt = null;
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
  s.groupStartedAt = ctx.nowIso();
  s.agentReady = false;
  s.provisionDeadline = ctx.later(settings.provisionTimeoutSeconds).toISOString();
  s.status.container = { ...s.status.container, state: 'creating', exitCode: null };
  ctx.enter('provisioning', 'provisioning', `Restarted (attempt ${s.status.attempts}); waiting for the group to run`);
  ctx.steps = 0;
}
