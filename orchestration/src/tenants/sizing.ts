// Sizing policy: a job's CPU/memory default from the tenant, stay within the tenant's limits
// and within what one ACI Linux container group can have. Every violation names its field and the
// bound it broke.
import type { FieldProblem } from '../errors';
import type { Tenant } from './types';

/** Per-group bounds of ACI (Linux, standard SKU). Steps are our conservative choice (0.1). */
export const ACI_BOUNDS = {
  minCpu: 0.1,
  maxCpu: 4,
  minMemoryGb: 0.1,
  maxMemoryGb: 16,
  step: 0.1,
} as const;

export interface SizingRequest {
  cpu?: number;
  memoryGb?: number;
  priority?: string;
}

export interface Sizing {
  cpu: number;
  memoryGb: number;
}

const onStep = (v: number): boolean => Math.abs(Math.round(v / ACI_BOUNDS.step) * ACI_BOUNDS.step - v) < 1e-9;

export function decideSizing(tenant: Tenant, req: SizingRequest): { sizing: Sizing; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const cpu = req.cpu ?? tenant.defaults.cpu;
  const memoryGb = req.memoryGb ?? tenant.defaults.memoryGb;
  if (cpu < ACI_BOUNDS.minCpu || cpu > ACI_BOUNDS.maxCpu)
    problems.push({
      field: 'cpu',
      message: `must be between ${ACI_BOUNDS.minCpu} and ${ACI_BOUNDS.maxCpu} (ACI per-group bound), got ${cpu}`,
    });
  else if (!onStep(cpu))
    problems.push({ field: 'cpu', message: `must be a multiple of ${ACI_BOUNDS.step}, got ${cpu}` });
  else if (cpu > tenant.limits.maxCpu)
    problems.push({ field: 'cpu', message: `${cpu} exceeds the tenant limit maxCpu ${tenant.limits.maxCpu}` });
  if (memoryGb < ACI_BOUNDS.minMemoryGb || memoryGb > ACI_BOUNDS.maxMemoryGb)
    problems.push({
      field: 'memoryGb',
      message: `must be between ${ACI_BOUNDS.minMemoryGb} and ${ACI_BOUNDS.maxMemoryGb} GB (ACI per-group bound), got ${memoryGb}`,
    });
  else if (!onStep(memoryGb))
    problems.push({ field: 'memoryGb', message: `must be a multiple of ${ACI_BOUNDS.step} GB, got ${memoryGb}` });
  else if (memoryGb > tenant.limits.maxMemoryGb)
    problems.push({
      field: 'memoryGb',
      message: `${memoryGb} exceeds the tenant limit maxMemoryGb ${tenant.limits.maxMemoryGb}`,
    });
  // Spot groups get no IP (ACI), so they run in pull mode: a grant per tenant, like command.
  if (req.priority === 'Spot' && !tenant.allowSpot) {
    problems.push({
      field: 'priority',
      message: `Spot is not enabled for tenant ${tenant.id}; use "Regular", or set "allowSpot": true on the tenant in the tenants file`,
    });
  }
  return { sizing: { cpu, memoryGb }, problems };
}
