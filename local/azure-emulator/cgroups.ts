// cgroup v1 limits for container processes: cpu (CFS quota = requested cores), memory
// (limit = memoryInGB, swap included), cpuacct for observation. When the hierarchy is not
// writable the emulator runs without limits and says so once.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from './log';

const DEFAULT_ROOT = process.env.ACI_EMULATOR_CGROUP_ROOT ?? '/sys/fs/cgroup';
const CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids'] as const;
export const CFS_PERIOD_US = 100_000;

export interface CgroupPaths {
  /** controller → absolute directory */
  dirs: Record<string, string>;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export class Cgroups {
  readonly available: boolean;
  private readonly base: string;

  constructor(
    /** a name unique to this emulator's data folder, so parallel emulators never share cgroups */
    instance: string,
    private readonly log: Logger,
    disabled = false,
    /** the cgroup v1 mount point (tests point it elsewhere to exercise the fallback) */
    private readonly root: string = DEFAULT_ROOT,
  ) {
    this.base = join('aci-emulator', instance);
    if (disabled)
      log.warn(
        'cgroups disabled (--no-cgroups): container groups run WITHOUT cpu/memory limits and out-of-memory kills are not emulated',
      );
    this.available = !disabled && this.probe();
  }

  private probe(): boolean {
    try {
      for (const c of CONTROLLERS.slice(0, 3)) {
        const dir = join(this.root, c, this.base);
        mkdirSync(dir, { recursive: true });
        if (!existsSync(join(dir, 'cgroup.procs'))) throw new Error(`${dir} is not a cgroup v1 directory`);
      }
      writeFileSync(join(this.root, 'memory', this.base, 'memory.use_hierarchy'), '1');
      return true;
    } catch (err) {
      try {
        // use_hierarchy may already be fixed by the parent; that is fine if the dirs exist.
        if (CONTROLLERS.slice(0, 3).every((c) => existsSync(join(this.root, c, this.base, 'cgroup.procs'))))
          return true;
      } catch {
        // fall through to the warning
      }
      this.log.warn(
        { err: String(err), root: this.root },
        'cgroups v1 are not writable here: container groups run WITHOUT cpu/memory limits and out-of-memory kills are not emulated',
      );
      return false;
    }
  }

  /** Create (or recreate) the cgroup of one container and return the files to join it. */
  create(groupKey: string, container: string, cpu: number, memoryBytes: number): CgroupPaths | undefined {
    if (!this.available) return undefined;
    const dirs: Record<string, string> = {};
    for (const c of CONTROLLERS) {
      const dir = join(this.root, c, this.base, groupKey, container);
      if (!existsSync(join(this.root, c))) continue;
      mkdirSync(dir, { recursive: true });
      dirs[c] = dir;
    }
    if (dirs.cpu) {
      writeFileSync(join(dirs.cpu, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
      writeFileSync(join(dirs.cpu, 'cpu.cfs_quota_us'), String(Math.max(1000, Math.round(cpu * CFS_PERIOD_US))));
    }
    if (dirs.memory) {
      const mem = join(dirs.memory, 'memory.limit_in_bytes');
      const memsw = join(dirs.memory, 'memory.memsw.limit_in_bytes');
      // memsw must stay >= limit: raise memsw first when growing, lower limit first when shrinking.
      try {
        writeFileSync(memsw, '-1');
      } catch {
        // no swap accounting
      }
      writeFileSync(mem, String(memoryBytes));
      try {
        writeFileSync(memsw, String(memoryBytes));
      } catch {
        // no swap accounting: the limit alone applies
      }
    }
    return { dirs };
  }

  procsFiles(p: CgroupPaths): string[] {
    return Object.values(p.dirs).map((d) => join(d, 'cgroup.procs'));
  }

  pids(p: CgroupPaths): number[] {
    const dir = p.dirs.cpu ?? Object.values(p.dirs)[0];
    if (!dir) return [];
    return (read(join(dir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
  }

  /**
   * How many processes the kernel's OOM killer has killed in this cgroup: the `oom_kill` counter of
   * memory.oom_control (cgroup v1, Linux >= 4.13) or memory.events (v2). This, not an exit code of 137
   * (any SIGKILL) and not memory.failcnt (every time usage touched the limit, even when reclaim
   * sufficed), is what tells an OOM kill — OpenShift's "application memory sizing" documents the same
   * counter for containers. 0 where the kernel does not say (then no OOM kill is reported).
   */
  oomKills(p: CgroupPaths): number {
    const dir = p.dirs.memory;
    if (!dir) return 0;
    for (const f of ['memory.oom_control', 'memory.events']) {
      const m = /^oom_kill (\d+)$/m.exec(read(join(dir, f)) ?? '');
      if (m) return Number(m[1]);
    }
    return 0;
  }

  cpuUsageNs(p: CgroupPaths): number | undefined {
    const dir = p.dirs.cpuacct;
    const v = dir ? read(join(dir, 'cpuacct.usage')) : undefined;
    return v ? Number(v.trim()) : undefined;
  }

  /** cpu.stat: nr_periods, nr_throttled, throttled_time (ns): proof that the CFS quota bites. */
  cpuStat(p: CgroupPaths): Record<string, number> | undefined {
    const dir = p.dirs.cpu;
    const v = dir ? read(join(dir, 'cpu.stat')) : undefined;
    if (!v) return undefined;
    return Object.fromEntries(
      v
        .trim()
        .split('\n')
        .map((l) => {
          const [k, n] = l.split(' ');
          return [k as string, Number(n)];
        }),
    );
  }

  memoryUsage(p: CgroupPaths): { usage?: number; max?: number; limit?: number } {
    const dir = p.dirs.memory;
    if (!dir) return {};
    const n = (f: string) => {
      const v = read(join(dir, f));
      return v ? Number(v.trim()) : undefined;
    };
    return {
      usage: n('memory.usage_in_bytes'),
      max: n('memory.max_usage_in_bytes'),
      limit: n('memory.limit_in_bytes'),
    };
  }

  /** Remove one group's cgroups (all containers). Processes must be gone already. */
  removeGroup(groupKey: string): void {
    if (!this.available) return;
    for (const c of CONTROLLERS) {
      const gdir = join(this.root, c, this.base, groupKey);
      if (!existsSync(gdir)) continue;
      for (const e of readdirSync(gdir, { withFileTypes: true })) {
        if (e.isDirectory()) this.rmdir(join(gdir, e.name));
      }
      this.rmdir(gdir);
    }
  }

  private rmdir(dir: string): void {
    try {
      rmdirSync(dir);
    } catch (err) {
      this.log.warn({ dir, err: String(err) }, 'could not remove cgroup');
    }
  }

  /** Group keys that have a cgroup directory (to reap leftovers of earlier runs). */
  groupKeys(): string[] {
    if (!this.available) return [];
    const dir = join(this.root, 'cpu', this.base);
    return existsSync(dir)
      ? readdirSync(dir, { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => e.name)
      : [];
  }

  /** Every pid in any cgroup of a group (for reaping). */
  groupPids(groupKey: string): number[] {
    if (!this.available) return [];
    const out = new Set<number>();
    for (const c of CONTROLLERS) {
      const gdir = join(this.root, c, this.base, groupKey);
      if (!existsSync(gdir)) continue;
      const walk = (d: string) => {
        for (const l of (read(join(d, 'cgroup.procs')) ?? '').split('\n')) if (l) out.add(Number(l));
        for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
      };
      walk(gdir);
    }
    return [...out];
  }

  /** Remove this instance's base directories (at shutdown, when empty). */
  removeBase(): void {
    if (!this.available) return;
    for (const c of CONTROLLERS) {
      const dir = join(this.root, c, this.base);
      if (existsSync(dir) && readdirSync(dir, { withFileTypes: true }).every((e) => !e.isDirectory())) {
        try {
          rmdirSync(dir);
        } catch {
          // another process may still use it
        }
      }
    }
  }
}
