// The orchestrator's private state, carried across continueAsNew generations inside the envelope's
// `run` field (contracts/envelope.ts). Only workflows/ read it; the API reads the envelope's `job`
// and `status`.
import {
  initialStatus,
  type JobEnvelope,
  type JobError,
  type JobInput,
  type JobStatus,
  type Phase,
} from '../contracts';

/** The state the orchestrator carries across continueAsNew generations (one typed object). */
export interface JobRunState {
  input: JobInput;
  status: JobStatus;
  generation: number;
  /** Where the current episode loop resumes. */
  phase: Phase;
  /** ISO deadlines. */
  queueDeadline: string;
  runDeadline: string | null;
  provisionDeadline: string | null;
  /** When the current attempt's group was (re)created: billing starts here (field-notes). */
  groupStartedAt: string | null;
  /** Accumulated billable seconds of earlier attempts. */
  billedSeconds: number;
  /** Accumulated billable GB-seconds of earlier attempts (each at its own memory; absent on older jobs). */
  billedGbSeconds?: number;
  /** What the retry decision chose for the next attempt (restart phase: the wait, and a re-create for new memory). */
  retryPlan?: { backoffSeconds: number; memoryGb: number } | null;
  /** Set when the job's fate is decided; teardown follows. */
  outcome: JobOutcome | null;
  cancelRequested: boolean;
  /** Resolved image, registry-relative (`repo@sha256:…`), once known. */
  imageRef: string | null;
  /** Consecutive polls in which the agent did not answer while the group ran. */
  unreachablePolls: number;
  /** Consecutive polls whose observation failed even after its retries (ARM outage). */
  observeFailures?: number;
  startDeadline: string | null;
  /** The current attempt's agent announced itself (ready callback). */
  agentReady?: boolean;
  /** The batch was just started: the monitor's first round waits instead of polling at once. */
  justStarted?: boolean;
  /** Waiting for regional quota (400 ContainerGroupQuotaReached): since when, and how many waits. */
  quotaSince?: string | null;
  quotaWaits?: number;
  /** Pull mode: the agent's final callback of this attempt (its only report of the end). */
  pullFinal?: PullFinal | null;
  /** Pull mode: the container's restart count when this attempt began (ACI restarts an evicted Spot group). */
  knownRestarts?: number;
  /** An array's parent: the next task to start, and one state code per task (TASK_STATE_CODES). */
  array?: { next: number; states: string; canceled?: boolean };
}

/** What a pull-mode agent's final callback said. `uploaded` is false after a SIGTERM (no uploads). */
export interface PullFinal {
  type: 'completed' | 'failed' | 'canceled';
  exitCode: number | null;
  uploaded: boolean;
  error: string | null;
}

export type JobOutcome = { state: 'succeeded' | 'failed' | 'canceled' | 'timed_out'; error: JobError | null };

/** What travels in the envelope's opaque `run` field: the state without the job and its status. */
export type RunFields = Omit<JobRunState, 'input' | 'status'>;

const addSeconds = (iso: string, seconds: number): string => new Date(Date.parse(iso) + seconds * 1000).toISOString();

/** The first generation's state from the submit handler's input. */
export function initialRunState(input: JobInput, nowIso: string): JobRunState {
  const status = initialStatus(input);
  return {
    input,
    status,
    generation: 0,
    phase: status.phase,
    queueDeadline: addSeconds(nowIso, input.settings.queueTimeoutMinutes * 60),
    runDeadline: null,
    provisionDeadline: null,
    groupStartedAt: null,
    billedSeconds: 0,
    outcome: null,
    cancelRequested: false,
    imageRef: null,
    unreachablePolls: 0,
    startDeadline: null,
  };
}

/** The input of the next generation. */
export function toEnvelope(s: JobRunState): JobEnvelope {
  const { input, status, ...run } = s;
  return { job: input, status, run };
}

/** The run state of this generation: carried over, or fresh for the first one. */
export function fromEnvelope(env: JobEnvelope, nowIso: string): JobRunState {
  const run = env.run as RunFields | undefined;
  if (!run || typeof run !== 'object' || typeof run.phase !== 'string') return initialRunState(env.job, nowIso);
  return { ...run, input: env.job, status: env.status ?? initialStatus(env.job) };
}
