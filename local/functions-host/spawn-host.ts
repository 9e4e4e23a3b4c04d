// Starts the host CLI as a child process and waits for its ready line (local/kit's spawnReady). Used by
// tests and usable by local/stack: the parent reads `{"ready":true,"baseUrl":...}` from stdout; logs go to stderr.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { jsonLine, spawnReady } from '../kit';

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

export async function spawnHost(o: SpawnOptions): Promise<SpawnedHost> {
  const timeoutMs = o.readyTimeoutMs ?? 20_000;
  const ready = await spawnReady({
    command: process.execPath,
    args: hostArgs(o),
    env: { ...process.env, ...o.env },
    what: 'host ready line',
    timeoutMs,
    // The ready line is the only line the host prints; `npm run` (without --silent) adds its own banner first.
    match: (line, stream) => {
      const l = jsonLine<{ ready?: boolean; baseUrl?: string }>(line, stream);
      if (l && (!l.ready || !l.baseUrl)) throw new Error(`unexpected ready line ${line}`);
      return l?.baseUrl;
    },
  });
  return {
    baseUrl: ready.value,
    child: ready.child,
    stderr: ready.stderr,
    stop: (graceMs = 10_000) => ready.stop(graceMs),
    kill: ready.kill,
  };
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
