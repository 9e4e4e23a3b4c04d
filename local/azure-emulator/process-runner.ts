// One container = one process tree: a tiny /bin/sh wrapper joins the container's cgroups, runs the
// command as its child and writes the exit code to a file. Output goes straight to a file (not a
// pipe), so processes survive an emulator crash and can be re-adopted by the next run.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';

const WRAPPER = [
  'ef="$1"; procs="$2"; shift 2',
  'rm -f "$ef"',
  'if [ -n "$procs" ]; then',
  '  oldifs="$IFS"; IFS=:',
  '  for f in $procs; do echo $$ > "$f" || exit 125; done',
  '  IFS="$oldifs"',
  'fi',
  '"$@"',
  'code=$?',
  'echo "$code" > "$ef.tmp" && mv "$ef.tmp" "$ef"',
  'exit "$code"',
].join('\n');

export interface LaunchSpec {
  command: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  exitFile: string;
  cgroupProcs: string[];
}

export interface ProcessHandle {
  pid: number;
  startTicks: string;
  /** resolves with the container's exit code (128+signal when killed) */
  exited: Promise<number>;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/** Field 22 of /proc/<pid>/stat: start time in clock ticks, to tell a pid from a reused one. */
export function startTicksOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number, startTicks?: string): boolean {
  const t = startTicksOf(pid);
  if (t === undefined) return false;
  if (startTicks !== undefined && t !== startTicks) return false;
  // A zombie has exited already.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function readExitFile(file: string): number | undefined {
  try {
    const v = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function launch(spec: LaunchSpec): ProcessHandle {
  const fd = openSync(spec.logFile, 'a');
  let child;
  try {
    child = spawn(
      '/bin/sh',
      ['-c', WRAPPER, 'aci-container', spec.exitFile, spec.cgroupProcs.join(':'), ...spec.command],
      {
        cwd: existsSync(spec.cwd) ? spec.cwd : '/',
        env: spec.env,
        detached: true, // own process group: stop/delete kill the whole tree
        stdio: ['ignore', fd, fd],
      },
    );
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  const exited = new Promise<number>((resolve) => {
    child.once('error', () => resolve(127));
    child.once('exit', (code, signal) => {
      const fromFile = readExitFile(spec.exitFile);
      resolve(code ?? fromFile ?? (signal ? 128 + (SIGNALS[signal] ?? 9) : 1));
    });
  });
  if (pid === undefined) return { pid: -1, startTicks: '', exited };
  return { pid, startTicks: startTicksOf(pid) ?? '', exited };
}

/** Watch a process started by an earlier emulator run; its exit code comes from the wrapper's file. */
export function adopt(pid: number, startTicks: string, exitFile: string, pollMs = 250): ProcessHandle {
  const exited = new Promise<number>((resolve) => {
    const tick = () => {
      if (isAlive(pid, startTicks)) {
        setTimeout(tick, pollMs);
        return;
      }
      // The wrapper writes the file just before it exits; killed wrappers leave none (SIGKILL).
      resolve(readExitFile(exitFile) ?? 137);
    };
    tick();
  });
  return { pid, startTicks, exited };
}

export function signalTree(pid: number, signal: NodeJS.Signals, extraPids: number[] = []): void {
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // group already gone
  }
  for (const p of extraPids) {
    if (!Number.isInteger(p) || p <= 1 || p === process.pid) continue;
    try {
      process.kill(p, signal);
    } catch {
      // gone
    }
  }
}
