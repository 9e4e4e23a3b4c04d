// The job as the API, the orchestrator and the activities share it: states, the normalized request
// (JobSpec), the first generation's input (JobInput), the public status (JobStatus) and the names
// derived from a job's ids (instance, group, blobs, tags). Pure: workflows/ import it.
import type { ArraySpec, ArrayStatus, JobDependency, TaskPosition } from './fanout';
import type { JobError } from './job-errors';
import type { JobRetry } from './retry';
import type { WorkflowSettings } from './settings';

/** Job states (design.md). */
export const JOB_STATES = [
  'queued',
  'provisioning',
  'starting',
  'running',
  'succeeded',
  'failed',
  'canceled',
  'timed_out',
] as const;
export type JobState = (typeof JOB_STATES)[number];
export const TERMINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'canceled', 'timed_out'];
export const isTerminalState = (s: JobState): boolean => TERMINAL_STATES.includes(s);

/** What the container group is (or was left) in, as the job status reports it. */
export const CONTAINER_STATES = [
  'none',
  'creating',
  'running',
  'terminated',
  'deleted',
  'stopped',
  'kept',
  'unknown',
] as const;
export type ContainerState = (typeof CONTAINER_STATES)[number];

export type OnComplete = 'delete' | 'stop' | 'keep';
export type OnFailure = 'delete' | 'stop' | 'restart';
export type Priority = 'Regular' | 'Spot';

/** The normalized job request, as stored in the orchestration input (no secrets: secureEnv is sealed). */
export interface JobSpec {
  image: { repository: string; tag?: string; digest?: string; ref: string };
  cpu: number;
  memoryGb: number;
  command?: string[];
  env: Record<string, string>;
  /** secureEnv sealed (AES-256-GCM) under a key derived from the server secret; only activities open it. */
  sealedSecureEnv?: string;
  /** The job id secureEnv was sealed for, when not this job's own (a task of an array: its parent's). */
  sealedFor?: string;
  /** Names of the secureEnv variables (for the status, never their values). */
  secureEnvNames: string[];
  /** Blob (in the results container) holding the batch input: kept out of history, which
   * persists the orchestration input once per generation. */
  inputBlob?: string;
  timeoutMinutes: number;
  onComplete: OnComplete;
  onFailure: OnFailure;
  /** Attempts in all; with `retry`, its `attempts`. */
  maxAttempts: number;
  /** Retry rules (issue 13); absent: `onFailure: restart` retries every failure up to maxAttempts, else none. */
  retry?: JobRetry;
  /** After an OOM kill the next attempt doubles memoryGb, up to `memoryCeilingGb`. */
  onOomKilled?: 'retry-with-more-memory';
  /** The most memory a retry may ask for: the tenant's maxMemoryGb, within ACI's 16 GB (set with onOomKilled). */
  memoryCeilingGb?: number;
  priority: Priority;
  /** Queue priority 0..1000 within the tenant's queue (request `priority` as a number); absent: 0. */
  queuePriority?: number;
  /**
   * `pull`: the group has no inbound address (Spot, or a tenant with network.mode pull), so the agent
   * fetches its start from the controller and reports only by callback. Absent: push.
   */
  startMode?: 'pull';
  webhookUrl?: string;
  /** The tenant's policy when the job was submitted: the job is judged by it, not by re-reads. */
  policy?: TenantPolicy;
  /** A job array: this job is the parent of `count` tasks, each a job of its own (issue 13). */
  array?: ArraySpec;
  /** Jobs of the same tenant that must end first; the job waits without a group until they do. */
  dependsOn?: JobDependency[];
}

/** What of a tenant's policy a job carries from its submit (absent on jobs submitted before it existed). */
export interface TenantPolicy {
  allowedRepositories: string[];
  subnetId?: string;
  jobIdentityResourceId?: string;
  allowPrivateWebhookTargets: boolean;
}

/** Cost rates of a tenant, per hour. */
export interface CostRates {
  currency: string;
  vcpuHour: number;
  gbHour: number;
}

/** Orchestration input of the first generation. */
export interface JobInput {
  jobId: string;
  tenant: string;
  instanceId: string;
  groupName: string;
  location: string;
  createdAt: string;
  /** SHA-256 of the canonical request body (Idempotency-Key conflict detection). */
  requestHash: string;
  spec: JobSpec;
  rates: CostRates;
  settings: WorkflowSettings;
  /** Set on a task of a job array: its parent and index. */
  task?: TaskPosition;
}

export type Phase =
  | 'dependencies'
  | 'admission'
  /** An array's parent: its tasks are being started and followed. */
  | 'fanout'
  | 'resolving'
  | 'creating'
  | 'provisioning'
  | 'starting'
  | 'running'
  | 'restarting'
  | 'teardown'
  | 'done';

