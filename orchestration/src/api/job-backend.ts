// Port over the Durable client (what the handlers need of it), and how an orchestration instance
// becomes the job status the API returns.
import { initialStatus, isTerminalState, type JobInput, type JobRunState, type JobStatus } from '../contracts';

export interface InstanceInfo {
  instanceId: string;
  runtimeStatus: string;
  createdTime: string;
  input: unknown;
  customStatus: unknown;
  output: unknown;
}

export interface JobsBackend {
  start(input: JobInput): Promise<void>;
  get(instanceId: string): Promise<InstanceInfo | undefined>;
  /** Every instance whose id starts with prefix (created at or after `since` when given). */
  list(prefix: string, since?: Date): Promise<InstanceInfo[]>;
  raise(instanceId: string, event: string, data: unknown): Promise<void>;
}

/** Storage of archived job files (the results container). */
export interface ResultsStore {
  put(name: string, body: Buffer | string, contentType: string): Promise<string>;
  get(name: string): Promise<{ body: Buffer; contentType: string } | undefined>;
  exists(name: string): Promise<boolean>;
  url(name: string): string;
}

const isStatus = (v: unknown): v is JobStatus =>
  typeof v === 'object' && v !== null && 'state' in v && 'id' in v && 'container' in v;

/** The orchestration input of any generation: the first takes JobInput, later ones JobRunState. */
export function jobInputOf(info: InstanceInfo): JobInput | undefined {
  const v = info.input as (Partial<JobRunState> & Partial<JobInput>) | null;
  if (!v || typeof v !== 'object') return undefined;
  if (v.input && typeof v.input === 'object' && 'jobId' in v.input) return v.input;
  if (typeof v.jobId === 'string' && v.spec) return v as JobInput;
  return undefined;
}

/** Job status of an instance: output when finished, else custom status, else derived from input. */
export function statusOf(info: InstanceInfo): JobStatus | undefined {
  if (isStatus(info.output)) return info.output;
  const input = jobInputOf(info);
  const current = isStatus(info.customStatus) ? info.customStatus : input ? initialStatus(input) : undefined;
  if (!current) return undefined;
  if (['Failed', 'Terminated', 'Canceled'].includes(info.runtimeStatus) && !isTerminalState(current.state)) {
    // The orchestrator itself died (or an operator terminated it): report it; the sweeper removes the group.
    return {
      ...current,
      state: info.runtimeStatus === 'Failed' ? 'failed' : 'canceled',
      phase: 'done',
      error: {
        code: info.runtimeStatus === 'Failed' ? 'InternalError' : 'Canceled',
        message: `The job's orchestration ${info.runtimeStatus.toLowerCase()}.`,
      },
      finishedAt: current.finishedAt ?? null,
    };
  }
  return current;
}
