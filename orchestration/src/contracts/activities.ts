// The orchestrator ↔ activity seam: every activity's input and output type, keyed by its name (the values of
// ACTIVITIES) in ActivityMap. createActivities() returns handlers typed by the map and the orchestrator calls
// activities only through one typed helper, so a wrong input or a misread output is a compile error.
import type { ActivityName } from './names';
import type { AgentState, JobState, JobStatus, Priority, TenantPolicy } from './job';
import type { Outcome } from './job-errors';
import type {
  ArrayCompletion,
  CancelJobsRequest,
  CompleteArrayRequest,
  PreparedTasks,
  PrepareTasksRequest,
  JobDependency,
} from './fanout';

/** Release of a job's ledger entry; `owner` is the job's request hash (only the owner's release counts). */
export interface ReleaseSlotRequest {
  tenant: string;
  instanceId: string;
  owner: string;
  /** The job and how it ended: its dependents (if any) are told (DependencyEnded). Absent on older histories. */
  jobId?: string;
  outcome?: JobState;
}

/** A job waiting for its dependencies asks how each ended (workflows/phases/dependencies.ts). */
export interface CheckDependenciesRequest {
  tenant: string;
  jobId: string;
  instanceId: string;
  dependsOn: JobDependency[];
}
export interface DependencyStates {
  /** Per dependency, in request order: the state it ended in, or null while it has not ended. */
  states: (JobState | null)[];
  /** The job's own cancel record in the ledger (a cancel event lost at a generation switch). */
  canceled: boolean;
}

export interface SlotRequest {
  tenant: string;
  instanceId: string;
  jobId: string;
  cores: number;
  memoryGb: number;
  /** The job's request hash and submit time: a job that lost its queue entry is queued again. */
  owner: string;
  enqueuedAt: string;
  /** Queue priority (JobSpec.queuePriority), kept when the job is queued again. */
  priority?: number;
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
  /** The job's stored input: checked before any group is created (it is read only at the start). */
  inputBlob?: string;
  /** The tenant's policy at submit (JobSpec.policy). */
  policy?: TenantPolicy;
}
export interface ResolvedImage {
  /**
   * Registry-relative reference with digest, `repo@sha256:…`: never the registry's host, which the
   * create activity takes from its configuration (a stored host:port goes stale when it changes).
   */
  imageRef: string;
  digest: string;
}

export interface CreateGroupRequest {
  tenant: string;
  jobId: string;
  instanceId: string;
  groupName: string;
  location: string;
  /** Registry-relative `repo@sha256:…` (ResolvedImage.imageRef). */
  imageRef: string;
  cpu: number;
  memoryGb: number;
  env: Record<string, string>;
  sealedSecureEnv?: string;
  /** The job id the secure env was sealed for (JobSpec.sealedFor); absent: jobId. */
  sealedFor?: string;
  command?: string[];
  priority: Priority;
  /** JobSpec.startMode: pull → AGENT_START_MODE=pull and no inbound address. */
  startMode?: 'pull';
  expiresAt: string;
  /** The tenant's policy at submit (JobSpec.policy): subnet and job identity. */
  policy?: TenantPolicy;
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
  instanceId: string;
  groupName: string;
  ip: string | null;
  /** Pull mode: the agent cannot be called; read what it uploaded instead. */
  pull?: boolean;
}
export interface Observation {
  group: GroupView;
  agent: AgentStatusView;
  cancelRequested: boolean;
  /** Pull mode: the state in the result the agent uploaded (result.json), null before any. */
  uploaded?: { state: string } | null;
}

export interface StartAgentRequest {
  jobId: string;
  ip: string;
  inputBlob?: string;
  command?: string[];
}

/**
 * GetContainerGroup after the agent's ready callback: when the view shows the group running with an
 * address, POST /start to that address (the one ARM reports) in the same activity.
 */
export interface ReadGroupRequest extends GroupRef {
  start?: Omit<StartAgentRequest, 'ip'>;
}
/**
 * The view, and the start's answer when one was made: absent when the view did not show the group
 * running with an address (nothing was started), null when the agent was not reachable.
 */
export type ReadGroupAnswer = GroupView & { started?: Outcome<null> | null };

