// Activities of the admission phase and of teardown's release, over the admission service. Every
// change that grants slots wakes the granted jobs (a slot-granted event on their orchestrations);
// a lost event only delays a job until its fallback re-check. A release at a job's end also tells
// the jobs that depend on it (DependencyEnded), just as best effort.
import { EVENTS, type ActivityEnv, type ActivityHandlers } from '../contracts';
import { tellDependents } from './dependencies';
import { raiseEach } from '../parallel';
import type { ActivityDeps } from './deps';
import { retryable } from './outcomes';

/** Wakes the jobs a ledger change granted a slot to (best effort: each has a fallback timer). */
export async function wakeGranted(
  deps: Pick<ActivityDeps, 'log'>,
  env: Pick<ActivityEnv, 'raise'>,
  granted: string[],
  except?: string,
): Promise<void> {
  const others = granted.filter((id) => id !== except);
  await raiseEach(
    env.raise,
    deps.log,
    others,
    EVENTS.slotGranted,
    { at: new Date().toISOString() },
    'slot-granted event',
  );
}

export function admissionActivities(deps: ActivityDeps): Pick<ActivityHandlers, 'AcquireSlot' | 'ReleaseSlot'> {
  return {
    AcquireSlot: (req, env) =>
      retryable('acquire slot', async () => {
        const { tenant, instanceId, jobId, cores, memoryGb, owner, enqueuedAt, priority } = req;
        const entry = { instanceId, jobId, cores, memoryGb, owner, enqueuedAt, ...(priority ? { priority } : {}) };
        const { result: r, granted } = await deps.admission.grant(tenant, instanceId, entry);
        await wakeGranted(deps, env, granted, instanceId);
        if (r.result === 'granted') return { granted: true } as const;
        if (r.result === 'waiting')
          return { granted: false, reason: 'waiting', position: r.position, blockedBy: r.blockedBy } as const;
        return { granted: false, reason: r.result } as const;
      }),
    ReleaseSlot: (req, env) =>
      retryable('release slot', async () => {
        const { result, granted } = await deps.admission.release(req.tenant, req.instanceId, req.owner);
        await wakeGranted(deps, env, granted);
        // After the release, so a dependent that wakes finds this job's slot already freed.
        if (req.jobId && req.outcome) await tellDependents(deps, env, req.tenant, req.jobId, req.outcome);
        return result;
      }),
  };
}
