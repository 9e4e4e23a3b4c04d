// Loads and validates the tenants file once at startup: JSON Schema first, then the rules a schema
// cannot express (unique ids and keys, defaults within limits, default image allowed). Every problem
// is reported at once, each naming its field.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020';
import { TENANTS_SCHEMA } from './schema';
import { ajvProblems } from './ajv-problems';
import { parseImageReference } from './image-ref';
import type { Tenant, TenantDirectory } from './types';
import type { FieldProblem } from '../errors';

export class TenantsFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: FieldProblem[],
  ) {
    super(`Invalid tenants file ${file}:\n` + problems.map((p) => `  - ${p.field}: ${p.message}`).join('\n'));
    this.name = 'TenantsFileError';
  }
}

const ajv = new Ajv2020({ allErrors: true, strict: false });
const validate = ajv.compile(TENANTS_SCHEMA);

interface RawTenant {
  id: string;
  displayName: string;
  apiKeys: { id: string; sha256: string }[];
  allowedRepositories: string[];
  location?: string;
  limits: {
    maxCpu: number;
    maxMemoryGb: number;
    maxConcurrentJobs: number;
    maxQueuedJobs: number;
    maxRuntimeMinutes: number;
    weight?: number;
  };
  defaults: {
    image: string;
    cpu: number;
    memoryGb: number;
    onComplete?: Tenant['defaults']['onComplete'];
    onFailure?: Tenant['defaults']['onFailure'];
    maxAttempts?: number;
    timeoutMinutes?: number;
  };
  costRates: Tenant['costRates'];
  network?: { subnetId?: string; mode?: 'push' | 'pull' };
  allowSpot?: boolean;
  webhooks?: { allowPrivateTargets?: boolean };
  allowCommand?: boolean;
  jobIdentityResourceId?: string;
}

/** Validates parsed JSON; throws TenantsFileError listing every problem. */
export function parseTenants(raw: unknown, file = '<tenants>'): TenantDirectory {
  const warnings = dropRetiredFields(raw);
  if (!validate(raw)) throw new TenantsFileError(file, ajvProblems(validate.errors));
  const doc = raw as unknown as { tenants: RawTenant[] };
  const problems: FieldProblem[] = [];
  const ids = new Map<string, number>();
  const hashes = new Map<string, string>();
  const tenants: Tenant[] = doc.tenants.map((t, i) => {
    const at = `tenants[${i}]`;
    if (ids.has(t.id))
      problems.push({ field: `${at}.id`, message: `duplicates tenants[${ids.get(t.id)}].id "${t.id}"` });
    ids.set(t.id, i);
    t.apiKeys.forEach((k, j) => {
      const other = hashes.get(k.sha256);
      if (other) problems.push({ field: `${at}.apiKeys[${j}].sha256`, message: `is already used by ${other}` });
      hashes.set(k.sha256, `${at}.apiKeys[${j}]`);
    });
    const l = t.limits;
    const d = t.defaults;
    if (d.cpu > l.maxCpu)
      problems.push({ field: `${at}.defaults.cpu`, message: `${d.cpu} exceeds limits.maxCpu ${l.maxCpu}` });
    if (d.memoryGb > l.maxMemoryGb)
      problems.push({
        field: `${at}.defaults.memoryGb`,
        message: `${d.memoryGb} exceeds limits.maxMemoryGb ${l.maxMemoryGb}`,
      });
    const timeout = d.timeoutMinutes ?? Math.min(60, l.maxRuntimeMinutes);
    if (timeout > l.maxRuntimeMinutes)
      problems.push({
        field: `${at}.defaults.timeoutMinutes`,
        message: `${timeout} exceeds limits.maxRuntimeMinutes ${l.maxRuntimeMinutes}`,
      });
    const image = parseImageReference(d.image, undefined);
    if (!image.ok) problems.push({ field: `${at}.defaults.image`, message: image.message });
    else if (!t.allowedRepositories.includes(image.value.repository)) {
      problems.push({
        field: `${at}.defaults.image`,
        message: `repository "${image.value.repository}" is not in allowedRepositories`,
      });
    }
    return {
      id: t.id,
      displayName: t.displayName,
      apiKeys: t.apiKeys.map((k) => ({ id: k.id, sha256: k.sha256 })),
      allowedRepositories: [...t.allowedRepositories],
      location: t.location,
      limits: { ...l },
      defaults: {
        image: d.image,
        cpu: d.cpu,
        memoryGb: d.memoryGb,
        onComplete: d.onComplete ?? 'delete',
        onFailure: d.onFailure ?? 'delete',
        maxAttempts: d.maxAttempts ?? 1,
        timeoutMinutes: timeout,
      },
      costRates: t.costRates,
      subnetId: t.network?.subnetId,
      networkMode: t.network?.mode ?? 'push',
      allowSpot: t.allowSpot ?? false,
      allowPrivateWebhookTargets: t.webhooks?.allowPrivateTargets ?? false,
      allowCommand: t.allowCommand ?? false,
      jobIdentityResourceId: t.jobIdentityResourceId,
    };
  });
  if (problems.length) throw new TenantsFileError(file, problems);
  const byId = new Map(tenants.map((t) => [t.id, t]));
  return { tenants, get: (id) => byId.get(id), warnings };
}

export function loadTenantsFile(path: string): TenantDirectory {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TenantsFileError(path, [{ field: '(file)', message: `cannot be read: ${(e as Error).message}` }]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TenantsFileError(path, [{ field: '(file)', message: `is not valid JSON: ${(e as Error).message}` }]);
  }
  return parseTenants(raw, path);
}

/**
 * Fields an older tenants file may still carry for a service that no longer exists: removed with a
 * warning (the app logs it at startup) instead of refusing the file. `limits.maxGpu`: ACI's GPU
 * offering was retired on 2025-07-14 (azure-compute-docs, container-instances resource and quota limits).
 */
function dropRetiredFields(raw: unknown): string[] {
  const warnings: string[] = [];
  const tenants = (raw as { tenants?: unknown } | null)?.tenants;
  if (!Array.isArray(tenants)) return warnings;
  tenants.forEach((t: { limits?: Record<string, unknown> } | null, i) => {
    if (t?.limits && typeof t.limits === 'object' && 'maxGpu' in t.limits) {
      delete t.limits.maxGpu;
      warnings.push(`tenants[${i}].limits.maxGpu is ignored: ACI's GPU offering was retired on 2025-07-14; remove it`);
    }
  });
  return warnings;
}
