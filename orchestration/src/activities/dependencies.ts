// Activities of job dependencies (issue 13): a waiting job reads how its dependencies ended, and a
// job that ended tells the jobs that depend on it (their markers under dependentsPrefixOf, written
// by the submit handler) with a DependencyEnded event — best effort: a dependent whose event is
// lost finds the end at its next fallback re-check (workflows/phases/dependencies.ts).
import {
  dependentsPrefixOf,
  EVENTS,
  instanceIdOf,
  isTerminalState,
  type ActivityEnv,
  type ActivityHandlers,
  type DependencyEnded,
  type JobState,
} from '../contracts';
import { raiseEach } from '../parallel';
import type { ActivityDeps } from './deps';
import { retryable } from './outcomes';

/**
 * A dependency whose job no longer exists counts as ended `failed`: the submit handler saw it, so it
 * was purged, which only happens to a job that ended; how it ended is gone, so only a "finished"
 * condition lets the dependent run (a "succeeded" one cannot be shown to hold).
 */
export const PURGED_DEPENDENCY_STATE: JobState = 'failed';

/** Raises DependencyEnded on every job registered as depending on `jobId` (best effort, each on its own). */
export async function tellDependents(
  deps: Pick<ActivityDeps, 'log' | 'results'>,
  env: Pick<ActivityEnv, 'raise'>,
  tenant: string,
  jobId: string,
  state: JobState,
): Promise<number> {
  const prefix = dependentsPrefixOf(tenant, jobId);
  let markers: string[];
  try {
    markers = (await deps.results.list(prefix)).map((f) => f.name.slice(prefix.length)).filter(Boolean);
  } catch (e) {
    deps.log.warn({ tenant, jobId, err: (e as Error).message }, 'dependents not listed; they re-check on their own');
    return 0;
  }
  const payload: DependencyEnded = { job: jobId, state };
  const dependents = markers.map((dependent) => instanceIdOf(tenant, dependent));
  const reached = await raiseEach(
    env.raise,
    deps.log,
    dependents,
    EVENTS.dependencyEnded,
    payload,
    'dependency-ended event',
    {
      tenant,
      jobId,
    },
  );
  return reached.length;
}

export function dependencyActivities(deps: ActivityDeps): Pick<ActivityHandlers, 'CheckDependencies'> {
  return {
    CheckDependencies: (req, env) =>
      retryable('check dependencies', async () => {
        const [canceled, states] = await Promise.all([
          deps.admission.cancelRequested(req.tenant, req.instanceId),
          Promise.all(
            req.dependsOn.map(async (d) => {
              const status = await env.jobStatus(instanceIdOf(req.tenant, d.job));
              if (!status) return PURGED_DEPENDENCY_STATE;
              return isTerminalState(status.state) ? status.state : null;
            }),
          ),
        ]);
        return { states, canceled };
      }),
  };
}
