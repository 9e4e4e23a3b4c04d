// Activities of the admission phase and of teardown's release, over the admission service.
import type { ActivityHandlers } from '../contracts';
import type { ActivityDeps } from './deps';
import { retryable } from './outcomes';

export function admissionActivities(deps: ActivityDeps): Pick<ActivityHandlers, 'AcquireSlot' | 'ReleaseSlot'> {
  return {
    AcquireSlot: (req) =>
      retryable('acquire slot', async () => {
        const { tenant, instanceId, jobId, cores, memoryGb, owner, enqueuedAt } = req;
        const r = await deps.admission.grant(tenant, instanceId, {
          instanceId,
          jobId,
          cores,
          memoryGb,
          owner,
          enqueuedAt,
        });
        if (r.result === 'granted') return { granted: true } as const;
        if (r.result === 'waiting')
          return { granted: false, reason: 'waiting', position: r.position, blockedBy: r.blockedBy } as const;
        return { granted: false, reason: r.result } as const;
      }),
    ReleaseSlot: (req) =>
      retryable('release slot', () => deps.admission.release(req.tenant, req.instanceId, req.owner)),
  };
}
