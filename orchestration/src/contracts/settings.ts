// Settings the orchestrator needs: it cannot read configuration (determinism), so the submit
// handler captures them into the job's input.

/** Settings the orchestrator needs (it cannot read config). Captured at submit time. */
export interface WorkflowSettings {
  pollIntervalSeconds: number;
  admissionPollSeconds: number;
  queueTimeoutMinutes: number;
  /**
   * How long a job may wait for its dependencies (from its submit) before it fails with
   * DependencyFailed. Absent in jobs submitted before it existed: 168 (DEFAULT_DEPENDENCY_TIMEOUT_HOURS).
   */
  dependencyTimeoutHours?: number;
  provisionTimeoutSeconds: number;
  /** Provisioning: how long to wait for the agent's ready callback before reading the group anyway. */
  readyFallbackSeconds: number;
  startTimeoutSeconds: number;
  teardownTimeoutSeconds: number;
  /** continueAsNew after this many wait steps: keeps history (and replay cost) bounded. */
  stepsPerGeneration: number;
  armRetry: RetryPolicy;
  capacityRetry: RetryPolicy;
}

export interface RetryPolicy {
  firstRetryMs: number;
  maxAttempts: number;
  backoffCoefficient: number;
  maxRetryMs: number;
}

/** DEPENDENCY_TIMEOUT_HOURS' default (a week), also for jobs whose settings predate it. */
export const DEFAULT_DEPENDENCY_TIMEOUT_HOURS = 168;
