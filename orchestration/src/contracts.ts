// Names and shapes shared by the HTTP API, the orchestrator, the activities and the sweeper.
// Orchestration history stores function and event names: renaming one is a versioning event.
// This module is pure (no imports) because workflows/ may import nothing else.

/** Orchestrator function names. */
export const ORCHESTRATORS = {
  job: 'JobOrchestrator',
} as const;

/** Activity function names (one side effect each; see activities/). */
export const ACTIVITIES = {
  acquireSlot: 'AcquireSlot',
  releaseSlot: 'ReleaseSlot',
  resolveImage: 'ResolveImage',
  createGroup: 'CreateContainerGroup',
  getGroup: 'GetContainerGroup',
  checkAgentHealth: 'CheckAgentHealth',
  startAgent: 'StartAgent',
  observeJob: 'ObserveJob',
  cancelAgent: 'CancelAgent',
  restartGroup: 'RestartContainerGroup',
  archiveLogs: 'ArchiveLogs',
  archiveResult: 'ArchiveResult',
  deleteGroup: 'DeleteContainerGroup',
  stopGroup: 'StopContainerGroup',
  notifyWebhook: 'NotifyWebhook',
} as const;
export type ActivityName = (typeof ACTIVITIES)[keyof typeof ACTIVITIES];

/** External events raised on a job's orchestration instance. */
export const EVENTS = {
  /** Raised by POST /api/callbacks/tenants/{tenant}/jobs/{id}; payload = AgentCallback. Wakes the monitor up. */
  callback: 'AgentCallback',
  /** Raised by POST /api/tenants/{t}/jobs/{id}/cancel; payload = {requestedAt}. */
  cancel: 'CancelRequested',
} as const;

/** Other registered functions (HTTP routes and the timer). */
export const FUNCTIONS = {
  submitJob: 'SubmitJob',
  listJobs: 'ListJobs',
  getJob: 'GetJob',
  cancelJob: 'CancelJob',
  getJobLogs: 'GetJobLogs',
  getJobResult: 'GetJobResult',
  getTenant: 'GetTenant',
  health: 'Health',
  openapi: 'OpenApi',
  callback: 'JobCallback',
  sweeper: 'Sweeper',
} as const;

/** HTTP routes (relative to the `api` route prefix of host.json). */
export const ROUTES = {
  jobs: 'tenants/{tenant}/jobs',
  job: 'tenants/{tenant}/jobs/{id}',
  cancel: 'tenants/{tenant}/jobs/{id}/cancel',
  logs: 'tenants/{tenant}/jobs/{id}/logs',
  result: 'tenants/{tenant}/jobs/{id}/result',
  tenant: 'tenants/{tenant}',
  health: 'health',
  openapi: 'openapi.json',
  callback: 'callbacks/tenants/{tenant}/jobs/{id}',
} as const;

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
  jobFailed: 'JobFailed',
  containerExited: 'ContainerExited',
  oomKilled: 'OOMKilled',
  groupDisappeared: 'GroupDisappeared',
  timedOut: 'JobTimedOut',
  queueTimeout: 'QueueTimeout',
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

/** The normalized job request, as stored in the orchestration input (no secrets: secureEnv is sealed). */
export interface JobSpec {
  image: { repository: string; tag?: string; digest?: string; ref: string };
  cpu: number;
  memoryGb: number;
  gpu?: { count: number; sku: string };
  command?: string[];
  env: Record<string, string>;
  /** secureEnv sealed (AES-256-GCM) under a key derived from the server secret; only activities open it. */
  sealedSecureEnv?: string;
  /** Names of the secureEnv variables (for the status, never their values). */
  secureEnvNames: string[];
  /** Blob (in the results container) holding the batch input: kept out of history, which
   * persists the orchestration input once per generation. */
  inputBlob?: string;
  timeoutMinutes: number;
  onComplete: OnComplete;
  onFailure: OnFailure;
  maxAttempts: number;
  priority: Priority;
  webhookUrl?: string;
}

/** Settings the orchestrator needs (it cannot read config). Captured at submit time. */
export interface WorkflowSettings {
  pollIntervalSeconds: number;
  admissionPollSeconds: number;
  queueTimeoutMinutes: number;
  provisionTimeoutSeconds: number;
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
}

export type Phase =
  'admission' | 'resolving' | 'creating' | 'provisioning' | 'starting' | 'running' | 'restarting' | 'teardown' | 'done';

