// GET /api/tenants/{tenant}: the tenant's limits and defaults, what runs and waits now (from the
// admission ledger), and its jobs' totals by state with usage and cost.
import type { JobState } from '../contracts';
import { authorizeTenant, json, type ApiRequest, type ApiResponse } from './http';
import type { JobsApiDeps } from './jobs-deps';
import { statusOf } from './job-view';
import { instancePrefixOf } from '../contracts';
import type { JobsBackend } from '../ports';

export function createTenantSummary(deps: JobsApiDeps): (req: ApiRequest, jobs: JobsBackend) => Promise<ApiResponse> {
  return async function tenant(req, jobs) {
    const tenant = authorizeTenant(req, deps.tenants);
    const usage = await deps.admission.usage(tenant.id);
    const infos = await jobs.list(instancePrefixOf(tenant.id));
    const totals = {
      jobs: 0,
      vcpuSeconds: 0,
      gbSeconds: 0,
      estimatedCost: 0,
      currency: tenant.costRates.currency,
      byState: {} as Partial<Record<JobState, number>>,
    };
    for (const info of infos) {
      const s = statusOf(info);
      if (!s || s.tenant !== tenant.id) continue;
      totals.jobs++;
      totals.byState[s.state] = (totals.byState[s.state] ?? 0) + 1;
      if (s.array) continue; // an array's parent: its usage is its tasks', counted with them
      totals.vcpuSeconds += s.usage.vcpuSeconds;
      totals.gbSeconds += s.usage.gbSeconds;
      totals.estimatedCost += s.usage.estimatedCost;
    }
    totals.estimatedCost = Math.round(totals.estimatedCost * 1e6) / 1e6;
    return json(200, {
      id: tenant.id,
      displayName: tenant.displayName,
      location: tenant.location ?? deps.defaultLocation,
      limits: tenant.limits,
      defaults: tenant.defaults,
      allowedRepositories: tenant.allowedRepositories,
      costRates: tenant.costRates,
      running: usage.running,
      queued: usage.queued,
      runningCores: usage.runningCores,
      usage: totals,
    });
  };
}
