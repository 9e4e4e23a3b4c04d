// `aci-batch logs -f`: prints a job's log as it grows and returns when the job ends. It asks for
// `?follow=true` (a stream until the end, where the API has it) and, when an answer ends while the
// job still runs (an API without follow answers with the log so far), reads again after an interval
// and prints only the text it has not printed yet. Before the container exists the API answers 409
// NotFinished: that is waited out, not an error.
import { TERMINAL_STATES, type ApiClient, type JobStatus } from './api-client';
import { CliError } from './exit-codes';
import { sleep } from './wait';

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
  const abort = new AbortController();
  let interrupted = false;
  void opts.interrupted?.then(() => {
    interrupted = true;
    abort.abort();
  });
  const read = async (follow: boolean): Promise<void> => {
    const fromTail = first && opts.tail !== undefined;
    try {
      const res = await client.request(path, {
        query: { follow: follow ? 'true' : undefined, tail: fromTail ? opts.tail : undefined },
        headers: { accept: 'text/plain' },
        timeoutMs: follow ? 0 : undefined,
        signal: abort.signal,
      });
      first = false;
      let text = '';
      if (!res.body) return;
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
        const add = cursor.next(text, fromTail);
        if (add) opts.write(add);
      }
      text += decoder.decode();
      const add = cursor.next(text, fromTail);
      if (add) opts.write(add);
    } catch (e) {
      if (interrupted) return;
      // No log yet (queued, or a group not created) or none archived: the status decides the end.
      if (e instanceof CliError && (e.apiError?.code === 'NotFinished' || e.apiError?.code === 'NotFound')) return;
      throw e;
    }
  };
  for (;;) {
    await read(true);
    if (interrupted) return 'interrupted';
    const s = await client.status(id);
    if (TERMINAL_STATES.includes(s.state)) {
      // The archived copy is complete: print whatever the last live read had not seen.
      await read(false);
      return interrupted ? 'interrupted' : s;
    }
    await Promise.race([sleep(opts.intervalMs), opts.interrupted ?? new Promise(() => undefined)]);
    if (interrupted) return 'interrupted';
  }
}
