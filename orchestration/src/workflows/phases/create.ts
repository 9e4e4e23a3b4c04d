// Phase 3, create: the idempotent PUT of the job's container group, retried while ACI has no
// capacity (CAPACITY_RETRY_*), then provisioning starts its deadline.
import { decodeJobError, JOB_ERROR_CODES, type JobError, type Outcome } from '../../contracts';
import { expiresAt } from '../job-decisions';
import type { RunContext, Step } from '../run-context';

const isCapacity = (e: JobError): boolean =>
  e.code === JOB_ERROR_CODES.capacityUnavailable || e.code === JOB_ERROR_CODES.quotaExceeded;

export function* create(ctx: RunContext): Step<void> {
  const { s, spec, settings } = ctx;
  s.status.attempts += 1;
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
        memoryGb: spec.memoryGb,
        ...(spec.gpu ? { gpu: spec.gpu } : {}),
        env: spec.env,
        ...(spec.sealedSecureEnv ? { sealedSecureEnv: spec.sealedSecureEnv } : {}),
        priority: spec.priority,
        ...(spec.startMode ? { startMode: spec.startMode } : {}),
        expiresAt: expiresAt(s, ctx.nowIso()),
      },
      settings.capacityRetry,
    );
  } catch (e) {
    const err = decodeJobError(e, JOB_ERROR_CODES.armError);
    const message = `No ACI capacity after ${settings.capacityRetry.maxAttempts} attempts: ${err.message}`;
    r = { ok: false, error: isCapacity(err) ? { code: err.code, message } : err };
  }
  // ARM may still have accepted a PUT: teardown deletes by name whatever happened.
  if (!r.ok) return ctx.fail(r.error);
  s.groupStartedAt = ctx.nowIso();
  s.provisionDeadline = ctx.later(settings.provisionTimeoutSeconds).toISOString();
  ctx.enter('provisioning', 'provisioning', 'Waiting for the container group to run');
  ctx.steps = 0;
}
