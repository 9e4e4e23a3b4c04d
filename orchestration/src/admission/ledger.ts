// Admission without Durable entities (the local host has none): one small JSON ledger, updated
// with optimistic concurrency (blob ETags in Azure and Azurite; see azure/blob.ts). It holds
// each tenant's queue (priority order, FIFO among equals), running set and decayed recent usage,
// so a grant can check the tenant's maxConcurrentJobs and the region's core/group quota in ONE
// atomic compare-and-swap: a burst of simultaneous submissions can never over-admit. Freed capacity
// goes to the tenant with the lowest usage ÷ weight (weighted fair share with a usage half-life, as
// in Kueue's admission fair sharing and AWS Batch's fair-share scheduling). These functions are pure.
import { pruneUsage, recordRun, usageNow } from './fair-share';

export { DEFAULT_HALF_LIFE_MINUTES, usageNow } from './fair-share';

export interface LedgerEntry {
  instanceId: string;
  jobId: string;
  cores: number;
  memoryGb: number;
  enqueuedAt: string;
  grantedAt?: string;
  cancelRequested?: boolean;
  /**
   * Who may release this entry: the request hash of the submission that enqueued it (the same
   * instance id can be claimed by two racing submissions with one Idempotency-Key).
   */
  owner?: string;
  /** Queue priority 0..1000 within the tenant's own queue: higher first, FIFO among equals (absent: 0). */
  priority?: number;
  /**
   * Queued but not admissible: a job waiting for its dependencies, or an array's parent (which never
   * runs a group itself). The job's own grant attempt clears it; nothing else admits a held entry.
   */
  held?: boolean;
}

export interface TenantLedger {
  queue: LedgerEntry[];
  running: LedgerEntry[];
}

export interface LedgerDoc {
  version: 1;
  tenants: Record<string, TenantLedger>;
  /** ISO times of recent grants (creates), for the creates-per-5-minutes cap. */
  recentGrants: string[];
  /**
   * Each tenant's recent usage in vCPU-seconds, decayed to `at` with the fair-share half-life: one
   * number per tenant (bounded), folded in when a job is released; running jobs count live on top.
   */
  usage?: Record<string, TenantUsageRecord>;
}

export interface TenantUsageRecord {
  vcpuSeconds: number;
  at: string;
}

export interface GlobalLimits {
  maxCores: number;
  maxGroups: number;
  maxCreatesPer5Min: number;
  /** Half-life of the recent usage fair share compares (FAIR_SHARE_HALF_LIFE_MINUTES; default 60). */
  fairShareHalfLifeMinutes?: number;
}

export interface TenantAdmissionLimits {
  maxConcurrentJobs: number;
  maxQueuedJobs: number;
  /** Fair-share weight (tenants file `limits.weight`; default 1): a tenant's share of contended capacity. */
  weight?: number;
}

export const DEFAULT_WEIGHT = 1;

export const emptyLedger = (): LedgerDoc => ({ version: 1, tenants: {}, recentGrants: [] });

const tenantOf = (doc: LedgerDoc, tenant: string): TenantLedger => (doc.tenants[tenant] ??= { queue: [], running: [] });
const has = (t: TenantLedger, instanceId: string): 'queue' | 'running' | undefined =>
  t.queue.some((e) => e.instanceId === instanceId)
    ? 'queue'
    : t.running.some((e) => e.instanceId === instanceId)
      ? 'running'
      : undefined;

export type EnqueueResult =
  | { result: 'enqueued' | 'already'; position: number }
  | { result: 'queueFull'; queued: number }
  | { result: 'ownedByAnother' };

export function enqueue(
  doc: LedgerDoc,
  tenant: string,
  limits: TenantAdmissionLimits,
  entry: LedgerEntry,
): EnqueueResult {
  const t = tenantOf(doc, tenant);
  const where = has(t, entry.instanceId);
  if (where && entry.owner !== undefined) {
    const held = [...t.queue, ...t.running].find((e) => e.instanceId === entry.instanceId)!;
    if (held.owner !== undefined && held.owner !== entry.owner) return { result: 'ownedByAnother' };
  }
  if (where)
    return {
      result: 'already',
      position: where === 'queue' ? t.queue.findIndex((e) => e.instanceId === entry.instanceId) : -1,
    };
  if (t.queue.length >= limits.maxQueuedJobs) return { result: 'queueFull', queued: t.queue.length };
  // The queue is kept in admission order: after every entry of the same or a higher priority.
  const behind = t.queue.findIndex((e) => priorityOf(e) < priorityOf(entry));
  const at = behind < 0 ? t.queue.length : behind;
  t.queue.splice(at, 0, entry);
  return { result: 'enqueued', position: at };
}

