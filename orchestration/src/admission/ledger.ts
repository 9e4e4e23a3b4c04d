// Admission without Durable entities (the local host has none): one small JSON ledger, updated
// with optimistic concurrency (blob ETags in Azure and Azurite; see azure/blob.ts). It holds
// each tenant's FIFO queue and running set and the global running set, so a grant can check the
// tenant's maxConcurrentJobs and the region's core/group quota in ONE atomic compare-and-swap:
// a burst of simultaneous submissions can never over-admit. These functions are pure.

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
}

export interface GlobalLimits {
  maxCores: number;
  maxGroups: number;
  maxCreatesPer5Min: number;
}

export interface TenantAdmissionLimits {
  maxConcurrentJobs: number;
  maxQueuedJobs: number;
}

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
  t.queue.push(entry);
  return { result: 'enqueued', position: t.queue.length - 1 };
}

export type GrantResult =
  | { result: 'granted' }
  | { result: 'waiting'; position: number; blockedBy: 'queue' | 'tenant' | 'global' }
  | { result: 'canceled' }
  | { result: 'notQueued' };

/**
 * Admits queued jobs in FIFO order per tenant while the tenant's maxConcurrentJobs and the global
 * caps allow, taking one head per tenant in turn (so one busy tenant cannot starve the others),
 * then answers for `instanceId`. Any waiting job's poll admits every job that fits, so a freed slot
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
  admit(doc, global, now, (id) => (id === tenant ? limits : limitsOf(id)));
  if (t.running.some((e) => e.instanceId === instanceId)) return { result: 'granted' };
  const ahead = t.queue
    .slice(
      0,
      t.queue.findIndex((e) => e.instanceId === instanceId),
    )
    .filter((e) => !e.cancelRequested).length;
  if (ahead > 0) return { result: 'waiting', position: ahead, blockedBy: 'queue' };
  return {
    result: 'waiting',
    position: 0,
    blockedBy: t.running.length >= limits.maxConcurrentJobs ? 'tenant' : 'global',
  };
}

/** Moves admissible queue heads to running (round-robin over tenants). Returns how many. */
export function admit(
  doc: LedgerDoc,
  global: GlobalLimits,
  now: Date,
  limitsOf: (tenant: string) => TenantAdmissionLimits | undefined,
): number {
  const horizon = now.getTime() - 5 * 60_000;
  doc.recentGrants = doc.recentGrants.filter((at) => Date.parse(at) > horizon);
  const all = Object.values(doc.tenants).flatMap((x) => x.running);
  let groups = all.length;
  let cores = all.reduce((s, e) => s + e.cores, 0);
  let admitted = 0;
  const tenants = Object.keys(doc.tenants).sort();
  for (let progress = true; progress;) {
    progress = false;
    for (const id of tenants) {
      const t = doc.tenants[id]!;
      const lim = limitsOf(id);
      if (!lim) continue;
      const headIndex = t.queue.findIndex((e) => !e.cancelRequested);
      if (headIndex < 0 || t.running.length >= lim.maxConcurrentJobs) continue;
      const head = t.queue[headIndex]!;
      if (
        groups + 1 > global.maxGroups ||
        cores + head.cores > global.maxCores + 1e-9 ||
        doc.recentGrants.length >= global.maxCreatesPer5Min
      )
        continue;
      t.queue.splice(headIndex, 1);
      t.running.push({ ...head, grantedAt: now.toISOString() });
      doc.recentGrants.push(now.toISOString());
      groups += 1;
      cores += head.cores;
      admitted += 1;
      progress = true;
    }
  }
  return admitted;
}

/**
 * Removes the job from queue and running set (idempotent) — only when `owner` is the entry's owner
 * (an entry written before owners existed is anyone's). Returns whether anything changed.
 */
export function release(doc: LedgerDoc, tenant: string, instanceId: string, owner: string): boolean {
  const t = doc.tenants[tenant];
  if (!t) return false;
  const before = t.queue.length + t.running.length;
  const keep = (e: LedgerEntry) => e.instanceId !== instanceId || (e.owner !== undefined && e.owner !== owner);
  t.queue = t.queue.filter(keep);
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
export function reconcile(doc: LedgerDoc, isLive: (instanceId: string) => boolean): string[] {
  const removed: string[] = [];
  for (const [tenant, t] of Object.entries(doc.tenants)) {
    for (const list of ['queue', 'running'] as const) {
      t[list] = t[list].filter((e) => {
        const live = isLive(e.instanceId);
        if (!live) removed.push(e.instanceId);
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
