// Finds the processes the stack is responsible for, so that stop() can prove none is left behind.
// Two nets, because container processes are started by the emulator (possibly in their own
// sessions and cgroups, so not in the emulator's process group): every descendant of a component,
// and every process that inherited the stack's marker environment variable.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** Clock ticks since boot: with the pid, identifies one process (pids are reused). */
  startTime: number;
  command: string;
}

/** The environment variable every component (and, through inheritance, their children) carries. */
export const STACK_MARKER_ENV = 'ACI_BATCH_STACK_ID';

/** The process `pid` now (undefined when gone or a zombie). */
export function readStat(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields restart after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    if (state === 'Z' || state === 'X') return undefined; // zombies hold no resources
    let command = '';
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      command = '';
    }
    return {
      pid,
      ppid: Number(rest[1]),
      pgid: Number(rest[2]),
      startTime: Number(rest[19]),
      command: command.slice(0, 300),
    };
  } catch {
    return undefined;
  }
}

export function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out; // not Linux: nothing we can check
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const info = readStat(Number(e));
    if (info) out.push(info);
  }
  return out;
}

/** Every live descendant of the given pids (not the pids themselves). */
export function descendantsOf(rootPids: number[], procs: ProcInfo[] = listProcesses()): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const p of procs) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const out: ProcInfo[] = [];
  const queue = [...rootPids];
  const seen = new Set<number>();
  while (queue.length) {
    const pid = queue.shift()!;
    for (const c of children.get(pid) ?? []) {
      if (seen.has(c.pid)) continue;
      seen.add(c.pid);
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

/** Live processes whose environment has STACK_MARKER_ENV=<stackId> (other than this process). */
export function markedProcesses(stackId: string, procs: ProcInfo[] = listProcesses()): ProcInfo[] {
  const needle = `${STACK_MARKER_ENV}=${stackId}\0`;
  const out: ProcInfo[] = [];
  for (const p of procs) {
    if (p.pid === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${p.pid}/environ`, 'utf8') + '\0';
      if (env.includes(needle)) out.push(p);
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/** Which of a remembered set of processes are still alive (same pid and same start time). */
export function stillAlive(remembered: ProcInfo[]): ProcInfo[] {
  return remembered.filter((r) => {
    const now = readStat(r.pid);
    return now !== undefined && now.startTime === r.startTime;
  });
}

export function killProcesses(procs: ProcInfo[]): void {
  for (const p of procs) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function describe(procs: ProcInfo[]): string {
  return procs.map((p) => `pid ${p.pid} (ppid ${p.ppid}): ${p.command || '?'}`).join('; ');
}

/** One entry per pid. */
export function dedupe(list: ProcInfo[]): ProcInfo[] {
  const seen = new Set<number>();
  return list.filter((p) => (seen.has(p.pid) ? false : (seen.add(p.pid), true)));
}
