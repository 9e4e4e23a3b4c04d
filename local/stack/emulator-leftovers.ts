// What an emulator that died (SIGKILL, crash) leaves behind, found from what it persisted: its group
// records (<emulator data>/groups/<key>/group.json: each container's pid and start time) and its
// cgroup folders (<cgroup root>/<controller>/aci-emulator/<instance-id>/…, whose cgroup.procs list
// every process of a container, even those that left its process group). Container processes are
// not descendants of any component any more once the emulator is gone (they were re-parented), so
// the stack's other nets cannot see them. The on-disk layout is the emulator's (its README).
import { existsSync, readdirSync, readFileSync, realpathSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil } from '../kit';
import { readStat, type ProcInfo } from './processes';

const CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids'];

export interface EmulatorLeftovers {
  /** Container groups whose records are still there (name), with their record folders. */
  groups: { name: string; dir: string }[];
  /** Live container processes (recorded pids, and every pid in the emulator's cgroups). */
  processes: ProcInfo[];
  /** The emulator's cgroup folders (deepest first). */
  cgroupDirs: string[];
}

interface GroupRecordOnDisk {
  name?: string;
  containers?: Record<string, { pid?: number; startTicks?: string }>;
}

export function findEmulatorLeftovers(
  emulatorDataDir: string,
  cgroupRoot = process.env.ACI_EMULATOR_CGROUP_ROOT ?? '/sys/fs/cgroup',
): EmulatorLeftovers {
  const found = new Map<number, ProcInfo>();
  const groups: EmulatorLeftovers['groups'] = [];
  const groupsDir = join(emulatorDataDir, 'groups');
  for (const key of existsSync(groupsDir) ? readdirSync(groupsDir) : []) {
    const dir = join(groupsDir, key);
    let g: GroupRecordOnDisk;
    try {
      g = JSON.parse(readFileSync(join(dir, 'group.json'), 'utf8')) as GroupRecordOnDisk;
    } catch {
      continue;
    }
    groups.push({ name: g.name ?? key, dir });
    for (const c of Object.values(g.containers ?? {})) {
      const p = c.pid ? readStat(c.pid) : undefined;
      // Same pid and same start time: the container's process, not a later one that reuses the pid.
      if (p && String(p.startTime) === c.startTicks) found.set(p.pid, p);
    }
  }
  const cgroupDirs: string[] = [];
  let instance: string | undefined;
  try {
    instance = readFileSync(join(emulatorDataDir, 'instance-id'), 'utf8').trim();
  } catch {
    instance = undefined;
  }
  if (instance) {
    const seen = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
      cgroupDirs.push(dir); // children before their parent: removable in this order
      try {
        for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
          const p = readStat(Number(pid));
          if (p) found.set(p.pid, p);
        }
      } catch {
        // removed meanwhile
      }
    };
    for (const c of CONTROLLERS) {
      const base = join(cgroupRoot, c, 'aci-emulator', instance);
      if (!existsSync(base)) continue;
      const real = realpathSync(base); // cpu and cpuacct may be one hierarchy
      if (seen.has(real)) continue;
      seen.add(real);
      walk(base);
    }
  }
  return { groups, processes: [...found.values()], cgroupDirs };
}

/** Kills the leftover processes, removes the cgroup folders and the group records (deadline 10 s). */
export async function removeEmulatorLeftovers(l: EmulatorLeftovers): Promise<{ notRemoved: string[] }> {
  for (const p of l.processes) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  const alive = (): ProcInfo[] => l.processes.filter((p) => readStat(p.pid)?.startTime === p.startTime);
  await waitUntil(() => alive().length === 0, 10_000, 50);
  const notRemoved = alive().map((p) => `pid ${p.pid}`);
  for (const d of l.cgroupDirs) {
    // A cgroup folder goes only once its processes have been reaped: retry briefly.
    const ok = await waitUntil(
      () => {
        try {
          rmdirSync(d);
          return true;
        } catch (err) {
          return (err as NodeJS.ErrnoException).code === 'ENOENT';
        }
      },
      3_000,
      50,
    );
    if (!ok) notRemoved.push(d);
  }
  for (const g of l.groups) rmSync(g.dir, { recursive: true, force: true });
  return { notRemoved };
}
