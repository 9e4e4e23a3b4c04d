// Fault injection, settable by CLI flags at start and through POST /_emulator/faults at run time.
// Count-based faults are consumed one per matching request, so a test can say "the next two
// requests are throttled" and know exactly what the SDK saw.

export interface CountFault {
  count: number;
  /** HTTP methods it applies to (default: all for throttle/5xx; capacity applies to creates only) */
  methods?: string[];
}

export interface Faults {
  provisioningDelayMs: number;
  deleteDelayMs: number;
  /** extra latency added to every ARM response */
  latencyMs: number;
  /** ACI's per-subscription rate limits on creates and deletes in any 5 minutes (0 = unlimited) */
  createsPer5Min?: number;
  deletesPer5Min?: number;
  throttle?: CountFault & { retryAfterSeconds?: number; omitRetryAfter?: boolean };
  transient5xx?: CountFault & { status?: number };
  capacity?: CountFault;
  failProvisioning?: CountFault & { code?: string; message?: string };
}

export const DEFAULT_FAULTS: Faults = { provisioningDelayMs: 3000, deleteDelayMs: 0, latencyMs: 0 };

export class FaultState {
  current: Faults;

  constructor(private readonly initial: Faults) {
    this.current = structuredClone(initial);
  }

  reset(): void {
    this.current = structuredClone(this.initial);
  }

  /** Merge a partial update; `null` clears a count fault. */
  apply(update: Record<string, unknown>): Faults {
    const errors: string[] = [];
    const next = structuredClone(this.current) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(update)) {
      if (
        k === 'provisioningDelayMs' ||
        k === 'deleteDelayMs' ||
        k === 'latencyMs' ||
        k === 'createsPer5Min' ||
        k === 'deletesPer5Min'
      ) {
        if (typeof v !== 'number' || v < 0 || !Number.isFinite(v)) errors.push(`${k} must be a non-negative number`);
        else next[k] = v;
      } else if (k === 'throttle' || k === 'transient5xx' || k === 'capacity' || k === 'failProvisioning') {
        if (v === null) delete next[k];
        else if (
          !v ||
          typeof v !== 'object' ||
          typeof (v as CountFault).count !== 'number' ||
          (v as CountFault).count < 0
        )
          errors.push(`${k} must be {"count": n, ...} or null`);
        else next[k] = { ...(v as object) };
      } else {
        errors.push(`unknown fault '${k}'`);
      }
    }
    if (errors.length) throw new Error(errors.join('; '));
    this.current = next as unknown as Faults;
    return this.current;
  }

  /** Consume one unit of a count fault if it applies to this method. */
  take<K extends 'throttle' | 'transient5xx' | 'capacity' | 'failProvisioning'>(
    kind: K,
    method?: string,
  ): Faults[K] | undefined {
    const f = this.current[kind];
    if (!f || f.count <= 0) return undefined;
    if (method && f.methods && !f.methods.map((m) => m.toUpperCase()).includes(method.toUpperCase())) return undefined;
    f.count -= 1;
    return { ...f } as Faults[K];
  }
}
