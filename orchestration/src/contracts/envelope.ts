// The documented envelope of a job's orchestration input, in every generation: what the API may
// read of an instance without knowing the orchestrator's private state. The first generation gets
// `{job}` from the submit handler; each continueAsNew passes `{job, status, run}`, where `run` is
// owned by workflows/ and opaque to everyone else. `status` is carried because the Azure Storage
// tracking store resets customStatus (and createdTime) at continueAsNew (Azure/durabletask,
// AzureTableTrackingStore.UpdateStateAsync), so the API falls back to it until the new generation
// publishes; ordering uses `job.createdAt`, never the instance's createdTime.
import { initialStatus, type JobInput, type JobStatus } from './job';

export interface JobEnvelope {
  /** The job as submitted; the same in every generation. */
  job: JobInput;
  /** The status the previous generation last published. */
  status?: JobStatus;
  /** Orchestrator-private state (workflows/run-state.ts); never read outside workflows/. */
  run?: unknown;
}

const isJobInput = (v: unknown): v is JobInput =>
  typeof v === 'object' && v !== null && typeof (v as JobInput).jobId === 'string' && !!(v as JobInput).spec;

export const isJobStatus = (v: unknown): v is JobStatus =>
  typeof v === 'object' && v !== null && 'state' in v && 'id' in v && 'container' in v;

/** The envelope of an orchestration input (undefined when it is not a job's). */
export function envelopeOf(input: unknown): JobEnvelope | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const env = input as Partial<JobEnvelope>;
  if (!isJobInput(env.job)) return undefined;
  return { job: env.job, ...(isJobStatus(env.status) ? { status: env.status } : {}), run: env.run };
}

/** The newest status known from the input alone (before the generation publishes its own). */
export const statusFromEnvelope = (env: JobEnvelope): JobStatus => env.status ?? initialStatus(env.job);
