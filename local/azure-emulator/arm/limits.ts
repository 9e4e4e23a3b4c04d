// ACI's limits on a write: the per-subscription create/delete rate, the regional quota, injected
// capacity shortages, and the resource groups that exist (--resource-groups).
import { HttpError } from '../http-util';
import type { GroupRecord } from '../container-groups';
import type { FaultState } from '../faults';
import type { ArmDeps } from './context';

const RATE_WINDOW_MS = 5 * 60 * 1000;

/** Throws 429 beyond the limit; else returns the function that counts the request once it succeeded. */
export type RateCheck = (kind: 'creates' | 'deletes', sub: string, hdrs: Record<string, string>) => () => void;

export function createRateLimiter(faults: FaultState): RateCheck {
  // Sliding 5-minute windows of creates and deletes per subscription (ACI's own rate limits).
  const rateWindows = new Map<string, number[]>();
  return function rateCheck(kind, sub, hdrs) {
    const limit = (kind === 'creates' ? faults.current.createsPer5Min : faults.current.deletesPer5Min) ?? 0;
    const key = `${kind}/${sub.toLowerCase()}`;
    const now = Date.now();
    const times = (rateWindows.get(key) ?? []).filter((t) => t > now - RATE_WINDOW_MS);
    rateWindows.set(key, times);
    if (limit > 0 && times.length >= limit) {
      const retryAfter = Math.max(1, Math.ceil(((times[0] as number) + RATE_WINDOW_MS - now) / 1000));
      throw new HttpError(
        429,
        'TooManyRequests',
        `The number of container group ${kind} in the last 5 minutes for subscription '${sub}' exceeded the limit of '${limit}'. Please try again after '${retryAfter}' seconds.`,
        { 'Retry-After': String(retryAfter) },
      );
    }
    // The header ACI sends on creates and deletes (azure-sdk-for-js arm-containerinstance recordings,
    // recording_containergroups_create_test.json / _delete_test.json: "…-resource-requests-pt5m": "99").
    if (limit > 0)
      hdrs['x-ms-ratelimit-remaining-subscription-resource-requests-pt5m'] = String(limit - times.length - 1);
    return () => times.push(Date.now());
  };
}

export function checkResourceGroup(deps: ArmDeps, rg: string): void {
  if (deps.resourceGroups && !deps.resourceGroups.some((x) => x.toLowerCase() === rg.toLowerCase())) {
    throw new HttpError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
  }
}

export function checkQuota(
  deps: ArmDeps,
  sub: string,
  name: string,
  cpu: number,
  memory: number,
  existing?: GroupRecord,
): void {
  const { groups, faults } = deps;
  const u = groups.usage(sub);
  const loc = deps.location;
  // Quota is 400 ContainerGroupQuotaReached with this message (recorded response quoted in
  // MicrosoftDocs/SupportArticles-docs, azure-container-instances "ContainerGroupQuotaReached");
  // 409 ServiceUnavailable is capacity, below.
  if (!existing && u.groups + 1 > deps.maxGroups) {
    throw new HttpError(
      400,
      'ContainerGroupQuotaReached',
      `Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'ContainerGroups' exceeded in region '${loc}'. Limit: '${deps.maxGroups}', Usage: '${u.groups}' Requested: '1'.`,
    );
  }
  const current =
    existing && (existing.state === 'Pending' || existing.state === 'Running') ? existing.spec.totalCpu : 0;
  if (u.cores - current + cpu > deps.maxCores) {
    throw new HttpError(
      400,
      'ContainerGroupQuotaReached',
      `Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'StandardCores' exceeded in region '${loc}'. Limit: '${deps.maxCores}', Usage: '${u.cores}' Requested: '${cpu}'.`,
    );
  }
  if (faults.take('capacity')) {
    throw new HttpError(
      409,
      'ServiceUnavailable',
      `The requested resource is not available in the location '${loc}' at this moment. Please retry with a different resource request or in another location. Resource requested: '${cpu}' CPU '${memory}' GB memory 'Linux' OS. Container group: '${name}'.`,
    );
  }
}
