// Phase 1, admission: wait in the tenant's queue until the ledger grants a slot, the job is
// canceled, or the queue deadline passes. Event-driven: whatever frees capacity grants the next jobs
// and raises their slot-granted event; the admission poll interval is only a fallback re-check.
import { EVENTS, JOB_ERROR_CODES, type SlotAnswer } from '../../contracts';
import { isPast } from '../job-decisions';
import type { RunContext, Step } from '../run-context';

const queuedMessage = (answer: Extract<SlotAnswer, { reason: 'waiting' }>): string =>
  answer.blockedBy === 'queue'
    ? `Queued: ${answer.position} job(s) ahead`
    : answer.blockedBy === 'tenant'
      ? 'Queued: the tenant is at maxConcurrentJobs'
      : 'Queued: waiting for regional ACI capacity (global cap)';

export function* admission(ctx: RunContext): Step<void> {
  const { s, spec, settings } = ctx;
  const answer = yield* ctx.activity('AcquireSlot', {
    ...ctx.ids,
    cores: spec.cpu,
    memoryGb: spec.memoryGb,
    owner: s.input.requestHash,
    enqueuedAt: s.input.createdAt,
    ...(spec.queuePriority !== undefined ? { priority: spec.queuePriority } : {}),
  });
  if (answer.granted) {
    ctx.log('info', {}, 'slot granted');
    ctx.enter('resolving', 'provisioning', 'Resolving the image');
    return;
  }
  if (answer.reason === 'canceled') return ctx.canceled();
  if (answer.reason !== 'waiting') {
    return ctx.fail({
      code: JOB_ERROR_CODES.internal,
      message: `The tenant ${s.input.tenant} is no longer in the tenants file.`,
    });
  }
  if (isPast(ctx.nowIso(), s.queueDeadline)) {
    return ctx.fail({
      code: JOB_ERROR_CODES.queueTimeout,
      message: `No slot within ${settings.queueTimeoutMinutes} minutes.`,
    });
  }
  const msg = queuedMessage(answer);
  if (msg !== s.status.message) {
    s.status.message = msg;
    ctx.publish();
  }
  if (ctx.countStep()) return;
  const woke = yield* ctx.waitForEvent(
    EVENTS.slotGranted,
    ctx.untilDeadline(s.queueDeadline, settings.admissionPollSeconds),
  );
  if (woke.why === 'cancel') return ctx.canceled();
  // The event is raised only after the ledger granted the slot (admission/service.ts), so it is the
  // grant itself: no second AcquireSlot (4 history events saved per wake-up).
  if (woke.why === 'event') {
    ctx.log('info', {}, 'slot granted (event)');
    ctx.enter('resolving', 'provisioning', 'Resolving the image');
  }
}
