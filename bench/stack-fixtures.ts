// What the stack benchmarks share: a benchmark tenant (limits generous, 1 vCPU / 0.5 GB jobs, the
// model as default image) and a process's resident memory read from /proc.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A tenant of a bench's tenants file; `repositories` are allowed besides the model's. */
export function benchTenant(
  id: string,
  key: string,
  maxConcurrentJobs: number,
  repositories: string[],
): Record<string, unknown> {
  return {
    id,
    displayName: `Benchmark tenant ${id}`,
    apiKeys: [{ id, sha256: createHash('sha256').update(key).digest('hex') }],
    // The default image stays the model: the app checks `input` for the tenant's default repository.
    allowedRepositories: ['batch/regime-switching', ...repositories],
    limits: { maxCpu: 1, maxMemoryGb: 1, maxConcurrentJobs, maxQueuedJobs: 5000, maxRuntimeMinutes: 60 },
    defaults: {
      image: 'batch/regime-switching:1.0',
      cpu: 1,
      memoryGb: 0.5,
      onComplete: 'delete',
      onFailure: 'delete',
      maxAttempts: 1,
      timeoutMinutes: 30,
    },
    costRates: { currency: 'EUR', vcpuHour: 0.0405, gbHour: 0.0045 },
  };
}

/** A process's resident memory (VmRSS) or its peak (VmHWM) in KiB; 0 once it is gone. */
export function rssKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
