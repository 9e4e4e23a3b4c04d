// Job errors as they travel between activities, the orchestrator and the job status, and their
// text encoding across the activity boundary. Pure (workflows/ use the decoder).

/** Error codes a job can end with (job status `error.code`). API error codes are in errors.ts. */
export const JOB_ERROR_CODES = {
  imageNotFound: 'ImageNotFound',
  imageNotAllowed: 'ImageNotAllowed',
  capacityUnavailable: 'CapacityUnavailable',
  quotaExceeded: 'QuotaExceeded',
  provisioningFailed: 'ProvisioningFailed',
  provisioningTimeout: 'ProvisioningTimeout',
  agentUnreachable: 'AgentUnreachable',
  agentBusy: 'AgentBusy',
  invalidInput: 'InvalidInput',
  inputMissing: 'InputMissing',
  webhookFailed: 'WebhookFailed',
  jobFailed: 'JobFailed',
  containerExited: 'ContainerExited',
  oomKilled: 'OOMKilled',
  groupDisappeared: 'GroupDisappeared',
  /** A Spot group evicted more often than the job's attempts allow. */
  evicted: 'SpotEvicted',
  timedOut: 'JobTimedOut',
  queueTimeout: 'QueueTimeout',
  /** A dependency ended in a way the job's condition rejects (or did not end in time). */
  dependencyFailed: 'DependencyFailed',
  /** A job array's parent: one or more tasks did not succeed. */
  taskFailed: 'TaskFailed',
  canceled: 'Canceled',
  armError: 'ArmError',
  armThrottled: 'ArmThrottled',
  transient: 'TransientError',
  internal: 'InternalError',
} as const;
export type JobErrorCode = (typeof JOB_ERROR_CODES)[keyof typeof JOB_ERROR_CODES];

/** An error as it travels between activities, the orchestrator and the job status. No stack, no secrets. */
export interface JobError {
  code: string;
  message: string;
  retryable?: boolean;
  details?: { field: string; message: string }[];
}

/** Activity result envelope: non-retryable failures are returned (not thrown) so that
 * callActivityWithRetry does not retry them; retryable ones are thrown and retried. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: JobError };

// ---- errors crossing the activity → orchestrator boundary ----------------------------------------
// A thrown activity error reaches the orchestrator only as text (TaskFailed Reason/Details), so
// the coded error is embedded in the message between markers and parsed back here (pure, so
// workflows/ can use it).
const MARK_OPEN = '[aci-batch-error ';
const MARK_CLOSE = ' aci-batch-error]';

export function encodeJobError(e: JobError): string {
  return `${e.code}: ${e.message} ${MARK_OPEN}${JSON.stringify(e)}${MARK_CLOSE}`;
}

/** Recovers a JobError from whatever an activity failure became; unknown errors get fallbackCode. */
export function decodeJobError(err: unknown, fallbackCode: string = JOB_ERROR_CODES.internal): JobError {
  const text = err instanceof Error ? err.message : typeof err === 'string' ? err : JSON.stringify(err);
  const start = text.indexOf(MARK_OPEN);
  const end = start >= 0 ? text.indexOf(MARK_CLOSE, start) : -1;
  if (start >= 0 && end > start) {
    try {
      const parsed = JSON.parse(text.slice(start + MARK_OPEN.length, end)) as JobError;
      if (typeof parsed.code === 'string' && typeof parsed.message === 'string') return parsed;
    } catch {
      // not ours: fall through
    }
  }
  return { code: fallbackCode, message: (text.split('\n')[0] ?? text).slice(0, 500) };
}
