// The operator API (/api/admin/*, the operator key only): every tenant's limits, load, usage and
// cost; every container group the controller owns, with orphans flagged; global capacity against
// the caps; usage across tenants. For the platform team that runs the controller — tenant keys get 403.
import { tenantUsage, type GlobalLimits } from '../admission/ledger';
import { TAGS, type JobStatus } from '../contracts';
import type { ContainerGroups, JobsBackend, LedgerStore } from '../ports';
import type { TenantDirectory } from '../tenants/types';
import { json, type ApiRequest, type ApiResponse } from './http';
import { statusOf } from './job-view';
import { authorizeOperator } from './operator-auth';
import { jobsInPeriod, parsePeriod, usageResponse, usageRows } from './usage';

/** The sweeper's verdict on one group (passed in: api/ does not import the sweeper). */
export type JudgeGroup = (
  tags: Record<string, string>,
  instance: { runtimeStatus: string; status: JobStatus | undefined } | undefined,
  now: Date,
) => { delete: boolean; reason: string };

export interface OperatorDeps {
  tenants: TenantDirectory;
  ledger: LedgerStore;
  groups: ContainerGroups;
  globalLimits: GlobalLimits;
  operatorKeyHash: Buffer | undefined;
  judgeGroup: JudgeGroup;
  now(): Date;
}

type Handler = (req: ApiRequest, jobs: JobsBackend) => Promise<ApiResponse>;

export function createOperatorApi(deps: OperatorDeps): Record<'tenants' | 'groups' | 'capacity' | 'usage', Handler> {
  const guard =
    (fn: Handler): Handler =>
    (req, jobs) => {
      authorizeOperator(req, deps.operatorKeyHash, deps.tenants);
      return fn(req, jobs);
    };

  return {
    tenants: guard(async (req, jobs) => {
      const period = parsePeriod(req, deps.now());
      const ledger = await deps.ledger.read();
      const tenants = await Promise.all(
        deps.tenants.tenants.map(async (t) => {
          const [usage] = usageRows(t, await jobsInPeriod(jobs, t.id, period), 'none');
          return {
            id: t.id,
            displayName: t.displayName,
            limits: t.limits,
            costRates: t.costRates,
            ...tenantUsage(ledger, t.id),
            usage,
          };
        }),
      );
      return json(200, { from: period.from.toISOString(), to: period.to.toISOString(), tenants });
    }),

    groups: guard(async (_req, jobs) => {
      const now = deps.now();
      const owned = (await deps.groups.list()).filter((g) => g.tags[TAGS.managedBy] === TAGS.managedByValue);
      const groups = await Promise.all(
        owned.map(async (g) => {
          const instanceId = g.tags[TAGS.instanceId];
          const info = instanceId ? await jobs.get(instanceId) : undefined;
          const status = info ? statusOf(info) : undefined;
          const verdict = deps.judgeGroup(g.tags, info && { runtimeStatus: info.runtimeStatus, status }, now);
          const createdAt = status?.createdAt ?? null;
          return {
            name: g.name,
            tenant: g.tags[TAGS.tenant] ?? null,
            jobId: g.tags[TAGS.jobId] ?? null,
            state: g.provisioningState,
            jobState: status?.state ?? null,
            createdAt,
            ageSeconds: createdAt ? Math.round((now.getTime() - Date.parse(createdAt)) / 1000) : null,
            expiresAt: g.tags[TAGS.expiresAt] ?? null,
            orphan: verdict.delete,
            reason: verdict.reason,
          };
        }),
      );
      return json(200, { groups: groups.sort((a, b) => (a.name < b.name ? -1 : 1)) });
    }),

    capacity: guard(async () => {
      const doc = await deps.ledger.read();
      const now = deps.now();
      const running = Object.values(doc.tenants).flatMap((t) => t.running);
      const horizon = now.getTime() - 5 * 60_000;
      return json(200, {
        groups: { used: running.length, max: deps.globalLimits.maxGroups },
        cores: { used: running.reduce((s, e) => s + e.cores, 0), max: deps.globalLimits.maxCores },
        createsLast5Min: {
          used: doc.recentGrants.filter((at) => Date.parse(at) > horizon).length,
          max: deps.globalLimits.maxCreatesPer5Min,
        },
        queued: Object.values(doc.tenants).reduce((s, t) => s + t.queue.length, 0),
        asOf: now.toISOString(),
      });
    }),

    usage: guard(async (req, jobs) => {
      const period = parsePeriod(req, deps.now());
      const rows = [];
      for (const t of deps.tenants.tenants)
        rows.push(...usageRows(t, await jobsInPeriod(jobs, t.id, period), period.groupBy));
      return usageResponse(req, period, rows);
    }),
  };
}
