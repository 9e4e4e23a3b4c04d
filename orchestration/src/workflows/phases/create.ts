// Phase 3, create: the idempotent PUT of the job's container group, retried while ACI has no
// capacity (409 ServiceUnavailable: CAPACITY_RETRY_*), then provisioning starts its deadline. A
// regional quota hit (400 ContainerGroupQuotaReached) is waited out like the global cap: the job
// shows as queued and tries again with backoff until the queue timeout.
import { decodeJobError, JOB_ERROR_CODES, type JobError, type Outcome } from '../../contracts';
import { expiresAt, isPast } from '../job-decisions';
import { recordAttemptStart } from '../retry-decision';
import type { RunContext, Step } from '../run-context';

const isCapacity = (e: JobError): boolean =>
  e.code === JOB_ERROR_CODES.capacityUnavailable || e.code === JOB_ERROR_CODES.quotaExceeded;

export function* create(ctx: RunContext): Step<void> {
  const { s, spec, settings } = ctx;
  s.status.attempts += 1;
  recordAttemptStart(s);
  s.status.container.state = 'creating';
  ctx.enter('creating', 'provisioning', `Creating the container group (attempt ${s.status.attempts})`);
  let r: Outcome<null>;
  try {
    r = yield* ctx.activity(
      'CreateContainerGroup',
      {
        ...ctx.ids,
        groupName: s.input.groupName,
        location: s.input.location,
        imageRef: s.imageRef ?? '',
        cpu: spec.cpu,
        // This attempt's memory: the spec's, or more after an OOM kill (onOomKilled).
        memoryGb: s.status.resources.memoryGb,
        env: spec.env,
        ...(spec.sealedSecureEnv ? { sealedSecureEnv: spec.sealedSecureEnv } : {}),
        ...(spec.sealedFor ? { sealedFor: spec.sealedFor } : {}),
        priority: spec.priority,
        ...(spec.startMode ? { startMode: spec.startMode } : {}),
        ...(spec.policy ? { policy: spec.policy } : {}),
        expiresAt: expiresAt(s, ctx.nowIso()),
      },
      settings.capacityRetry,
    );
  } catch (e) {
    const err = decodeJobError(e, JOB_ERROR_CODES.armError);
    const message = `No ACI capacity after ${settings.capacityRetry.maxAttempts} attempts: ${err.message}`;
    r = { ok: false, error: isCapacity(err) ? { code: err.code, message } : err };
  }
  if (!r.ok && r.error.code === JOB_ERROR_CODES.quotaExceeded) return yield* waitForQuota(ctx, r.error);
  s.quotaWaits = 0;
  s.quotaSince = null;
  // ARM may still have accepted a PUT: teardown deletes by name whatever happened.
  if (!r.ok) return ctx.fail(r.error);
  s.groupStartedAt = ctx.nowIso();
  s.agentReady = false;
  s.provisionDeadline = ctx.later(settings.provisionTimeoutSeconds).toISOString();
  ctx.enter('provisioning', 'provisioning', 'Waiting for the container group to run');
  ctx.steps = 0;
}

function* waitForQuota(ctx: RunContext, error: JobError): Step<void> {
  const { s, settings } = ctx;
  s.status.attempts -= 1; // no group was created
  s.quotaSince ??= ctx.nowIso();
  const deadline = new Date(Date.parse(s.quotaSince) + settings.queueTimeoutMinutes * 60_000).toISOString();
  if (isPast(ctx.nowIso(), deadline)) {
    const message = `No regional ACI quota within ${settings.queueTimeoutMinutes} minutes: ${error.message}`;
    return ctx.fail({ code: JOB_ERROR_CODES.quotaExceeded, message });
  }
  s.quotaWaits = (s.quotaWaits ?? 0) + 1;
  ctx.log('warn', { waits: s.quotaWaits }, 'regional quota reached; waiting');
  ctx.enter('creating', 'queued', 'Queued: waiting for regional ACI quota (ContainerGroupQuotaReached)');
  const p = settings.capacityRetry;
  const backoffMs = Math.min(p.firstRetryMs * p.backoffCoefficient ** (s.quotaWaits - 1), p.maxRetryMs);
  if (ctx.countStep()) return;
  yield* ctx.pause(ctx.untilDeadline(deadline, backoffMs / 1000));
}
