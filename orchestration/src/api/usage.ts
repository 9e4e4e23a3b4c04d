// Usage reports: vCPU-seconds, GB-seconds and estimated cost of the jobs created in a period, per
// tenant and (groupBy=day) per UTC day — for a tenant (GET /api/tenants/{t}/usage) and for the
// operator across tenants (GET /api/admin/usage). JSON, or CSV with `Accept: text/csv`.
import { instancePrefixOf, type JobStatus } from '../contracts';
import { validationFailed, type FieldProblem } from '../errors';
import type { JobsBackend } from '../ports';
import type { Tenant, TenantDirectory } from '../tenants/types';
import { authorizeTenant, json, type ApiRequest, type ApiResponse } from './http';
import { statusOf } from './job-view';

export interface UsagePeriod {
  from: Date;
  to: Date;
  groupBy: 'day' | 'none';
}

export interface UsageRow {
  tenant: string;
  day: string | null;
  jobs: number;
  vcpuSeconds: number;
  gbSeconds: number;
  estimatedCost: number;
  currency: string;
}

const DAY_MS = 86_400_000;
/** Default period: the last 30 days. */
export const DEFAULT_USAGE_DAYS = 30;

/** `?from&to&groupBy` (ISO 8601 date or date-time; to is exclusive); every bad field at once. */
export function parsePeriod(req: ApiRequest, now: Date): UsagePeriod {
  const problems: FieldProblem[] = [];
  const date = (name: string, fallback: Date): Date => {
    const v = req.query.get(name);
    if (v === null) return fallback;
    const d = new Date(v);
    if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(d.getTime())) {
      problems.push({ field: name, message: 'must be an ISO 8601 date or date-time, e.g. 2026-11-01' });
      return fallback;
    }
    return d;
  };
  const to = date('to', now);
  const from = date('from', new Date(to.getTime() - DEFAULT_USAGE_DAYS * DAY_MS));
  if (from.getTime() >= to.getTime()) problems.push({ field: 'from', message: 'must be before to' });
  const groupBy = req.query.get('groupBy') ?? 'none';
  if (groupBy !== 'day' && groupBy !== 'none') problems.push({ field: 'groupBy', message: 'must be day or none' });
  if (problems.length) throw validationFailed(problems);
  return { from, to, groupBy: groupBy as 'day' | 'none' };
}

/** The statuses of a tenant's jobs created in the period (by the job's own createdAt), without array parents. */
export async function jobsInPeriod(jobs: JobsBackend, tenant: string, period: UsagePeriod): Promise<JobStatus[]> {
  const infos = await jobs.list(instancePrefixOf(tenant), period.from);
  const out: JobStatus[] = [];
  for (const info of infos) {
    const s = statusOf(info);
    // An array's parent runs no group: its usage is its tasks', which are counted themselves.
    if (!s || s.tenant !== tenant || s.array) continue;
    const t = Date.parse(s.createdAt);
    if (t >= period.from.getTime() && t < period.to.getTime()) out.push(s);
  }
  return out;
}

const round = (n: number) => Math.round(n * 1e6) / 1e6;

/** Rows for one tenant: one, or one per UTC day with jobs, oldest first. */
export function usageRows(tenant: Tenant, statuses: JobStatus[], groupBy: 'day' | 'none'): UsageRow[] {
  const rows = new Map<string, UsageRow>();
  const row = (day: string | null): UsageRow => {
    const key = day ?? '';
    let r = rows.get(key);
    if (!r) {
      r = {
        tenant: tenant.id,
        day,
        jobs: 0,
        vcpuSeconds: 0,
        gbSeconds: 0,
        estimatedCost: 0,
        currency: tenant.costRates.currency,
      };
      rows.set(key, r);
    }
    return r;
  };
  if (groupBy === 'none') row(null);
  for (const s of statuses) {
    const r = row(groupBy === 'day' ? s.createdAt.slice(0, 10) : null);
    r.jobs++;
    r.vcpuSeconds += s.usage.vcpuSeconds;
    r.gbSeconds += s.usage.gbSeconds;
    r.estimatedCost += s.usage.estimatedCost;
  }
  return [...rows.values()]
    .map((r) => ({
      ...r,
      vcpuSeconds: round(r.vcpuSeconds),
      gbSeconds: round(r.gbSeconds),
      estimatedCost: round(r.estimatedCost),
    }))
    .sort((a, b) => ((a.day ?? '') < (b.day ?? '') ? -1 : 1));
}

const CSV_COLUMNS = ['tenant', 'day', 'jobs', 'vcpuSeconds', 'gbSeconds', 'estimatedCost', 'currency'] as const;

/** RFC 4180 CSV (CRLF lines, fields quoted when they hold a comma, quote or line break). */
export function usageCsv(rows: UsageRow[]): string {
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return (
    [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n'
  );
}

/** JSON, or CSV when the client asks for text/csv. */
export function usageResponse(req: ApiRequest, period: UsagePeriod, rows: UsageRow[]): ApiResponse {
  if (/\btext\/csv\b/i.test(req.headers.get('accept') ?? ''))
    return {
      status: 200,
      headers: {
        'Content-Type': 'text/csv; charset=utf-8',
        'Cache-Control': 'no-store',
        'Content-Disposition': 'attachment; filename="aci-batch-usage.csv"',
      },
      body: usageCsv(rows),
    };
  return json(200, { from: period.from.toISOString(), to: period.to.toISOString(), groupBy: period.groupBy, rows });
}

/** GET /api/tenants/{tenant}/usage. */
export function createTenantUsage(deps: {
  tenants: TenantDirectory;
  now(): Date;
}): (req: ApiRequest, jobs: JobsBackend) => Promise<ApiResponse> {
  return async (req, jobs) => {
    const tenant = authorizeTenant(req, deps.tenants);
    const period = parsePeriod(req, deps.now());
    return usageResponse(req, period, usageRows(tenant, await jobsInPeriod(jobs, tenant.id, period), period.groupBy));
  };
}
