// Phase 8, teardown — on every path: ask the batch to stop (timeout/cancel), archive result and
// logs, bill, delete/stop/keep the group, release the slot, publish the final status, notify.
// TEARDOWN_TIMEOUT_SECONDS is its deadline: retries are cut to fit it, archives are skipped once it
// passed, and the group and the slot still get one attempt each (the sweeper is the backstop).
import { ARCHIVE_DEADLINE_PASSED, decodeJobError, type JobStatus, type RetryPolicy } from '../../contracts';
import { billAttempt, isPast, secondsBetween, teardownAction, usageOf } from '../job-decisions';
import type { RunContext, Step } from '../run-context';
import { awaitFinalCallback, isPull } from './pull';
import type { JobOutcome } from '../run-state';

/** How long a canceled pull-mode job's teardown waits for the agent to confirm (heartbeat 15 s + slack). */
const PULL_CANCEL_GRACE_SECONDS = 20;

const WEBHOOK_RETRY: RetryPolicy = { firstRetryMs: 2000, maxAttempts: 4, backoffCoefficient: 2, maxRetryMs: 30000 };

export function* teardown(ctx: RunContext, outcome: JobOutcome): Step<JobStatus> {
  const { s, spec } = ctx;
  ctx.enter('teardown', s.status.state, `Finishing (${outcome.state})`);
  const deadline = ctx.later(ctx.settings.teardownTimeoutSeconds).toISOString();
  const retry = (): RetryPolicy | null =>
    retryWithin(ctx.settings.armRetry, Date.parse(deadline) - Date.parse(ctx.nowIso()));
  const notes: string[] = [];
  const urls: Record<string, string> = { ...(s.status.result?.urls ?? {}) }; // earlier attempts' logs
  if (s.status.attempts > 0) {
    // A create was at least requested.
    yield* archive(ctx, outcome, deadline, retry, urls, notes);
    billAttempt(s, ctx.nowIso());
    yield* removeGroup(ctx, teardownAction(outcome, spec), retry(), notes);
  }
  try {
    yield* ctx.activity(
      'ReleaseSlot',
      {
        tenant: s.input.tenant,
        instanceId: s.input.instanceId,
        owner: s.input.requestHash,
        jobId: s.input.jobId,
        outcome: outcome.state,
      },
      retry(),
    );
  } catch {
    notes.push('slot not released; the sweeper reconciles it');
  }
  finalStatus(ctx, outcome, urls, notes);
  if (spec.webhookUrl) {
    try {
      const hook = {
        tenant: s.input.tenant,
        jobId: s.input.jobId,
        webhookUrl: spec.webhookUrl,
        status: s.status,
        ...(spec.policy ? { policy: spec.policy } : {}),
      };
      yield* ctx.activity('NotifyWebhook', hook, WEBHOOK_RETRY);
    } catch (e) {
      ctx.log('warn', { err: decodeJobError(e).message }, 'webhook not delivered');
    }
  }
  return s.status;
}

