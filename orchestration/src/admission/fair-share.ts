// Weighted fair share's bookkeeping (issue 13): each tenant's recent usage in vCPU-seconds, decaying
// exponentially with a half-life, kept as one number and its time per tenant in the ledger document
// (bounded: a record that decayed to nothing is dropped). admit() compares usage ÷ weight.
import type { GlobalLimits, LedgerDoc, LedgerEntry } from './ledger';

export const DEFAULT_HALF_LIFE_MINUTES = 60;
/** Decayed usage below this (vCPU-seconds) is dropped, so departed tenants leave the document. */
const NEGLIGIBLE_USAGE = 1e-3;

const halfLifeSecondsOf = (global: Pick<GlobalLimits, 'fairShareHalfLifeMinutes'>): number =>
  (global.fairShareHalfLifeMinutes ?? DEFAULT_HALF_LIFE_MINUTES) * 60;

/** `v` vCPU-seconds recorded at `from`, decayed to `to` (exponential, half-life `h` seconds). */
const decayed = (v: number, from: number, to: number, h: number): number =>
  v * 2 ** (-Math.max(0, to - from) / 1000 / h);

/**
 * What `cores` running from `grantedAt` to `now` add to the decayed usage: the integral of
 * cores × 2^(-(now - s)/h) over the run, so a long job's early seconds count less, exactly as they
 * would had they been recorded one by one.
 */
const runCharge = (cores: number, grantedAt: number, now: number, h: number): number =>
  ((cores * h) / Math.LN2) * (1 - 2 ** (-Math.max(0, now - grantedAt) / 1000 / h));

/** A tenant's recent usage now: the recorded, decayed number plus its running jobs so far. */
export function usageNow(
  doc: LedgerDoc,
  tenant: string,
  now: Date,
  global: Pick<GlobalLimits, 'fairShareHalfLifeMinutes'>,
): number {
  const h = halfLifeSecondsOf(global);
  const t = now.getTime();
  const rec = doc.usage?.[tenant];
  const recorded = rec ? decayed(rec.vcpuSeconds, Date.parse(rec.at), t, h) : 0;
  const running = (doc.tenants[tenant]?.running ?? []).reduce(
    (sum, e) => sum + (e.grantedAt ? runCharge(e.cores, Date.parse(e.grantedAt), t, h) : 0),
    0,
  );
  return recorded + running;
}

/** Folds a finished run into the tenant's recorded usage (at release or reconcile). */
export function recordRun(
  doc: LedgerDoc,
  tenant: string,
  e: LedgerEntry,
  now: Date,
  global: Pick<GlobalLimits, 'fairShareHalfLifeMinutes'>,
): void {
  if (!e.grantedAt) return;
  const h = halfLifeSecondsOf(global);
  const t = now.getTime();
  const rec = doc.usage?.[tenant];
  const vcpuSeconds =
    (rec ? decayed(rec.vcpuSeconds, Date.parse(rec.at), t, h) : 0) + runCharge(e.cores, Date.parse(e.grantedAt), t, h);
  (doc.usage ??= {})[tenant] = { vcpuSeconds, at: now.toISOString() };
}

/** Drops usage records that decayed to nothing (bounded document; tenants removed from the file leave). */
export function pruneUsage(doc: LedgerDoc, now: Date, global: Pick<GlobalLimits, 'fairShareHalfLifeMinutes'>): void {
  if (!doc.usage) return;
  const h = halfLifeSecondsOf(global);
  for (const [tenant, rec] of Object.entries(doc.usage))
    if (decayed(rec.vcpuSeconds, Date.parse(rec.at), now.getTime(), h) < NEGLIGIBLE_USAGE) delete doc.usage[tenant];
  if (Object.keys(doc.usage).length === 0) delete doc.usage;
}