const priorityOf = (e: LedgerEntry): number => e.priority ?? 0;

export type GrantResult =
  | { result: 'granted' }
  | { result: 'waiting'; position: number; blockedBy: 'queue' | 'tenant' | 'global' }
  | { result: 'canceled' }
  | { result: 'notQueued' };

/**
 * Admits queued jobs (each tenant's in priority order, tenants by fair share: see admit) while the
 * tenant's maxConcurrentJobs and the global caps allow, then answers for `instanceId`. Any waiting job's poll admits every job that fits, so a freed slot
 * is handed on within one poll interval instead of one poll per queued job. Canceled entries never
 * block the queue; their own orchestrator removes them.
 */
export function tryGrant(
  doc: LedgerDoc,
  tenant: string,
  limits: TenantAdmissionLimits,
  global: GlobalLimits,
  instanceId: string,
  now: Date,
  limitsOf: (tenant: string) => TenantAdmissionLimits | undefined = () => undefined,
): GrantResult {
  const t = tenantOf(doc, tenant);
  if (t.running.some((e) => e.instanceId === instanceId)) return { result: 'granted' };
  const position = t.queue.findIndex((e) => e.instanceId === instanceId);
  if (position < 0) return { result: 'notQueued' };
  if (t.queue[position]!.cancelRequested) {
    t.queue.splice(position, 1);
    return { result: 'canceled' };
  }
  // The job asks for its slot itself: it is no longer held (its dependencies ended).
  delete t.queue[position]!.held;
  admit(doc, global, now, (id) => (id === tenant ? limits : limitsOf(id)));
  if (t.running.some((e) => e.instanceId === instanceId)) return { result: 'granted' };
  const ahead = t.queue
    .slice(
      0,
      t.queue.findIndex((e) => e.instanceId === instanceId),
    )
    .filter((e) => !e.cancelRequested && !e.held).length;
  if (ahead > 0) return { result: 'waiting', position: ahead, blockedBy: 'queue' };
  return {
    result: 'waiting',
    position: 0,
    blockedBy: t.running.length >= limits.maxConcurrentJobs ? 'tenant' : 'global',
  };
}

/**
 * Moves admissible queue heads to running, one at a time, each to the tenant with the lowest recent
 * usage ÷ weight among those whose head fits (ties: the lower running cores ÷ weight, then the
 * tenant id — so equal tenants alternate, and one pass splits fresh capacity by weight). A tenant's
 * head is its highest-priority, oldest job. Returns how many were admitted.
 */
export function admit(
  doc: LedgerDoc,
  global: GlobalLimits,
  now: Date,
  limitsOf: (tenant: string) => TenantAdmissionLimits | undefined,
): number {
  const horizon = now.getTime() - 5 * 60_000;
  doc.recentGrants = doc.recentGrants.filter((at) => Date.parse(at) > horizon);
  pruneUsage(doc, now, global);
  const all = Object.values(doc.tenants).flatMap((x) => x.running);
  let groups = all.length;
  let cores = all.reduce((s, e) => s + e.cores, 0);
  let admitted = 0;
  // Usage does not move within one pass (new grants have run for 0 s): computed once per tenant.
  const usage = new Map<string, number>();
  for (;;) {
    if (groups + 1 > global.maxGroups || doc.recentGrants.length >= global.maxCreatesPer5Min) break;
    let best: { id: string; index: number; key: [number, number] } | undefined;
    for (const id of Object.keys(doc.tenants).sort()) {
      const t = doc.tenants[id]!;
      const lim = limitsOf(id);
      if (!lim || t.running.length >= lim.maxConcurrentJobs) continue;
      const index = t.queue.findIndex((e) => !e.cancelRequested && !e.held);
      if (index < 0 || cores + t.queue[index]!.cores > global.maxCores + 1e-9) continue;
      const weight = lim.weight ?? DEFAULT_WEIGHT;
      if (!usage.has(id)) usage.set(id, usageNow(doc, id, now, global));
      const key: [number, number] = [usage.get(id)! / weight, t.running.reduce((s, e) => s + e.cores, 0) / weight];
      if (
        !best ||
        key[0] < best.key[0] - 1e-9 ||
        (Math.abs(key[0] - best.key[0]) <= 1e-9 && key[1] < best.key[1] - 1e-9)
      )
        best = { id, index, key };
    }
    if (!best) break;
    const t = doc.tenants[best.id]!;
    const [head] = t.queue.splice(best.index, 1);
    t.running.push({ ...head!, grantedAt: now.toISOString() });
    doc.recentGrants.push(now.toISOString());
    groups += 1;
    cores += head!.cores;
    admitted += 1;
  }
  return admitted;
}

