// `aci-batch logs -f`: prints a job's log as it grows and returns when the job ends. It asks for
// `?follow=true`: where the API answers with X-Log-Offset / X-Job-State (a long poll that returns
// the text after `since`), it prints each answer and asks again from the offset until the state is
// final; an API without follow answers with the whole log so far, so then it reads again after an
// interval and prints only what it has not printed yet (and waits out 409 NotFinished before the
// container exists).
import { TERMINAL_STATES, type ApiClient, type JobStatus } from './api-client';
import { CliError } from './exit-codes';
import { sleep } from './wait';

/** Headers of the API's follow answers (orchestration/src/api/job-logs.ts). */
const LOG_OFFSET = 'x-log-offset';
const LOG_STATE = 'x-job-state';

export interface FollowOptions {
  tail?: string;
  intervalMs: number;
  write(text: string): void;
  interrupted?: Promise<void>;
}

/** Tracks what was printed and returns what a new read of the log adds to it. */
export class LogCursor {
  private printed = '';
  private tailAnchor: string | undefined;

  constructor(tail: boolean) {
    this.tailAnchor = tail ? '' : undefined;
  }

  /** `full` is everything one read has returned so far (from the log's start, or its tail on the first read). */
  next(full: string, fromTail: boolean): string {
    if (fromTail) {
      // The first read was only the last lines: later full reads are anchored on that text.
      const add = full.startsWith(this.printed) ? full.slice(this.printed.length) : '';
      this.printed = full;
      this.tailAnchor = full;
      return add;
    }
    if (this.tailAnchor !== undefined) {
      const anchor = this.tailAnchor;
      const at = anchor === '' ? 0 : full.lastIndexOf(anchor);
      // Not there yet (a stream still before it): nothing after the shown tail is known to be new.
      if (at < 0) return '';
      this.tailAnchor = undefined;
      this.printed = full.slice(0, at + anchor.length);
    }
    if (full.startsWith(this.printed)) {
      const add = full.slice(this.printed.length);
      this.printed = full;
      return add;
    }
    if (this.printed.startsWith(full)) return '';
    // The log was rewritten (live copy vs archived copy): print what lies beyond what was shown.
    const add = full.length > this.printed.length ? full.slice(this.printed.length) : '';
    this.printed = full;
    return add;
  }
}

export async function followLogs(
  client: ApiClient,
  id: string,
  path: string,
  opts: FollowOptions,
): Promise<JobStatus | 'interrupted'> {
  const cursor = new LogCursor(opts.tail !== undefined);
  let first = true;
  /** X-Log-Offset of the last answer: the API's follow is a long poll that resumes from there. */
  let offset: number | undefined;
  const abort = new AbortController();
  let interrupted = false;
  void opts.interrupted?.then(() => {
    interrupted = true;
    abort.abort();
  });
  /** One read; says what the API told about the job (X-Job-State) and how much text came. */
  const read = async (follow: boolean): Promise<{ state?: string; bytes: number } | undefined> => {
    const fromTail = first && opts.tail !== undefined;
    try {
      const res = await client.request(path, {
        query: {
          follow: follow ? 'true' : undefined,
          tail: fromTail && offset === undefined ? opts.tail : undefined,
          since: follow && offset !== undefined ? String(offset) : undefined,
        },
        headers: { accept: 'text/plain' },
        timeoutMs: follow ? 0 : undefined,
        signal: abort.signal,
      });
      first = false;
      const offsetHeader = res.headers.get(LOG_OFFSET);
      // With an offset the answer is only the new text: print it as it comes.
      const incremental = offsetHeader !== null && /^\d+$/.test(offsetHeader);
      let text = '';
      const decoder = new TextDecoder();
      const take = (piece: string) => {
        text += piece;
        const add = incremental ? piece : cursor.next(text, fromTail);
        if (add) opts.write(add);
      };
      for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>)
        take(decoder.decode(chunk, { stream: true }));
      take(decoder.decode());
      if (incremental) offset = Number(offsetHeader);
      return { state: incremental ? (res.headers.get(LOG_STATE) ?? undefined) : undefined, bytes: text.length };
    } catch (e) {
      if (interrupted) return undefined;
      // No log yet (queued, or a group not created) or none archived: the status decides the end.
      if (e instanceof CliError && (e.apiError?.code === 'NotFinished' || e.apiError?.code === 'NotFound'))
        return undefined;
      throw e;
    }
  };
  const pause = async () => {
    await Promise.race([sleep(opts.intervalMs), opts.interrupted ?? new Promise(() => undefined)]);
  };
  for (;;) {
    const r = await read(true);
    if (interrupted) return 'interrupted';
    if (r?.state !== undefined) {
      // The API's long poll says how the job stands: its answer after the end held the rest of the log.
      if (TERMINAL_STATES.includes(r.state)) return client.status(id);
      if (r.bytes === 0) await pause();
      if (interrupted) return 'interrupted';
      continue;
    }
    const s = await client.status(id);
    if (TERMINAL_STATES.includes(s.state)) {
      // The archived copy is complete: print whatever the last live read had not seen.
      if (offset === undefined) await read(false);
      return interrupted ? 'interrupted' : s;
    }
    await pause();
    if (interrupted) return 'interrupted';
  }
}
