// The validated tenants file, as the rest of the app sees it.
import type { CostRates, OnComplete, OnFailure } from '../contracts';

export interface TenantLimits {
  maxCpu: number;
  maxMemoryGb: number;
  maxConcurrentJobs: number;
  maxQueuedJobs: number;
  maxRuntimeMinutes: number;
  /** Fair-share weight across tenants (absent: 1). */
  weight?: number;
}

export interface TenantDefaults {
  image: string;
  cpu: number;
  memoryGb: number;
  onComplete: OnComplete;
  onFailure: OnFailure;
  maxAttempts: number;
  timeoutMinutes: number;
}

export interface Tenant {
  id: string;
  displayName: string;
  apiKeys: { id: string; sha256: string }[];
  allowedRepositories: string[];
  location: string | undefined;
  limits: TenantLimits;
  defaults: TenantDefaults;
  costRates: CostRates;
  subnetId: string | undefined;
  /** network.mode: pull = no IP and no inbound port; the agent pulls its start (default push). */
  networkMode: 'push' | 'pull';
  /** May the tenant's jobs use priority Spot (default false). */
  allowSpot: boolean;
  allowPrivateWebhookTargets: boolean;
  /** May the tenant's jobs set `command` (default false). */
  allowCommand: boolean;
  /** The tenant's own job identity (may pull only its repositories); default JOB_IDENTITY_RESOURCE_ID. */
  jobIdentityResourceId: string | undefined;
}

export interface TenantDirectory {
  readonly tenants: readonly Tenant[];
  get(id: string): Tenant | undefined;
  /** What the loader accepted but ignored (retired fields), for the startup log. */
  readonly warnings?: readonly string[];
}
