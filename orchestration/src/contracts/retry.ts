// Retry rules of a job (issue 13): which failed attempts are retried, decided by the attempt's exit
// code or the job error code that ended it. The reasons and their two default sets live here, next
// to the job error codes, so the API's schema, its validation and the orchestrator's pure decision
// read one list. Pure: workflows/ import it.
import { JOB_ERROR_CODES } from './job-errors';

/**
 * A Spot eviction, as a rule names it. The job ends with `SpotEvicted` only once evictions exceed
 * the attempts; each eviction before that is an attempt ended by `Evicted`.
 */
export const EVICTED_REASON = 'Evicted';

/**
 * Reasons the platform ended the attempt, not the batch: with no rule matching they are retried
 * (while attempts last). The create's own capacity and quota waits are not attempts and never reach
 * the rules; an observation that failed past its retries ends the attempt with the ARM code.
 */
export const INFRASTRUCTURE_REASONS = [
  JOB_ERROR_CODES.provisioningFailed,
  JOB_ERROR_CODES.provisioningTimeout,
  JOB_ERROR_CODES.agentUnreachable,
  JOB_ERROR_CODES.groupDisappeared,
  EVICTED_REASON,
  JOB_ERROR_CODES.armError,
  JOB_ERROR_CODES.armThrottled,
  JOB_ERROR_CODES.transient,
] as const;

/**
 * Reasons the batch itself ended the attempt (it failed, exited, or outgrew its memory): with no rule
 * matching they fail the job — retrying the same input the same way would most likely fail again.
 */
export const BATCH_REASONS = [
  JOB_ERROR_CODES.jobFailed,
  JOB_ERROR_CODES.containerExited,
  JOB_ERROR_CODES.oomKilled,
] as const;

/** Every reason a rule may name (`onReason`). */
export const RETRY_REASONS = [...INFRASTRUCTURE_REASONS, ...BATCH_REASONS] as const;
export type RetryReason = (typeof RETRY_REASONS)[number];

export type RetryAction = 'retry' | 'fail';
export type RetryRule = { onExitCode: number[]; action: RetryAction } | { onReason: RetryReason; action: RetryAction };

/** `retry` of the job request, normalized. */
export interface JobRetry {
  /** Attempts in all, the first included (1..10). */
  attempts: number;
  /** In order; the first matching rule decides. */
  rules: RetryRule[];
  /** Durable wait between a failed attempt and the next one. */
  backoffSeconds: number;
}

/** Bounds of `retry` (the schema's and the decision's). */
export const RETRY_LIMITS = { maxAttempts: 10, maxRules: 20, maxExitCodes: 50, maxBackoffSeconds: 3600 } as const;

/** ACI's per-group memory bound: a doubled memoryGb never asks for more (sizing.ts ACI_BOUNDS). */
export const ACI_MAX_MEMORY_GB = 16;
