// The one owner of every admission-ledger change: enqueue (API), grant and release (activities),
// cancel (API), reconcile (sweeper). Callers say what they want; this service runs the pure ledger
// function inside the store's compare-and-swap and decides once, here, whether anything changed
// (so an unchanged document is never rewritten). Whatever frees capacity (a release, a reconcile)
// admits the next jobs in the ledger's order at once and answers which ones it granted, so the
// caller wakes them with a slot-granted event: queued jobs wait for that event, not by polling.
// A release (and a reconcile) also folds the finished run into its tenant's fair-share usage.
import type { LedgerStore } from '../ports';
import {
  admit,
  enqueue,
  isCancelRequested,
  markCanceled,
  reconcile,
  release,
  tenantUsage,
  tryGrant,
  type EnqueueResult,
  type GlobalLimits,
  type GrantResult,
  type LedgerDoc,
  type LedgerEntry,
  type TenantAdmissionLimits,
} from './ledger';

export interface AdmissionDeps {
  store: LedgerStore;
  global: GlobalLimits;
  /** A tenant's admission limits (undefined for a tenant no longer in the tenants file). */
  limitsOf(tenant: string): TenantAdmissionLimits | undefined;
  now(): Date;
}

/** A change's answer plus the jobs it granted a slot to (their orchestrations must be woken up). */
export interface Granting<R> {
  result: R;
  granted: string[];
}

export interface Admission {
  /** Puts the job in its tenant's queue, after every job of the same or a higher priority (owner = its request hash). */
  enqueue(tenant: string, entry: LedgerEntry): Promise<EnqueueResult>;
  /**
   * Admits every queued job that fits, then answers for this one. A job that is in neither the
   * queue nor the running set (its entry was lost: storage rolled back, a reconcile raced its
   * submit) is put back at the end of the queue from `requeue` instead of failing.
   */
  grant(tenant: string, instanceId: string, requeue?: LedgerEntry): Promise<Granting<GrantResult>>;
  /** Frees the job's entry if `owner` owns it, and hands the freed capacity to the next jobs in line. */
  release(tenant: string, instanceId: string, owner: string): Promise<Granting<boolean>>;
  /** Records a cancel on the job's entry (the one durable cancel record). */
  cancel(tenant: string, instanceId: string): Promise<boolean>;
  /** The same for many jobs of one tenant in one compare-and-swap; answers how many entries exist. */
  cancelAll(tenant: string, instanceIds: readonly string[]): Promise<number>;
  cancelRequested(tenant: string, instanceId: string): Promise<boolean>;
  /** Drops the entries of orchestrations that are no longer live. */
  reconcile(isLive: (instanceId: string) => boolean): Promise<Granting<string[]>>;
  usage(tenant: string): Promise<{ running: number; queued: number; runningCores: number }>;
  read(): Promise<LedgerDoc>;
}

export function createAdmission(deps: AdmissionDeps): Admission {
  /** Runs a pure ledger change under compare-and-swap; `changed` is decided by comparing the document. */
  const change = <R>(mutate: (doc: LedgerDoc) => R): Promise<R> =>
    deps.store.update((doc) => {
      const before = JSON.stringify(doc);
      const result = mutate(doc);
      return { changed: JSON.stringify(doc) !== before, result };
    });
  /** The same, also answering which jobs the change moved from a queue to running. */
  const granting = <R>(mutate: (doc: LedgerDoc) => R): Promise<Granting<R>> =>
    change((doc) => {
      const before = new Set(runningIds(doc));
      const result = mutate(doc);
      return { result, granted: runningIds(doc).filter((id) => !before.has(id)) };
    });
  const admitAll = (doc: LedgerDoc) => admit(doc, deps.global, deps.now(), deps.limitsOf);

  return {
    enqueue: (tenant, entry) =>
      change((doc) => {
        const limits = deps.limitsOf(tenant);
        if (!limits) return { result: 'queueFull', queued: 0 } as const;
        return enqueue(doc, tenant, limits, entry);
      }),
    grant: (tenant, instanceId, requeue) =>
      granting((doc) => {
        const limits = deps.limitsOf(tenant);
        if (!limits) return { result: 'notQueued' } as const;
        const attempt = () => tryGrant(doc, tenant, limits, deps.global, instanceId, deps.now(), deps.limitsOf);
        const first = attempt();
        if (first.result !== 'notQueued' || !requeue) return first;
        // Acknowledged work is never dropped: over maxQueuedJobs if need be, it was admitted to the queue once.
        enqueue(doc, tenant, { ...limits, maxQueuedJobs: Number.MAX_SAFE_INTEGER }, requeue);
        return attempt();
      }),
    release: (tenant, instanceId, owner) =>
      granting((doc) => {
        const released = release(doc, tenant, instanceId, owner, { now: deps.now(), global: deps.global });
        if (released) admitAll(doc);
        return released;
      }),
    cancel: (tenant, instanceId) => change((doc) => markCanceled(doc, tenant, instanceId)),
    cancelAll: (tenant, instanceIds) =>
      change((doc) => instanceIds.filter((id) => markCanceled(doc, tenant, id)).length),
    cancelRequested: async (tenant, instanceId) => isCancelRequested(await deps.store.read(), tenant, instanceId),
    reconcile: (isLive) =>
      granting((doc) => {
        const removed = reconcile(doc, isLive, { now: deps.now(), global: deps.global });
        admitAll(doc);
        return removed;
      }),
    usage: async (tenant) => tenantUsage(await deps.store.read(), tenant),
    read: () => deps.store.read(),
  };
}

const runningIds = (doc: LedgerDoc): string[] =>
  Object.values(doc.tenants).flatMap((t) => t.running.map((e) => e.instanceId));
