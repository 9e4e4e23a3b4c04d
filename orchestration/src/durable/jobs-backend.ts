// The JobsBackend port over the Durable client: start a job's orchestration, read and list its
// instances, raise events. The only place that knows durable-functions' status shape.
import * as df from 'durable-functions';
import { ORCHESTRATORS } from '../contracts';
import type { InstanceInfo, JobsBackend } from '../ports';

const toInfo = (s: df.DurableOrchestrationStatus): InstanceInfo => ({
  instanceId: s.instanceId,
  runtimeStatus: String(s.runtimeStatus),
  createdTime: new Date(s.createdTime).toISOString(),
  input: s.input,
  customStatus: s.customStatus,
  output: s.output,
});

export function durableJobsBackend(client: df.DurableClient): JobsBackend {
  return {
    async start(envelope) {
      await client.startNew(ORCHESTRATORS.job, { instanceId: envelope.job.instanceId, input: envelope });
    },
    async get(instanceId) {
      try {
        const s = await client.getStatus(instanceId, { showInput: true });
        return s && s.instanceId ? toInfo(s) : undefined;
      } catch (e) {
        if (/\b404\b/.test((e as Error).message)) return undefined;
        throw e;
      }
    },
    async list(prefix, since) {
      const all = since ? await client.getStatusBy({ createdTimeFrom: since }) : await client.getStatusAll();
      return all.filter((s) => s.instanceId.startsWith(prefix)).map(toInfo);
    },
    async raise(instanceId, event, data) {
      await client.raiseEvent(instanceId, event, data);
    },
  };
}
