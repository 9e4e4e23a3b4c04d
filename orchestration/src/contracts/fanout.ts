// Job arrays and dependencies (issue 13), as the API, the orchestrators and the activities share
// them: the normalized request parts, the task ids derived from the parent's, the parent's status
// part and the events that carry a dependency's end. Pure.
import type { JobState } from './job';

export const FANOUT_LIMITS = {
  /** Tasks of one array (AWS Batch allows 10,000; one parent's history here is sized for 1,000). */
  maxArrayCount: 1000,
  /** Dependencies of one job (as AWS Batch's dependsOn). */
  maxDependencies: 20,
} as const;

/** `array` of a job request, normalized. */
export interface ArraySpec {
  count: number;
  /** Tasks in flight at once (default: the tenant's maxConcurrentJobs, at most count). */
  parallelism: number;
  /** `best`: the parent's result is the result of the succeeded task with the highest logLikelihood. */
  select?: 'best';
  /** With `array.inputs`: the blob holding the inputs (a JSON array); task i's input is element i. */
  inputsBlob?: string;
}

export type DependencyCondition = 'succeeded' | 'finished';

/** One entry of a job request's `dependsOn`. */
export interface JobDependency {
  job: string;
  condition: DependencyCondition;
}

/** Where a task sits in its array (JobInput.task). */
export interface TaskPosition {
  /** The parent's job id. */
  parent: string;
  index: number;
  count: number;
}

/** A job id: `j-` and 20 base32 characters; a task of an array adds `-<index>` to its parent's. */
export const JOB_ID_PATTERN = /^j-[a-z0-9]{20}(-(0|[1-9][0-9]{0,3}))?$/;

/** The job id of task `index` of the array `parentJobId` (readable at GET …/jobs/{taskId}). */
export const taskJobIdOf = (parentJobId: string, index: number): string => `${parentJobId}-${index}`;

/** Task states the parent's status counts. */
export type ArrayCounts = Record<JobState, number>;

/** The parent's status part (JobStatus.array). */
export interface ArrayStatus {
  count: number;
  parallelism: number;
  counts: ArrayCounts;
  /** With select "best": the chosen task, once the array ended. */
  selected?: { id: string; index: number; logLikelihood: number } | null;
}

/** Payload of the DependencyEnded event a finished job raises on each job that depends on it. */
export interface DependencyEnded {
  job: string;
  state: JobState;
}

/** Whether a dependency that ended in `state` lets its dependent run. */
export const dependencyAllows = (condition: DependencyCondition, state: JobState): boolean =>
  condition === 'finished' || state === 'succeeded';

/** Blob prefix under which a job's dependents are registered (one empty marker blob each). */
export const dependentsPrefixOf = (tenant: string, jobId: string): string => `${tenant}/_dependents/${jobId}/`;

// ---- the parent's activities --------------------------------------------------------------------

/**
 * A generation's first step: writes the input blobs of tasks [from, to) from the parent's inputs blob
 * (array.inputs, when given) and answers whether the parent's cancel is recorded in the ledger (an
 * event can be lost at a generation switch; the ledger's record cannot).
 */
export interface PrepareTasksRequest {
  tenant: string;
  jobId: string;
  instanceId: string;
  inputsBlob?: string;
  from: number;
  to: number;
}
export interface PreparedTasks {
  prepared: number;
  canceled: boolean;
}

/** Cancels jobs (a parent's tasks): the ledger's cancel record and the cancel event on each. */
export interface CancelJobsRequest {
  tenant: string;
  instanceIds: string[];
}

/** Writes the parent's result: with select "best" the best task's result, else an index of the tasks. */
export interface CompleteArrayRequest {
  tenant: string;
  jobId: string;
  /** One character per task, by index: the first letter of the state it ended in (see TASK_STATE_CODES). */
  states: string;
  select?: 'best';
}
export interface ArrayCompletion {
  urls: Record<string, string>;
  selected: { id: string; index: number; logLikelihood: number } | null;
}

/** One character per ended task state (the parent carries a string of them across generations). */
export const TASK_STATE_CODES: Record<string, JobState> = {
  s: 'succeeded',
  f: 'failed',
  c: 'canceled',
  t: 'timed_out',
  '.': 'queued',
};
export const taskStateCode = (state: JobState): string =>
  Object.keys(TASK_STATE_CODES).find((k) => TASK_STATE_CODES[k] === state) ?? 'f';
