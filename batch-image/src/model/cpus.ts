// How many CPUs this process really has. A container's cgroup quota (ACI, and the local emulator,
// which puts each container group in a cgroup v1 cpu controller with quota = requested CPUs) is
// usually far below the host's core count that os.availableParallelism() reports, and running more
// worker threads than the quota only adds throttling.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { posix } from 'node:path';

export interface CpuLimit {
  /** CPUs granted by the quota (may be fractional), or null when there is no quota. */
  quotaCpus: number | null;
  /** Where the quota was read from, for diagnostics. */
  source: string | null;
}

/** Reads a file, or undefined when it does not exist or cannot be read. */
export type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** The cgroup path of each controller, from the text of /proc/self/cgroup. */
export function parseProcCgroup(text: string): { v1: Map<string, string>; v2: string | null } {
  const v1 = new Map<string, string>();
  let v2: string | null = null;
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const controllers = m[2]!;
    const path = m[3]!;
    if (m[1] === '0' && controllers === '') v2 = path;
    else for (const c of controllers.split(',')) if (c) v1.set(c, path);
  }
  return { v1, v2 };
}

/** Walks from the process's cgroup up to the root and returns the tightest quota found. */
function tightest(dirs: string[], readOne: (dir: string) => number | null): { cpus: number; dir: string } | null {
  let best: { cpus: number; dir: string } | null = null;
  for (const dir of dirs) {
    const cpus = readOne(dir);
    if (cpus !== null && (best === null || cpus < best.cpus)) best = { cpus, dir };
  }
  return best;
}

function ancestors(root: string, cgroupPath: string): string[] {
  const out: string[] = [];
  let p = posix.normalize('/' + cgroupPath);
  for (;;) {
    out.push(posix.join(root, p));
    if (p === '/') break;
    p = posix.dirname(p);
  }
  return out;
}

/**
 * The CPU quota of this process's cgroup (v1 cpu.cfs_quota_us / cpu.cfs_period_us, or v2 cpu.max),
 * looking at the cgroup and its ancestors. `fsRoot` and `read` exist for tests.
 */
export function detectCpuLimit(fsRoot = '/', read: ReadText = readText): CpuLimit {
  const procText = read(posix.join(fsRoot, 'proc/self/cgroup'));
  if (procText === undefined) return { quotaCpus: null, source: null };
  const { v1, v2 } = parseProcCgroup(procText);
  const cpuPath = v1.get('cpu');
  if (cpuPath !== undefined) {
    const roots = ['sys/fs/cgroup/cpu', 'sys/fs/cgroup/cpu,cpuacct', 'sys/fs/cgroup/cpuacct,cpu'].map((r) =>
      posix.join(fsRoot, r),
    );
    for (const root of roots) {
      const found = tightest(ancestors(root, cpuPath), (dir) => {
        const quota = Number((read(posix.join(dir, 'cpu.cfs_quota_us')) ?? '').trim());
        const period = Number((read(posix.join(dir, 'cpu.cfs_period_us')) ?? '').trim());
        return Number.isFinite(quota) && Number.isFinite(period) && quota > 0 && period > 0 ? quota / period : null;
      });
      if (found) return { quotaCpus: found.cpus, source: posix.join(found.dir, 'cpu.cfs_quota_us') };
    }
  }
  if (v2 !== null) {
    const found = tightest(ancestors(posix.join(fsRoot, 'sys/fs/cgroup'), v2), (dir) => {
      const text = read(posix.join(dir, 'cpu.max'));
      if (text === undefined) return null;
      const [q, per] = text.trim().split(/\s+/);
      const quota = Number(q);
      const period = Number(per ?? '100000');
      return q !== 'max' && Number.isFinite(quota) && quota > 0 && period > 0 ? quota / period : null;
    });
    if (found) return { quotaCpus: found.cpus, source: posix.join(found.dir, 'cpu.max') };
  }
  return { quotaCpus: null, source: null };
}

/** Worker threads to run: the quota rounded up (0.5 CPU → 1), never more than the visible CPUs. */
export function workerCountFor(limit: CpuLimit, visibleCpus: number): number {
  const visible = Math.max(1, Math.floor(visibleCpus));
  if (limit.quotaCpus === null) return visible;
  return Math.max(1, Math.min(visible, Math.ceil(limit.quotaCpus - 1e-9)));
}

export function availableCpus(): number {
  return workerCountFor(detectCpuLimit(), availableParallelism());
}