/** The job status object of design.md: the orchestration's custom status, then its output. */
export interface JobStatus {
  id: string;
  tenant: string;
  state: JobState;
  phase: Phase;
  progress: number;
  message: string;
  image: { ref: string; digest: string | null };
  resources: { cpu: number; memoryGb: number; gpu: { count: number; sku: string } | null };
  attempts: number;
  maxAttempts: number;
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
  /** Set when the job's fate is decided; teardown follows. */
  outcome: JobOutcome | null;
  cancelRequested: boolean;
  /** Resolved image (`${loginServer}/${repo}@sha256:…`) once known. */
  imageRef: string | null;
  /** Consecutive polls in which the agent did not answer while the group ran. */
  unreachablePolls: number;
  /** Consecutive polls whose observation failed even after its retries (ARM outage). */
  observeFailures?: number;
  startDeadline: string | null;
}

/** How many progress entries the status keeps (bounded: the status is persisted on every change). */
export const PROGRESS_HISTORY_LIMIT = 20;

export type JobOutcome = { state: 'succeeded' | 'failed' | 'canceled' | 'timed_out'; error: JobError | null };

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

// ---- activity inputs and outputs -------------------------------------------------------------

/** Release of a job's ledger entry; `owner` is the job's request hash (only the owner's release counts). */
export interface ReleaseSlotRequest {
  tenant: string;
  instanceId: string;
  owner: string;
}

export interface SlotRequest {
  tenant: string;
  instanceId: string;
  jobId: string;
  cores: number;
  memoryGb: number;
}
export type SlotAnswer =
  | { granted: true }
  | { granted: false; reason: 'waiting'; position: number; blockedBy: 'queue' | 'tenant' | 'global' }
  | { granted: false; reason: 'canceled' | 'notQueued' };

export interface ResolveImageRequest {
  tenant: string;
  repository: string;
  tag?: string;
  digest?: string;
}
export interface ResolvedImage {
  /** Full reference with digest: `${loginServer}/${repo}@sha256:…`. */
  imageRef: string;
  digest: string;
}

export interface CreateGroupRequest {
  tenant: string;
  jobId: string;
  instanceId: string;
  groupName: string;
  location: string;
  imageRef: string;
  cpu: number;
  memoryGb: number;
  gpu?: { count: number; sku: string };
  env: Record<string, string>;
  sealedSecureEnv?: string;
  command?: string[];
  priority: Priority;
  expiresAt: string;
}

/** What the controller needs from a container group's instance view. */
export interface GroupView {
  exists: boolean;
  provisioningState: string | null;
  /** Group-level state (Running, Succeeded, Failed, Stopped, Pending…). */
  state: string | null;
  ip: string | null;
  container: {
    state: string | null;
    exitCode: number | null;
    detailStatus: string | null;
    restartCount: number;
    startTime: string | null;
    finishTime: string | null;
  } | null;
  /** Latest error-ish event message, if any (e.g. image pull failure). */
  lastEvent: string | null;
}

export interface AgentStatusView {
  reachable: boolean;
  state: AgentState | null;
  progress: number;
  message: string;
  exitCode: number | null;
  error: string | null;
}

export interface ObserveRequest {
  tenant: string;
  jobId: string;
  groupName: string;
  ip: string | null;
}
export interface Observation {
  group: GroupView;
  agent: AgentStatusView;
  cancelRequested: boolean;
}

export interface StartAgentRequest {
  jobId: string;
  ip: string;
  inputBlob?: string;
  command?: string[];
}

export interface ArchiveRequest {
  tenant: string;
  jobId: string;
  groupName: string;
  ip: string | null;
  /** Set for a failed attempt about to be restarted: its logs are kept beside the final ones. */
  attempt?: number;
}
export interface ArchiveAnswer {
  /** Blob name → URL of what was stored. */
  urls: Record<string, string>;
  notes: string[];
}

export interface GroupRef {
  tenant: string;
  jobId: string;
  groupName: string;
}

export interface NotifyRequest {
  tenant: string;
  jobId: string;
  webhookUrl: string;
  status: JobStatus;
}

/** Blob names of a job's archived artifacts, relative to the results container. */
export const blobNames = (tenant: string, jobId: string) => ({
  input: `${tenant}/${jobId}/input.json`,
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

/** The initial status of a job (before its orchestrator first runs). */
export function initialStatus(input: JobInput): JobStatus {
  return {
    id: input.jobId,
    tenant: input.tenant,
    state: 'queued',
    phase: 'admission',
    progress: 0,
    message: 'Waiting for a slot',
    image: { ref: input.spec.image.ref, digest: input.spec.image.digest ?? null },
    resources: { cpu: input.spec.cpu, memoryGb: input.spec.memoryGb, gpu: input.spec.gpu ?? null },
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
