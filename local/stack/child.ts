// One component of the stack (emulator, Azurite, functions host) as a child process in its own
// process group: stdout is scanned for the component's "ready" signal, stderr is kept (last lines
// in memory for error messages, everything in a log file under the data folder), and stop() ends
// the whole group — SIGTERM, then SIGKILL after a grace period — and waits until it is gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { ChildLines, groupAlive, signalGroup, waitUntil } from '../kit';

export interface ChildSpec {
  /** Component name used in every message ("azure-emulator", "azurite", "functions-host"). */
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** stderr (and stdout lines that are not the ready signal) are appended here. */
  logFile: string;
  /**
   * A Node command: give it the lifeline (local/kit/exit-with-parent.mjs) so that it stops when the
   * process running the stack exits, SIGKILL included. Extra preloads (`--import`) go first too.
   */
  node?: { preloads?: string[] };
}

const LIFELINE_PRELOAD = join(__dirname, '..', 'kit', 'exit-with-parent.mjs');
const LIFELINE_FD = 3;

export class ComponentError extends Error {
  constructor(
    readonly component: string,
    message: string,
    readonly lastLines: string[] = [],
  ) {
    super(
      `${component}: ${message}` +
        (lastLines.length ? `\n  last output of ${component}:\n${lastLines.map((l) => '    | ' + l).join('\n')}` : ''),
    );
    this.name = 'ComponentError';
  }
}

const TAIL_LINES = 40;

export class ManagedChild {
  readonly name: string;
  private proc: ChildProcess | undefined;
  private tail: string[] = [];
  private log: WriteStream | undefined;
  private lines: ChildLines | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Listeners stay across restarts (registered before the first start). */
  private lineListeners: Array<(line: string, stream: 'stdout' | 'stderr') => void> = [];

  constructor(private readonly spec: ChildSpec) {
    this.name = spec.name;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== undefined && this.exitInfo === undefined;
  }

  private get exitInfo(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.lines?.exitInfo;
  }

  lastLines(n = TAIL_LINES): string[] {
    return this.tail.slice(-n);
  }

  /** Starts the process; `onLine` sees every stdout/stderr line. */
  start(): void {
    if (this.running) throw new ComponentError(this.name, 'already running');
    this.tail = [];
    this.log = createWriteStream(this.spec.logFile, { flags: 'a' });
    this.log.write(`\n---- ${new Date().toISOString()} start ${this.spec.command} ${this.spec.args.join(' ')}\n`);
    // detached: a new session/process group, so that stop() can signal everything the component
    // started (Azurite's workers, a host's helpers) and so that a Ctrl-C in the terminal reaches
    // only the stack's CLI, which then stops the components in the right order.
    const node = this.spec.node;
    const args = node
      ? [...[LIFELINE_PRELOAD, ...(node.preloads ?? [])].flatMap((p) => ['--import', p]), ...this.spec.args]
      : this.spec.args;
    const proc = spawn(this.spec.command, args, {
      cwd: this.spec.cwd,
      env: node ? { ...this.spec.env, LOCAL_STACK_LIFELINE_FD: String(LIFELINE_FD) } : this.spec.env,
      detached: true,
      // fd 3: the lifeline. Only this process holds its other end (close-on-exec here), so the kernel
      // closes it when this process exits in any way.
      stdio: node ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    // The lifeline never keeps the stack's process alive by itself.
    (proc.stdio[LIFELINE_FD] as Socket | null | undefined)?.unref();
    // Lines are kept in the tail and the log file here, not in the kit's copy.
    const lines = new ChildLines(proc, 0);
    this.lines = lines;
    lines.onLine((line, stream) => {
      this.remember(line);
      this.log?.write(line + '\n');
      for (const l of [...this.lineListeners]) l(line, stream);
    });
    this.exited = lines.exited.then(({ code, signal }) => {
      this.log?.write(`---- ${new Date().toISOString()} exit code=${code} signal=${signal}\n`);
    });
  }

  onLine(listener: (line: string, stream: 'stdout' | 'stderr') => void): () => void {
    this.lineListeners.push(listener);
    return () => {
      this.lineListeners = this.lineListeners.filter((l) => l !== listener);
    };
  }

  /**
   * Resolves with the first stdout line for which `match` returns a value; rejects with the
   * component's last output if the process exits first or the deadline passes.
   */
  async waitFor<T>(
    what: string,
    match: (line: string, stream: 'stdout' | 'stderr') => T | undefined,
    timeoutMs: number,
  ): Promise<T> {
    if (!this.lines) throw new ComponentError(this.name, 'not started');
    try {
      return await this.lines.waitFor(what, match, timeoutMs);
    } catch (err) {
      throw new ComponentError(this.name, (err as Error).message, this.lastLines());
    }
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves when the leader has exited. */
  async stop(graceMs = 10_000): Promise<{ forced: boolean }> {
    const proc = this.proc;
    if (!proc || proc.pid === undefined) return { forced: false };
    let forced = false;
    if (this.running) {
      signalGroup(proc.pid, 'SIGTERM');
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([this.exited.then(() => 'exited' as const), timer])) === 'timeout') {
        forced = true;
        signalGroup(proc.pid, 'SIGKILL');
        await this.exited;
      }
    }
    // Whatever else is still in the group (a grandchild that ignored SIGTERM) goes too.
    if (groupAlive(proc.pid)) {
      await waitUntil(() => !groupAlive(proc.pid!), 2_000);
      if (groupAlive(proc.pid)) {
        forced = true;
        signalGroup(proc.pid, 'SIGKILL');
        await waitUntil(() => !groupAlive(proc.pid!), 5_000);
      }
    }
    await this.closeLog();
    return { forced };
  }

  /** SIGKILL to the whole group at once: a crash, not a shutdown. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.pid === undefined) return;
    signalGroup(proc.pid, 'SIGKILL');
    await this.exited;
    await waitUntil(() => !groupAlive(proc.pid!), 5_000);
    await this.closeLog();
  }

  exitDescription(): string | undefined {
    return this.exitInfo ? `code ${this.exitInfo.code}, signal ${this.exitInfo.signal}` : undefined;
  }

  whenExited(): Promise<void> {
    return this.exited;
  }

  private async closeLog(): Promise<void> {
    const log = this.log;
    this.log = undefined;
    if (log) {
      log.end();
      await once(log, 'close').catch(() => undefined);
    }
  }

  private remember(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES * 4) this.tail = this.tail.slice(-TAIL_LINES);
  }
}
