// Polling with a deadline, one way for the host, the emulator, the stack and the tests: every wait
// ends, and a wait that gives up says what never happened.
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Keep polling when the probe throws (a server not up yet); the last error is in the timeout message. */
  retryErrors?: boolean;
  /** Extra detail for the timeout message (a job's status, a log tail). */
  explain?: () => Promise<string> | string;
}

/**
 * Polls `probe` until it returns a value other than undefined or false, and resolves with it; rejects
 * with "timed out after N s waiting for <what>" at the deadline (default 10 s).
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      if (!options.retryErrors) throw err;
      lastError = err;
    }
    if (Date.now() > end) {
      let details = '';
      if (options.explain) {
        try {
          details = `\n${await options.explain()}`;
        } catch (e) {
          details = `\n(explain failed: ${(e as Error).message})`;
        }
      }
      const last = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new Error(`timed out after ${formatMs(timeoutMs)} waiting for ${what}${last}${details}`);
    }
    await sleep(options.intervalMs ?? 50);
  }
}

/** Polls `cond` until it holds or the deadline passes; resolves with whether it held (never rejects). */
export async function waitUntil(cond: () => boolean, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() >= end) return false;
    await sleep(intervalMs);
  }
  return true;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
