// Starts the host CLI as a child process and waits for its ready line. Used by tests and usable by
// local/stack: the parent reads `{"ready":true,"baseUrl":...}` from stdout; logs arrive on stderr.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface SpawnedHost {
  baseUrl: string;
  child: ChildProcess;
  /** Everything the host wrote to stderr so far (pino JSON lines). */
  stderr(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
  kill(): Promise<void>;
}

export interface SpawnOptions {
  appDir: string;
  dataDir: string;
  port?: number;
  maxActivities?: number;
  maxBodyBytes?: number;
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}

const cli = join(__dirname, 'cli.ts');

export function hostArgs(o: SpawnOptions): string[] {
  const args = ['--import', 'tsx', cli, '--app', o.appDir, '--data', o.dataDir, '--port', String(o.port ?? 0)];
  if (o.maxActivities !== undefined) args.push('--max-activities', String(o.maxActivities));
  if (o.maxBodyBytes !== undefined) args.push('--max-body-bytes', String(o.maxBodyBytes));
  return args;
}

export function spawnHost(o: SpawnOptions): Promise<SpawnedHost> {
  const child = spawn(process.execPath, hostArgs(o), {
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`host not ready within ${o.readyTimeoutMs ?? 20000} ms:\n${err}`));
    }, o.readyTimeoutMs ?? 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`host exited with ${code} before it was ready:\n${err}`));
    });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      // The ready line is the only line the host prints; `npm run` (without --silent) adds its own banner first.
      const readyLine = out.split('\n').find((l, i, all) => i < all.length - 1 && l.startsWith('{'));
      if (readyLine === undefined) return;
      clearTimeout(timer);
      try {
        const line = JSON.parse(readyLine) as { ready?: boolean; baseUrl?: string };
        if (!line.ready || !line.baseUrl) throw new Error(`unexpected ready line ${readyLine}`);
        const baseUrl = line.baseUrl;
        resolve({
          baseUrl,
          child,
          stderr: () => err,
          async stop(graceMs = 10_000) {
            if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
            const code = await exited;
            clearTimeout(t);
            return code;
          },
          async kill() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGKILL');
            await exited;
          },
        });
      } catch (e) {
        child.kill('SIGKILL');
        reject(e as Error);
      }
    });
  });
}

/** Runs the CLI expecting it to fail at startup; resolves with its exit code and stderr. */
export function runHostExpectingFailure(
  o: SpawnOptions,
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, hostArgs(o), {
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: out, stderr: err });
    });
  });
}
