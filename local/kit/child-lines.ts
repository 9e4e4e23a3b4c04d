// "Start a CLI and wait for its ready line", one way for the host, the emulator, the stack and the
// tests: a child's stdout/stderr split into lines, a wait for the first line that matches (with a
// deadline, and an error if the process exits first), and spawnReady() built on it.
import { spawn, type ChildProcess } from 'node:child_process';

export type Stream = 'stdout' | 'stderr';
export type LineListener = (line: string, stream: Stream) => void;

/** Splits a stream into lines (CRLF or LF); a last line without a newline is emitted at the end. */
export function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).replace(/\r$/, '');
      buffered = buffered.slice(nl + 1);
      onLine(line);
    }
  });
  stream.on('end', () => {
    if (buffered) onLine(buffered);
    buffered = '';
  });
}

/** The lines of a child process, kept (the last ~`keepBytes` characters per stream; 0: none) and offered to listeners. */
export class ChildLines {
  private listeners: LineListener[] = [];
  private readonly kept: Record<Stream, { lines: string[]; chars: number }> = {
    stdout: { lines: [], chars: 0 },
    stderr: { lines: [], chars: 0 },
  };
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly child: ChildProcess,
    private readonly keepBytes = 1024 * 1024,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      child.once('error', (err) => {
        this.emit(`spawn error: ${err.message}`, 'stderr');
        this.exit = { code: null, signal: null };
        resolve(this.exit);
      });
    });
    if (child.stdout) splitLines(child.stdout, (l) => this.emit(l, 'stdout'));
    if (child.stderr) splitLines(child.stderr, (l) => this.emit(l, 'stderr'));
  }

  /** What the stream printed so far (its last lines, about `keepBytes` characters). */
  text(stream: Stream): string {
    return this.kept[stream].lines.map((l) => l + '\n').join('');
  }

  get exitInfo(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exit;
  }

  onLine(listener: LineListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Resolves with the first line for which `match` returns a value. Rejects with "no <what> within
   * N s" at the deadline, "exited (code …, signal …) before <what>" if the process ends first, and
   * "unexpected <what>: …" if `match` throws.
   */
  waitFor<T>(what: string, match: (line: string, stream: Stream) => T | undefined, timeoutMs: number): Promise<T> {
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
          done(() => reject(new Error(`unexpected ${what}: ${(err as Error).message}`)));
          return;
        }
        if (value !== undefined) done(() => resolve(value));
      });
      const timer = setTimeout(
        () => done(() => reject(new Error(`no ${what} within ${Math.round(timeoutMs / 100) / 10} s`))),
        timeoutMs,
      );
      void this.exited.then(({ code, signal }) =>
        done(() => reject(new Error(`exited (code ${code}, signal ${signal}) before ${what}`))),
      );
    });
  }

  private emit(line: string, stream: Stream): void {
    const k = this.kept[stream];
    if (this.keepBytes > 0) {
      k.lines.push(line);
      k.chars += line.length + 1;
      while (k.chars > this.keepBytes && k.lines.length > 1) k.chars -= k.lines.shift()!.length + 1;
    }
    for (const l of [...this.listeners]) l(line, stream);
  }
}

export interface SpawnReadyOptions<T> {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The ready signal, for messages ("ready line"). */
  what: string;
  /** The ready value of a line, or undefined for a line that is not it; throw for a malformed one. */
  match: (line: string, stream: Stream) => T | undefined;
  timeoutMs: number;
}

export interface ReadyChild<T> {
  value: T;
  child: ChildProcess;
  lines: ChildLines;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed by a signal). */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL (a crash, not a shutdown); resolves when the process has exited. */
  kill(): Promise<void>;
}

/**
 * Spawns a CLI and resolves once it printed its ready line. The process is killed (SIGKILL) when it is
 * not ready in time or prints a malformed ready line; the error carries its stderr.
 */
export async function spawnReady<T>(o: SpawnReadyOptions<T>): Promise<ReadyChild<T>> {
  const child = spawn(o.command, o.args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = new ChildLines(child);
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  let value: T;
  try {
    value = await lines.waitFor(o.what, o.match, o.timeoutMs);
  } catch (err) {
    if (running()) child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${lines.text('stderr')}`);
  }
  return {
    value,
    child,
    lines,
    stdout: () => lines.text('stdout'),
    stderr: () => lines.text('stderr'),
    exited: lines.exited,
    async stop(graceMs = 10_000) {
      if (!running()) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const { code } = await lines.exited;
      clearTimeout(t);
      return code;
    },
    async kill() {
      if (!running()) return;
      child.kill('SIGKILL');
      await lines.exited;
    },
  };
}

/** The first line that is a JSON object, parsed (CLIs print one JSON ready line; `npm run` adds a banner first). */
export function jsonLine<T>(line: string, stream: Stream): T | undefined {
  if (stream !== 'stdout' || !line.startsWith('{')) return undefined;
  return JSON.parse(line) as T;
}
