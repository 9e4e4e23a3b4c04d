// Follows a job to its end: a live progress bar (cli-progress) with state, phase and message on a
// terminal, one line per change otherwise, and with --json one status document per change (the last
// line is the final status). Transient API trouble (5xx, network) is retried, not fatal.
import { Presets, SingleBar } from 'cli-progress';
import { TERMINAL_STATES, type ApiClient, type JobStatus } from './api-client';
import { CliError, EXIT } from './exit-codes';
import { pct } from './format';
import type { Stream } from './commands';

export interface WaitOptions {
  intervalMs: number;
  timeoutMs?: number;
  json: boolean;
  stdout: Stream;
  stderr: Stream;
  interrupted?: Promise<void>;
  /** Consecutive transient failures tolerated before giving up (default 30). */
  maxTransientFailures?: number;
}

export async function waitForJob(client: ApiClient, id: string, opts: WaitOptions): Promise<JobStatus | 'interrupted'> {
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  const tty = !opts.json && opts.stderr.isTTY === true;
  const bar = tty
    ? new SingleBar(
        {
          stream: opts.stderr as NodeJS.WritableStream,
          format: '{bar} {percentage}% | {state} · {phase} | {message}',
          barsize: 30,
          hideCursor: true,
          clearOnComplete: false,
          linewrap: false,
          fps: 10,
        },
        Presets.shades_classic,
      )
    : undefined;
  let interrupted = false;
  void opts.interrupted?.then(() => (interrupted = true));
  let lastKey = '';
  let last: JobStatus | undefined;
  let failures = 0;
  bar?.start(100, 0, { state: 'submitted', phase: '', message: '' });
  try {
    for (;;) {
      if (interrupted) return 'interrupted';
      let s: JobStatus | undefined;
      try {
        s = await client.status(id);
        failures = 0;
      } catch (e) {
        const transient =
          e instanceof CliError && e.exitCode === EXIT.api && (e.apiError === undefined || e.apiError.status >= 500);
        if (!transient || ++failures > (opts.maxTransientFailures ?? 30)) throw e;
      }
      if (s) {
        last = s;
        const key = `${s.state}|${s.phase}|${s.progress}|${s.message}`;
        if (key !== lastKey) {
          lastKey = key;
          if (opts.json) opts.stdout.write(JSON.stringify(s) + '\n');
          else if (bar)
            bar.update(Math.round(s.progress * 100), { state: s.state, phase: s.phase, message: s.message ?? '' });
          else
            opts.stderr.write(
              `${s.state.padEnd(12)} ${s.phase.padEnd(12)} ${pct(s.progress).padStart(4)}  ${s.message ?? ''}\n`,
            );
        }
        if (TERMINAL_STATES.includes(s.state)) return s;
      }
      if (Date.now() >= deadline)
        throw new CliError(
          `${id} did not end within the --wait-timeout; it goes on (last state: ${last?.state ?? 'unknown'})`,
          EXIT.api,
        );
      await Promise.race([sleep(opts.intervalMs), opts.interrupted ?? new Promise(() => undefined)]);
    }
  } finally {
    bar?.stop();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
