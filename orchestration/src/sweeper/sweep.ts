// The sweeper (timer): no group tagged by this controller keeps billing after its job. It deletes
// any such group whose orchestration is finished (unless the job deliberately kept or stopped it)
// or unknown, and any whose expiresAt tag has passed; and it reconciles the admission ledger with
// the orchestrations (entries of finished or unknown instances free their slot).
import { isTerminalState, TAGS, type JobStatus } from '../contracts';
import type { Logger } from '../logging';
import type { Admission } from '../admission/service';
import type { ContainerGroups } from '../ports';

export interface InstanceLookup {
  /** undefined when the instance does not exist. */
  (instanceId: string): Promise<{ runtimeStatus: string; status: JobStatus | undefined } | undefined>;
}

export interface SweepDeps {
  groups: ContainerGroups;
  admission: Admission;
  lookup: InstanceLookup;
  log: Logger;
  now(): Date;
  /** A ledger entry of an unknown instance younger than this is a submit in progress: keep it. */
  graceSeconds?: number;
}

export interface SweepReport {
  examined: number;
  deleted: { name: string; reason: string }[];
  kept: string[];
  ledgerRemoved: string[];
  /** Queued jobs the freed slots went to: the caller wakes them (slot-granted event). */
  granted: string[];
  errors: string[];
}

const FINISHED = ['Completed', 'Failed', 'Terminated', 'Canceled'];

export type SweepVerdict = { delete: true; reason: string } | { delete: false; reason: string };

/** Pure: what to do with one tagged group. */
export function judgeGroup(
  tags: Record<string, string>,
  instance: { runtimeStatus: string; status: JobStatus | undefined } | undefined,
  now: Date,
): SweepVerdict {
  const expires = tags[TAGS.expiresAt] ? Date.parse(tags[TAGS.expiresAt]!) : NaN;
  if (Number.isFinite(expires) && now.getTime() > expires)
    return { delete: true, reason: `expired at ${tags[TAGS.expiresAt]}` };
  if (!instance) return { delete: true, reason: 'its orchestration is unknown' };
  const finished =
    FINISHED.includes(instance.runtimeStatus) ||
    (instance.status !== undefined && isTerminalState(instance.status.state) && instance.status.phase === 'done');
  if (!finished) return { delete: false, reason: 'job in progress' };
  const c = instance.status?.container.state;
  if (instance.runtimeStatus === 'Completed' && (c === 'kept' || c === 'stopped'))
    return { delete: false, reason: `deliberately ${c} (until expiresAt)` };
  return { delete: true, reason: `its orchestration is ${instance.runtimeStatus}` };
}

export async function sweep(deps: SweepDeps): Promise<SweepReport> {
  const report: SweepReport = { examined: 0, deleted: [], kept: [], ledgerRemoved: [], granted: [], errors: [] };
  const now = deps.now();
  const cache = new Map<string, Awaited<ReturnType<InstanceLookup>>>();
  const lookup = async (id: string) => {
    if (!cache.has(id)) cache.set(id, await deps.lookup(id));
    return cache.get(id);
  };

  const groups = await deps.groups.list();
  for (const g of groups) {
    if (g.tags[TAGS.managedBy] !== TAGS.managedByValue) continue;
    report.examined++;
    try {
      const instanceId = g.tags[TAGS.instanceId];
      const instance = instanceId ? await lookup(instanceId) : undefined;
      const verdict = judgeGroup(g.tags, instance, now);
      if (verdict.delete) {
        await deps.groups.delete(g.name);
        report.deleted.push({ name: g.name, reason: verdict.reason });
        deps.log.info(
          { group: g.name, tenant: g.tags[TAGS.tenant], jobId: g.tags[TAGS.jobId], instanceId, reason: verdict.reason },
          'sweeper deleted a container group',
        );
      } else report.kept.push(g.name);
    } catch (e) {
      report.errors.push(`${g.name}: ${(e as Error).message}`);
    }
  }

  try {
    const doc = await deps.admission.read();
    const grace = (deps.graceSeconds ?? 120) * 1000;
    const live = new Map<string, boolean>();
    for (const t of Object.values(doc.tenants)) {
      for (const e of [...t.queue, ...t.running]) {
        const info = await lookup(e.instanceId);
        const young = now.getTime() - Date.parse(e.enqueuedAt) < grace;
        live.set(e.instanceId, young || (info !== undefined && !FINISHED.includes(info.runtimeStatus)));
      }
    }
    const { result: removed, granted } = await deps.admission.reconcile((id) => live.get(id) ?? true);
    report.ledgerRemoved = removed;
    report.granted = granted;
    if (report.ledgerRemoved.length)
      deps.log.info({ removed: report.ledgerRemoved }, 'sweeper freed admission slots of finished or unknown jobs');
  } catch (e) {
    report.errors.push(`ledger: ${(e as Error).message}`);
  }
  return report;
}