export interface ArchiveRequest {
  tenant: string;
  jobId: string;
  groupName: string;
  ip: string | null;
  /** Set for a failed attempt about to be restarted: its logs are kept beside the final ones. */
  attempt?: number;
  /** Pull mode: the agent uploaded result and artifacts itself; only their links are collected. */
  pull?: boolean;
}
export interface ArchiveAnswer {
  /** Blob name → URL of what was stored. */
  urls: Record<string, string>;
  notes: string[];
}

/** Teardown's archive in one activity: the result (when `result`) and then the logs. */
export interface ArchiveJobRequest extends ArchiveRequest {
  /** Archive the agent's result (or, in pull mode, collect the links of what it uploaded). */
  result: boolean;
  /** The teardown deadline (ISO): a part not begun by then is skipped. */
  deadline: string;
}
/** ArchiveJobAnswer.failed's reason for a part skipped because the deadline had passed. */
export const ARCHIVE_DEADLINE_PASSED = 'the teardown deadline passed';
export interface ArchiveJobAnswer extends ArchiveAnswer {
  /** Why a part was not archived (its message); a part absent here was archived. */
  failed: { result?: string; logs?: string };
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
  /** The tenant's policy at submit (JobSpec.policy): may the webhook resolve to a private address. */
  policy?: TenantPolicy;
}

export interface AgentRef {
  jobId: string;
  ip: string;
}

export interface GroupRemoval {
  existed: boolean;
}

export interface WebhookAnswer {
  delivered: boolean;
  reason?: string;
}

/**
 * The seam: activity name → its input and output. Every activity in ACTIVITIES has an entry (the
 * `satisfies` below fails to compile otherwise); handlers and calls are typed from it.
 */
export interface ActivityMap {
  AcquireSlot: { input: SlotRequest; output: SlotAnswer };
  ReleaseSlot: { input: ReleaseSlotRequest; output: boolean };
  ResolveImage: { input: ResolveImageRequest; output: Outcome<ResolvedImage> };
  CreateContainerGroup: { input: CreateGroupRequest; output: Outcome<null> };
  GetContainerGroup: { input: ReadGroupRequest; output: ReadGroupAnswer };
  CheckAgentHealth: { input: { ip: string }; output: boolean };
  StartAgent: { input: StartAgentRequest; output: Outcome<null> };
  ObserveJob: { input: ObserveRequest; output: Observation };
  CancelAgent: { input: AgentRef; output: boolean };
  RestartContainerGroup: { input: GroupRef; output: Outcome<null> };
  ArchiveLogs: { input: ArchiveRequest; output: ArchiveAnswer };
  ArchiveResult: { input: ArchiveRequest; output: ArchiveAnswer };
  ArchiveJob: { input: ArchiveJobRequest; output: ArchiveJobAnswer };
  DeleteContainerGroup: { input: GroupRef; output: GroupRemoval };
  StopContainerGroup: { input: GroupRef; output: GroupRemoval };
  NotifyWebhook: { input: NotifyRequest; output: WebhookAnswer };
  PrepareTasks: { input: PrepareTasksRequest; output: PreparedTasks };
  CancelJobs: { input: CancelJobsRequest; output: number };
  CompleteArray: { input: CompleteArrayRequest; output: ArrayCompletion };
  CheckDependencies: { input: CheckDependenciesRequest; output: DependencyStates };
}
// Compile-time completeness: every name in ACTIVITIES has a map entry and nothing else does.
type _Complete = [ActivityName] extends [keyof ActivityMap]
  ? [keyof ActivityMap] extends [ActivityName]
    ? true
    : never
  : never;
export const ACTIVITY_MAP_COMPLETE: _Complete = true;

export type ActivityInput<K extends ActivityName> = ActivityMap[K]['input'];
export type ActivityOutput<K extends ActivityName> = ActivityMap[K]['output'];

/**
 * What an activity invocation may do besides its one side effect: raise an event on another job's
 * orchestration (e.g. wake the jobs a released slot was granted to). Given per invocation.
 */
export interface ActivityEnv {
  raise(instanceId: string, event: string, data: unknown): Promise<void>;
  /** A job's newest status (as the API shows it); undefined when no such job exists. */
  jobStatus(instanceId: string): Promise<JobStatus | undefined>;
}

/** What createActivities() returns: one handler per activity, typed by the map. */
export type ActivityHandlers = {
  [K in ActivityName]: (input: ActivityInput<K>, env: ActivityEnv) => Promise<ActivityOutput<K>>;
};
