// Command mode: runs a tenant's own program under the agent. The program is the leader of its own
// process group so that cancel reaches everything it started (SIGTERM, then SIGKILL after a grace
// period). Its stdout/stderr go through to the container's, unchanged; a stdout line
// `AGENT_PROGRESS {"progress":0.5,"message":"..."}` also reports progress. Its exit code decides the
// outcome; RESULT_DIR/result.json, if it writes one, becomes the job's result.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelRequest, type Work, type WorkContext, type WorkOutcome } from './job-runner';
import type { Logger } from './log';

export const PROGRESS_MARKER = 'AGENT_PROGRESS ';
/** Variables of the agent that the tenant's process must not see. */
const PRIVATE_ENV = ['JOB_TOKEN', 'CALLBACK_URL', 'AGENT_COMMAND', 'AGENT_MODE'];
const MAX_RESULT_JSON_BYTES = 16 * 1024 * 1024;
const MAX_SCANNED_LINE = 64 * 1024;
/** After the leader exits: how long its leftovers get to close stdout/stderr before SIGKILL. */
const STRAGGLER_GRACE_MS = 2_000;

export interface CommandSpec {
  jobId: string;
  command: string[];
  /** From /start `env`; applied over the agent's environment (minus its secrets). */
  env: Record<string, string>;
  input: unknown;
  resultDir: string;
  /** Used when a cancel carries no grace period of its own. */
  defaultGraceMs: number;
  log: Logger;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

export function createCommandWork(spec: CommandSpec): Work {
  return { run: (ctx) => runCommand(spec, ctx) };
}

function childEnvironment(spec: CommandSpec, inputFile: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of PRIVATE_ENV) delete env[name];
  Object.assign(env, spec.env);
  // The agent's own values win: the tenant's program and the agent must agree on them.
  env.RESULT_DIR = spec.resultDir;
  env.JOB_ID = spec.jobId;
  if (inputFile) env.INPUT_FILE = inputFile;
  else delete env.INPUT_FILE;
  return env;
}

/** Writes the input to a folder of its own (outside RESULT_DIR: not an artifact); undefined when none. */
function writeInputFile(input: unknown): { dir: string; file: string } | undefined {
  if (input === undefined) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'aci-batch-input-'));
  const file = join(dir, 'input.json');
  writeFileSync(file, JSON.stringify(input), { mode: 0o600 });
  return { dir, file };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Feeds stdout through a line scanner that picks out progress markers. */
function progressScanner(onProgress: WorkContext['onProgress']): (chunk: Buffer) => void {
  let pending = '';
  let skipping = false; // inside an over-long line: ignore until its newline
  return (chunk) => {
    pending += chunk.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).replace(/\r$/, '');
      pending = pending.slice(nl + 1);
      if (skipping) {
        skipping = false;
        continue;
      }
      if (!line.startsWith(PROGRESS_MARKER)) continue;
      try {
        const p = JSON.parse(line.slice(PROGRESS_MARKER.length)) as { progress?: unknown; message?: unknown };
        onProgress(
          typeof p.progress === 'number' ? p.progress : undefined,
          typeof p.message === 'string' ? p.message : undefined,
        );
      } catch {
        // Not a well-formed marker: it was passed through as ordinary output; nothing more to do.
      }
    }
    if (pending.length > MAX_SCANNED_LINE) {
      pending = '';
      skipping = true;
    }
  };
}

/** `{...result.json, exitCode}`: the exit code is the agent's own observation and wins. */
export function readCommandResult(
  resultDir: string,
  exitCode: number,
  signal: NodeJS.Signals | null,
): Record<string, unknown> {
  const base: Record<string, unknown> = signal ? { signal } : {};
  const file = join(resultDir, 'result.json');
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) return { ...base, exitCode };
    size = st.size;
  } catch {
    return { ...base, exitCode };
  }
  if (size > MAX_RESULT_JSON_BYTES) {
    return {
      ...base,
      exitCode,
      resultError: `result.json is ${size} bytes (more than ${MAX_RESULT_JSON_BYTES} are not inlined); fetch it as an artifact`,
    };
  }
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return { ...(parsed as Record<string, unknown>), ...base, exitCode };
    return { ...base, exitCode, value: parsed };
  } catch (err) {
    return { ...base, exitCode, resultError: `result.json is not valid JSON: ${(err as Error).message}` };
  }
}

function runCommand(spec: CommandSpec, ctx: WorkContext): Promise<WorkOutcome> {
  const [program, ...args] = spec.command;
  const log = spec.log;
  return new Promise<WorkOutcome>((resolve) => {
    let settled = false;
    let input: { dir: string; file: string } | undefined;
    const done = (outcome: WorkOutcome): void => {
      if (settled) return;
      settled = true;
      if (input) rmSync(input.dir, { recursive: true, force: true });
      resolve(outcome);
    };
    const spawnFailed = (err: Error): void =>
      done({
        ok: false,
        message: `the command could not be started: ${err.message}`,
        result: { exitCode: 127 },
        exitCode: 127,
        error: { code: 'CommandSpawnFailed', message: err.message },
      });

    let child: ChildProcess;
    try {
      input = writeInputFile(spec.input);
      child = spawn(program ?? '', args, {
        detached: true, // its own process group: cancel reaches its whole tree
        stdio: ['ignore', 'pipe', 'pipe'],
        env: childEnvironment(spec, input?.file),
      });
    } catch (err) {
      spawnFailed(err as Error);
      return;
    }
    log.info('command started', { pid: child.pid, program });

    child.stdout?.pipe(spec.stdout ?? process.stdout, { end: false });
    child.stderr?.pipe(spec.stderr ?? process.stderr, { end: false });
    child.stdout?.on('data', progressScanner(ctx.onProgress));

    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      const reason: unknown = ctx.signal.reason;
      const graceMs = reason instanceof CancelRequest ? reason.graceMs : spec.defaultGraceMs;
      log.info('stopping command', { pid: child.pid, graceMs });
      killGroup(child, 'SIGTERM');
      killTimer = setTimeout(() => {
        log.warn('command did not stop after SIGTERM; sending SIGKILL', { pid: child.pid });
        killGroup(child, 'SIGKILL');
      }, graceMs);
    };
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });

    child.once('error', (err) => {
      // Spawn failures (ENOENT, EACCES) arrive here without an 'exit'.
      if (child.pid === undefined) {
        ctx.signal.removeEventListener('abort', onAbort);
        spawnFailed(err);
      } else {
        log.error('command process error', { err });
      }
    });

    child.once('exit', (code, signal) => {
      ctx.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      const exitCode = code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0);
      log.info('command exited', { pid: child.pid, exitCode, signal });
      // The job ends with its leader: what it left running in its group is stopped too, SIGKILL
      // after a grace period even for leftovers that ignore SIGTERM and hold no pipe.
      killGroup(child, 'SIGTERM');
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        const result = readCommandResult(spec.resultDir, exitCode, signal);
        if (exitCode === 0) {
          done({ ok: true, message: 'the command exited with code 0', result, exitCode });
        } else {
          const why = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
          done({
            ok: false,
            message: `the command ${why}`,
            result,
            exitCode,
            error: { code: signal ? 'CommandKilled' : 'CommandFailed', message: `the command ${why}` },
          });
        }
      };
      // Wait for its output to drain (bounded: a leftover may hold the pipes open).
      setTimeout(() => {
        killGroup(child, 'SIGKILL');
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, STRAGGLER_GRACE_MS);
      if (child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false) finish();
      else child.once('close', finish);
    });
  });
}
