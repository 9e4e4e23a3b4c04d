// The liveness watch (timer, LIVENESS_WATCH_SCHEDULE, every minute by default): one poll for all
// running jobs, outside their orchestrations. Why: a per-job poll costs each job a durable timer and
// an ObserveJob activity — 8 stored history events, Durable actions that the Durable Task Scheduler
// bills and throttles — every POLL_INTERVAL_SECONDS; a timer-triggered function is no Durable action.
// It reads each running job's instance view (one GET per group: ARM's list answers groups without
// their instanceView — docker-archive/compose-cli#33, azure-emulation.md §2 list), and when the group is gone or its container no longer
// runs (a container that died without calling back), it raises a `watch` callback on the job: the
// monitor takes any non-final callback as "poll now" and decides on its own observation. The job's
// own safety poll (POLL_INTERVAL_SECONDS, 600 s by default) stays the backstop for what the watch
// cannot see (a hung agent that still runs, a watch that is down). Pull-mode jobs are watched too:
// their monitor (phases/pull.ts) takes the wake-up as a poll and reads the instance view itself (an
// eviction, which ACI restarts by itself, is told apart there, as on any poll).
import { EVENTS, type GroupView, type JobInput, type JobStatus } from '../contracts';
import type { Admission } from '../admission/service';
import type { Logger } from '../logging';
import { forEachLimited } from '../parallel';
import type { ContainerGroups } from '../ports';

export const LIVENESS_WATCH_FUNCTION = 'LivenessWatch';

export interface LivenessDeps {
  admission: Pick<Admission, 'read'>;
  groups: Pick<ContainerGroups, 'get'>;
  /** The job and its status (through the Durable client); undefined when the instance is unknown. */
  lookup(instanceId: string): Promise<{ job: JobInput; status: JobStatus } | undefined>;
  raise(instanceId: string, event: string, data: unknown): Promise<void>;
  log: Logger;
  now(): Date;
  /** Jobs read at once (default 8). */
  parallel?: number;
}

export interface LivenessReport {
  /** Running ledger entries. */
  examined: number;
  /** Of those, jobs running in push mode whose group was read. */
  watched: number;
  /** Jobs woken (instance ids). */
  raised: string[];
  errors: string[];
}

/** Pure: why a running job's group shows it can no longer run its batch; undefined while it may. */
export function deadReason(g: GroupView): string | undefined {
  if (!g.exists) return 'its container group is gone';
  const c = (g.container?.state ?? '').toLowerCase();
  if (['terminated', 'stopped', 'failed'].includes(c)) return `its container is ${c}`;
  const s = (g.state ?? '').toLowerCase();
  if (['stopped', 'failed', 'succeeded'].includes(s)) return `its container group is ${s}`;
  return undefined;
}

export async function watchLiveness(deps: LivenessDeps): Promise<LivenessReport> {
  const report: LivenessReport = { examined: 0, watched: 0, raised: [], errors: [] };
  const doc = await deps.admission.read();
  const entries = Object.entries(doc.tenants).flatMap(([tenant, t]) => t.running.map((e) => ({ tenant, ...e })));
  report.examined = entries.length;
  await forEachLimited(entries, deps.parallel ?? 8, async ({ tenant, instanceId, jobId }) => {
    try {
      const view = await deps.lookup(instanceId);
      if (!view || view.status.state !== 'running' || view.status.phase !== 'running') return;
      report.watched++;
      const reason = deadReason(await deps.groups.get(view.job.groupName));
      if (!reason) return;
      const message = `liveness watch: ${reason}`;
      await deps.raise(instanceId, EVENTS.callback, { jobId, type: 'watch', at: deps.now().toISOString(), message });
      report.raised.push(instanceId);
      deps.log.info({ tenant, jobId, instanceId, reason }, 'liveness watch woke a job');
    } catch (e) {
      // The job's own safety poll is the backstop: log and go on.
      report.errors.push(`${instanceId}: ${(e as Error).message}`);
    }
  });
  return report;
}