function* archive(
  ctx: RunContext,
  outcome: JobOutcome,
  deadline: string,
  retry: () => RetryPolicy | null,
  urls: Record<string, string>,
  notes: string[],
): Step<void> {
  const ip = ctx.s.status.container.ip;
  const pull = isPull(ctx);
  if (pull && outcome.state === 'canceled' && ctx.s.status.startedAt && !ctx.s.pullFinal) {
    // Nothing can call a pull-mode agent: it learns of the cancel from the answer to its next
    // callback (heartbeats at least every 15 s). Give it that long to stop and report.
    const seconds = Math.min(PULL_CANCEL_GRACE_SECONDS, secondsBetween(ctx.nowIso(), deadline) / 2);
    if (!(yield* awaitFinalCallback(ctx, seconds))) notes.push('the agent did not confirm the cancel');
  }
  if (ip && (outcome.state === 'timed_out' || outcome.state === 'canceled')) {
    // Ask the batch to stop gracefully; the group goes right after anyway.
    try {
      yield* ctx.activity('CancelAgent', { jobId: ctx.s.input.jobId, ip }, null);
    } catch {
      notes.push('agent cancel not delivered');
    }
  }
  // Result (pull mode: the agent uploaded it and its artifacts itself; only their links are
  // collected) and logs in one activity; a part that failed there gets its own activity with the
  // durable retries, cut to the deadline as before. A part not begun by the deadline is skipped.
  const parts: Part[] = ip || pull ? ['result', 'logs'] : ['logs'];
  if (isPast(ctx.nowIso(), deadline)) {
    for (const part of parts) notes.push(`${part} not archived: ${ARCHIVE_DEADLINE_PASSED}`);
    return;
  }
  let failed: Partial<Record<Part, string>>;
  try {
    const req = { ...ctx.groupRef, ip, ...(pull ? { pull: true } : {}), result: parts.includes('result'), deadline };
    const a = yield* ctx.activity('ArchiveJob', req, null);
    Object.assign(urls, a.urls);
    failed = a.failed;
  } catch (e) {
    const message = decodeJobError(e).message;
    failed = Object.fromEntries(parts.map((p) => [p, message]));
  }
  for (const part of parts) {
    const why = failed[part];
    if (why === undefined) continue;
    if (why === ARCHIVE_DEADLINE_PASSED || isPast(ctx.nowIso(), deadline)) {
      notes.push(`${part} not archived: ${why}`);
      continue;
    }
    try {
      const req = { ...ctx.groupRef, ip, ...(pull && part === 'result' ? { pull: true } : {}) };
      const name = part === 'result' ? 'ArchiveResult' : 'ArchiveLogs';
      Object.assign(urls, (yield* ctx.activity(name, req, retry())).urls);
    } catch (e) {
      notes.push(`${part} not archived: ${decodeJobError(e).message}`);
    }
  }
}

type Part = 'result' | 'logs';

function* removeGroup(
  ctx: RunContext,
  action: 'delete' | 'stop' | 'keep',
  retry: RetryPolicy | null,
  notes: string[],
): Step<void> {
  const c = ctx.s.status.container;
  try {
    if (action === 'delete') {
      yield* ctx.activity('DeleteContainerGroup', ctx.groupRef, retry);
      c.state = 'deleted';
    } else if (action === 'stop') {
      yield* ctx.activity('StopContainerGroup', ctx.groupRef, retry);
      c.state = 'stopped';
    } else {
      c.state = 'kept';
    }
  } catch (e) {
    c.state = 'unknown';
    notes.push(`group ${action} failed (${decodeJobError(e).message}); the sweeper removes it after its expiresAt tag`);
    ctx.log('warn', { action }, 'teardown of the group failed; left to the sweeper');
  }
}

function finalStatus(ctx: RunContext, outcome: JobOutcome, urls: Record<string, string>, notes: string[]): void {
  const { s, spec } = ctx;
  s.status.usage = usageOf(s.billedSeconds, spec.cpu, spec.memoryGb, s.input.rates, s.billedGbSeconds);
  s.status.result = Object.keys(urls).length ? { urls } : null;
  s.status.state = outcome.state;
  s.status.error = outcome.error;
  if (outcome.state === 'succeeded') s.status.progress = 1;
  s.status.finishedAt = ctx.nowIso();
  s.status.phase = 'done';
  s.phase = 'done';
  s.status.message = notes.length
    ? `${outcome.state}; ${notes.join('; ')}`
    : outcome.state === 'succeeded'
      ? 'Succeeded'
      : (outcome.error?.message ?? outcome.state);
  ctx.publish();
  const fields = {
    state: outcome.state,
    code: outcome.error?.code,
    container: s.status.container.state,
    usage: s.status.usage,
  };
  ctx.log('info', fields, 'job finished');
}

/**
 * The retry policy cut down so that its backoffs fit in `remainingMs` (TEARDOWN_TIMEOUT_SECONDS is
 * a real deadline): null — a single attempt — once no retry fits.
 */
function retryWithin(policy: RetryPolicy, remainingMs: number): RetryPolicy | null {
  let attempts = 1;
  let spent = 0;
  for (let delay = policy.firstRetryMs; attempts < policy.maxAttempts; attempts++) {
    const wait = Math.min(delay, policy.maxRetryMs);
    if (spent + wait > remainingMs) break;
    spent += wait;
    delay *= policy.backoffCoefficient;
  }
  return attempts > 1 ? { ...policy, maxAttempts: attempts } : null;
}