/** The job status object of design.md: the orchestration's custom status, then its output. */
export interface JobStatus {
  id: string;
  tenant: string;
  state: JobState;
  phase: Phase;
  progress: number;
  message: string;
  image: { ref: string; digest: string | null };
  resources: { cpu: number; memoryGb: number };
  attempts: number;
  maxAttempts: number;
  /** One entry per attempt begun: the memory it ran with, and how it ended (null while it runs or once it succeeded). */
  attemptHistory?: AttemptRecord[];
  /** Spot evictions so far (pull mode); each one is a retried attempt. */
  evictions?: number;
  /** A task of a job array: the parent's job id and the task's index. */
  parent?: string;
  index?: number;
  /** A job array's parent: its tasks' count, parallelism and states. */
  array?: ArrayStatus;
  /** The job's dependencies and, once known, the state each ended in. */
  dependsOn?: (JobDependency & { state: JobState | null })[];
  container: { name: string; state: ContainerState; exitCode: number | null; ip: string | null };
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  usage: { vcpuSeconds: number; gbSeconds: number; estimatedCost: number; currency: string };
  result: { urls: Record<string, string> } | null;
  error: JobError | null;
  /** Last PROGRESS_HISTORY_LIMIT progress reports, oldest first. */
  progressHistory: { at: string; progress: number; message: string }[];
}

/** An attempt as the status reports it. */
export interface AttemptRecord {
  attempt: number;
  memoryGb: number;
  exitCode: number | null;
  /** The job error code (or `Evicted`) that ended it. */
  reason: string | null;
}

/** How many progress entries the status keeps (bounded: the status is persisted on every change). */
export const PROGRESS_HISTORY_LIMIT = 20;

/** Callback body from the agent (batch-image). */
export interface AgentCallback {
  jobId: string;
  type: 'progress' | 'completed' | 'failed' | 'canceled';
  state: AgentState;
  progress: number;
  message: string;
  at: string;
  exitCode?: number;
  error?: unknown;
}

export type AgentState = 'idle' | 'running' | 'succeeded' | 'failed' | 'canceled';

/** Blob names of a job's archived artifacts, relative to the results container. */
export const blobNames = (tenant: string, jobId: string) => ({
  input: `${tenant}/${jobId}/input.json`,
  /** An array's inputs (one JSON array), split into the tasks' input blobs as they start. */
  inputs: `${tenant}/${jobId}/inputs.json`,
  logs: `${tenant}/${jobId}/logs.txt`,
  attemptLogs: (attempt: number) => `${tenant}/${jobId}/logs.attempt-${attempt}.txt`,
  result: `${tenant}/${jobId}/result.json`,
  chart: `${tenant}/${jobId}/chart.svg`,
  artifact: (name: string) => `${tenant}/${jobId}/artifacts/${name}`,
});

/** Orchestration instance id of a job: the tenant prefix makes tenant isolation a prefix check. */
export const instanceIdOf = (tenant: string, jobId: string): string => `${tenant}--${jobId}`;
export const instancePrefixOf = (tenant: string): string => `${tenant}--`;

/** Container group name from tenant + job id: ≤ 63 chars of [a-z0-9-], deterministic. */
export function groupNameOf(tenant: string, jobId: string): string {
  const t = tenant.slice(0, 30).replace(/-+$/, '');
  return `acib-${t}-${jobId}`.slice(0, 63).replace(/-+$/, '');
}

/** Tags the controller puts on every group it creates (the sweeper relies on them). */
export const TAGS = {
  managedBy: 'managedBy',
  managedByValue: 'aci-batch',
  tenant: 'tenant',
  jobId: 'jobId',
  instanceId: 'instanceId',
  expiresAt: 'expiresAt',
} as const;

/** A count per job state, all 0 (an array's tasks per state). */
export const zeroCounts = (): Record<JobState, number> =>
  Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;

/** The initial status of a job (before its orchestrator first runs). */
export function initialStatus(input: JobInput): JobStatus {
  const { array, dependsOn } = input.spec;
  const waitsForDependencies = !!dependsOn?.length;
  return {
    id: input.jobId,
    tenant: input.tenant,
    state: 'queued',
    phase: waitsForDependencies ? 'dependencies' : array ? 'fanout' : 'admission',
    progress: 0,
    message: array
      ? `Starting ${array.count} tasks`
      : waitsForDependencies
        ? `Waiting for ${dependsOn.length} dependencies`
        : 'Waiting for a slot',
    ...(input.task ? { parent: input.task.parent, index: input.task.index } : {}),
    ...(array
      ? {
          array: {
            count: array.count,
            parallelism: array.parallelism,
            counts: { ...zeroCounts(), queued: array.count },
            ...(array.select ? { selected: null } : {}),
          },
        }
      : {}),
    ...(waitsForDependencies ? { dependsOn: dependsOn.map((d) => ({ ...d, state: null })) } : {}),
    image: { ref: input.spec.image.ref, digest: input.spec.image.digest ?? null },
    resources: { cpu: input.spec.cpu, memoryGb: input.spec.memoryGb },
    attempts: 0,
    maxAttempts: input.spec.maxAttempts,
    container: { name: input.groupName, state: 'none', exitCode: null, ip: null },
    createdAt: input.createdAt,
    startedAt: null,
    finishedAt: null,
    usage: { vcpuSeconds: 0, gbSeconds: 0, estimatedCost: 0, currency: input.rates.currency },
    result: null,
    error: null,
    progressHistory: [],
  };
}
