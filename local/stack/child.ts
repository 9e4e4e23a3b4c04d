// One component of the stack (emulator, Azurite, functions host) as a child process in its own
// process group: stdout is scanned for the component's "ready" signal, stderr is kept (last lines
// in memory for error messages, everything in a log file under the data folder), and stop() ends
// the whole group — SIGTERM, then SIGKILL after a grace period — and waits until it is gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

export interface ChildSpec {
  /** Component name used in every message ("azure-emulator", "azurite", "functions-host"). */
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** stderr (and stdout lines that are not the ready signal) are appended here. */
  logFile: string;
}

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
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private exited: Promise<void> = Promise.resolve();
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

  lastLines(n = TAIL_LINES): string[] {
    return this.tail.slice(-n);
  }

  /** Starts the process; `onLine` sees every stdout/stderr line. */
  start(): void {
    if (this.running) throw new ComponentError(this.name, 'already running');
    this.tail = [];
    this.exitInfo = undefined;
    this.log = createWriteStream(this.spec.logFile, { flags: 'a' });
    this.log.write(`\n---- ${new Date().toISOString()} start ${this.spec.command} ${this.spec.args.join(' ')}\n`);
    // detached: a new session/process group, so that stop() can signal everything the component
    // started (Azurite's workers, a host's helpers) and so that a Ctrl-C in the terminal reaches
    // only the stack's CLI, which then stops the components in the right order.
    const proc = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: this.spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    this.exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.log?.write(`---- ${new Date().toISOString()} exit code=${code} signal=${signal}\n`);
        resolve();
      });
      proc.once('error', (err) => {
        this.remember(`spawn error: ${err.message}`);
        this.exitInfo = { code: null, signal: null };
        resolve();
      });
    });
    this.readLines(proc.stdout!, 'stdout');
    this.readLines(proc.stderr!, 'stderr');
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
  waitFor<T>(
    what: string,
    match: (line: string, stream: 'stdout' | 'stderr') => T | undefined,
    timeoutMs: number,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const done = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        off();
        fn();
      };
      const off = this.onLine((line, stream) => {
        let value: T | undefined;
        try {
          value = match(line, stream);
        } catch (err) {
          done(() =>
            reject(new ComponentError(this.name, `unexpected ${what}: ${(err as Error).message}`, this.lastLines())),
          );
          return;
        }
        if (value !== undefined) done(() => resolve(value));
      });
      const timer = setTimeout(() => {
        done(() =>
          reject(
            new ComponentError(this.name, `no ${what} within ${Math.round(timeoutMs / 1000)} s`, this.lastLines()),
          ),
        );
      }, timeoutMs);
      void this.exited.then(() => {
        if (this.exitInfo) {
          const { code, signal } = this.exitInfo;
          done(() =>
            reject(
              new ComponentError(this.name, `exited (code ${code}, signal ${signal}) before ${what}`, this.lastLines()),
            ),
          );
        }
      });
    });
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

  private readLines(stream: NodeJS.ReadableStream, kind: 'stdout' | 'stderr'): void {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).replace(/\r$/, '');
        buffered = buffered.slice(nl + 1);
        this.emitLine(line, kind);
      }
    });
    stream.on('end', () => {
      if (buffered) this.emitLine(buffered, kind);
      buffered = '';
    });
  }

  private emitLine(line: string, kind: 'stdout' | 'stderr'): void {
    this.remember(line);
    this.log?.write(line + '\n');
    for (const l of [...this.lineListeners]) l(line, kind);
  }
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function waitUntil(cond: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return true;
}
