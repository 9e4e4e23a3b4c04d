// One container = one process tree: a tiny /bin/sh wrapper joins the container's cgroups, runs the
// command as its child and writes the exit code to a file. Output goes straight to a file (not a
// pipe), so processes survive an emulator crash and can be re-adopted by the next run.
// Where the emulator runs as root, the command runs as the group's own unprivileged uid, in its own
// PID and mount namespaces (a private /proc: other groups' processes and environments are invisible),
// as a container would; elsewhere it runs as the emulator's user, with a warning.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import type { Logger } from './log';

/**
 * Runs "$@" with the container's stderr (fd 3) while the calling shell's own stderr is /dev/null: dash
 * reports a child killed by a signal ("Terminated") on whatever fd 2 the command line had, so the
 * command gets its redirection in a child shell that execs it, not on the caller's command line.
 */
const RUN = `/bin/sh -c 'exec "$@" 2>&3 3>&-' aci-run "$@"`;

const WRAPPER = [
  // Survive the stop's SIGTERM (a handler, not an ignore: the command still gets it): the wrapper ends
  // with the command, so the emulator's grace period runs until the command has really exited.
  'trap : TERM',
  'ef="$1"; procs="$2"; shift 2',
  'rm -f "$ef"',
  'if [ -n "$procs" ]; then',
  '  oldifs="$IFS"; IFS=:',
  '  for f in $procs; do echo $$ > "$f" || exit 125; done',
  '  IFS="$oldifs"',
  'fi',
  // The shell's own notices ("Terminated" for a signalled child) are not the container's output.
  'exec 3>&2 2>/dev/null',
  RUN,
  'code=$?',
  // The isolated path's init (below) writes the command's own code: unshare cannot pass on a signal.
  'if [ -s "$ef" ]; then code=$(cat "$ef"); else echo "$code" > "$ef.tmp" && mv "$ef.tmp" "$ef"; fi',
  'exit "$code"',
].join('\n');

/**
 * PID 1 of the container's PID namespace (root, so the tenant can neither forge nor delete the exit
 * file): runs the command as pid 2, so SIGTERM reaches it as in a container with an init (tini), and
 * records its exit code, 128+signal when killed. When it exits, the kernel kills everything left in the
 * namespace, as when a container's init exits.
 */
const NAMESPACE_INIT = [
  'ef="$1"; shift',
  'exec 3>&2 2>/dev/null',
  RUN,
  'code=$?',
  'echo "$code" > "$ef.tmp" && mv "$ef.tmp" "$ef"',
  'exit "$code"',
].join('\n');

/** The unprivileged identity a group's processes run as. */
export interface RunAs {
  uid: number;
  gid: number;
}

export interface IsolationSupport {
  /** setuid to a per-group uid (needs root) */
  users: boolean;
  /** own PID + mount namespace with a private /proc (unshare from util-linux) */
  namespaces: boolean;
}

let support: IsolationSupport | undefined;

/** What this host allows; probed once (a real `unshare` + `setpriv` run, not a guess from the uid). */
export function isolationSupport(log?: Logger): IsolationSupport {
  if (support) return support;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  let namespaces = false;
  let why = '';
  if (root) {
    const r = spawnSync(
      'unshare',
      [
        '--pid',
        '--fork',
        '--mount-proc',
        '--kill-child',
        'setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--',
        '/bin/true',
      ],
      { stdio: 'ignore', timeout: 10_000 },
    );
    namespaces = r.status === 0;
    if (!namespaces) why = r.error ? String(r.error.message) : `unshare/setpriv exit ${r.status ?? r.signal}`;
  }
  support = { users: root, namespaces };
  if (!root)
    log?.warn(
      "not running as root: container processes run as the emulator's own user, share its files and can read each other's /proc/<pid>/environ (no tenant isolation)",
    );
  else if (!namespaces)
    log?.warn(
      { why },
      'PID/mount namespaces are not available (unshare --pid --mount-proc failed): container processes run as their own uid but see every process on the machine',
    );
  return support;
}

export interface LaunchSpec {
  command: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  exitFile: string;
  cgroupProcs: string[];
  /** run the command as this uid/gid (the wrapper itself stays root to join the cgroups) */
  runAs?: RunAs;
  /** with runAs: own PID namespace and /proc */
  namespaces?: boolean;
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

/** The command line that drops to the group's uid (and enters new namespaces) before running the command. */
function isolated(spec: LaunchSpec): string[] {
  if (!spec.runAs) return spec.command;
  const { uid, gid } = spec.runAs;
  // no_new_privs: a setuid binary in the image cannot take root back.
  const drop = [
    'setpriv',
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--clear-groups',
    '--no-new-privs',
    '--',
    ...spec.command,
  ];
  if (!spec.namespaces) return drop;
  return [
    'unshare',
    '--pid',
    '--fork',
    '--mount-proc',
    '--kill-child',
    '/bin/sh',
    '-c',
    NAMESPACE_INIT,
    'aci-init',
    spec.exitFile,
    ...drop,
  ];
}

export function launch(spec: LaunchSpec): ProcessHandle {
  const fd = openSync(spec.logFile, 'a');
  let child;
  try {
    child = spawn(
      '/bin/sh',
      ['-c', WRAPPER, 'aci-container', spec.exitFile, spec.cgroupProcs.join(':'), ...isolated(spec)],
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