/**
 * Removes the job from queue and running set (idempotent) — only when `owner` is the entry's owner
 * (an entry written before owners existed is anyone's). Returns whether anything changed.
 */
export function release(
  doc: LedgerDoc,
  tenant: string,
  instanceId: string,
  owner: string,
  usage?: { now: Date; global: Pick<GlobalLimits, 'fairShareHalfLifeMinutes'> },
): boolean {
  const t = doc.tenants[tenant];
  if (!t) return false;
  const before = t.queue.length + t.running.length;
  const keep = (e: LedgerEntry) => e.instanceId !== instanceId || (e.owner !== undefined && e.owner !== owner);
  t.queue = t.queue.filter(keep);
  if (usage) for (const e of t.running.filter((x) => !keep(x))) recordRun(doc, tenant, e, usage.now, usage.global);
  t.running = t.running.filter(keep);
  if (t.queue.length === 0 && t.running.length === 0) delete doc.tenants[tenant];
  return t.queue.length + t.running.length !== before;
}

/**
 * Records a cancel on the job's entry, queued or running: the ledger is the one durable record of a
 * cancel (a queued job leaves the queue at its next grant attempt; a running job's poll reads it).
 * Returns whether the entry exists.
 */
export function markCanceled(doc: LedgerDoc, tenant: string, instanceId: string): boolean {
  const t = doc.tenants[tenant];
  const e = t?.queue.find((x) => x.instanceId === instanceId) ?? t?.running.find((x) => x.instanceId === instanceId);
  if (!e) return false;
  e.cancelRequested = true;
  return true;
}

/** Whether a cancel was recorded for the job. */
export const isCancelRequested = (doc: LedgerDoc, tenant: string, instanceId: string): boolean => {
  const t = doc.tenants[tenant];
  return !!(t?.queue.find((x) => x.instanceId === instanceId) ?? t?.running.find((x) => x.instanceId === instanceId))
    ?.cancelRequested;
};

/** Sweeper: drops entries whose orchestration is finished or unknown (crash, terminate, purge). */
export function reconcile(
  doc: LedgerDoc,
  isLive: (instanceId: string) => boolean,
  usage?: { now: Date; global: Pick<GlobalLimits, 'fairShareHalfLifeMinutes'> },
): string[] {
  const removed: string[] = [];
  for (const [tenant, t] of Object.entries(doc.tenants)) {
    for (const list of ['queue', 'running'] as const) {
      t[list] = t[list].filter((e) => {
        const live = isLive(e.instanceId);
        if (!live) removed.push(e.instanceId);
        // A dead job's run still used the capacity: it counts toward its tenant's fair share.
        if (!live && list === 'running' && usage) recordRun(doc, tenant, e, usage.now, usage.global);
        return live;
      });
    }
    if (t.queue.length === 0 && t.running.length === 0) delete doc.tenants[tenant];
  }
  return removed;
}

export function tenantUsage(doc: LedgerDoc, tenant: string): { running: number; queued: number; runningCores: number } {
  const t = doc.tenants[tenant];
  return {
    running: t?.running.length ?? 0,
    queued: t?.queue.length ?? 0,
    runningCores: t?.running.reduce((s, e) => s + e.cores, 0) ?? 0,
  };
}
