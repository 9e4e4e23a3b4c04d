// How an orchestration instance becomes the job the API shows: the job and its newest status are
// read through the documented envelope of the orchestration input (contracts/envelope.ts), the
// custom status and the output — never through the orchestrator's private state.
import {
  envelopeOf,
  isJobStatus,
  isTerminalState,
  statusFromEnvelope,
  type JobInput,
  type JobStatus,
} from '../contracts';
import type { InstanceInfo } from '../ports';

export interface JobView {
  job: JobInput;
  status: JobStatus;
}

/** The job of an instance and its status: output when finished, else custom status, else the envelope's. */
export function jobViewOf(info: InstanceInfo): JobView | undefined {
  const env = envelopeOf(info.input);
  if (!env) return undefined;
  const current = isJobStatus(info.output)
    ? info.output
    : isJobStatus(info.customStatus)
      ? info.customStatus
      : statusFromEnvelope(env);
  if (['Failed', 'Terminated', 'Canceled'].includes(info.runtimeStatus) && !isTerminalState(current.state)) {
    // The orchestrator itself died (or an operator terminated it): report it; the sweeper removes the group.
    const failed = info.runtimeStatus === 'Failed';
    return {
      job: env.job,
      status: {
        ...current,
        state: failed ? 'failed' : 'canceled',
        phase: 'done',
        error: {
          code: failed ? 'InternalError' : 'Canceled',
          message: `The job's orchestration ${info.runtimeStatus.toLowerCase()}.`,
        },
        finishedAt: current.finishedAt ?? null,
      },
    };
  }
  return { job: env.job, status: current };
}

/** Just the status (undefined for an instance that is not a job). */
export const statusOf = (info: InstanceInfo): JobStatus | undefined => jobViewOf(info)?.status;
