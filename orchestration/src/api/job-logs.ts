// GET …/jobs/{id}/logs: the container's log — live while the group exists, then the archived copy.
// `?tail=N` gives the last N lines. `?follow=true` is a long poll, because the Functions host
// answers with whole bodies unless the app enables HTTP streams (which the local host refuses):
// it waits until the log grows past `since` (a byte offset) or the job ends, up to a deadline, and
// answers the new text with `X-Log-Offset` (pass it as the next `since`) and `X-Job-State`.
import { blobNames, isTerminalState, type JobInput, type JobStatus } from '../contracts';
import { notFinished, notFound, validationFailed, type FieldProblem } from '../errors';
import type { JobsBackend, ResultsStore } from '../ports';
import type { ApiRequest, ApiResponse } from './http';

export interface JobLogsDeps {
  results: ResultsStore;
  liveLogs(groupName: string): Promise<string | undefined>;
  load(req: ApiRequest, jobs: JobsBackend): Promise<{ tenant: { id: string }; status: JobStatus; input: JobInput }>;
  /** How long one follow request waits for new text (the client then asks again). */
  followWaitMs: number;
  /** How often it looks meanwhile. */
  followPollMs: number;
}

export const LOG_HEADERS = { offset: 'X-Log-Offset', state: 'X-Job-State' } as const;

/** Byte offset at which the last n lines of text start (a final newline does not start a line). */
export function tailOffset(text: Buffer, n: number): number {
  let end = text.length;
  if (end > 0 && text[end - 1] === 0x0a) end--;
  let seen = 0;
  for (let i = end - 1; i >= 0; i--) if (text[i] === 0x0a && ++seen === n) return i + 1;
  return 0;
}

export function createJobLogs(deps: JobLogsDeps): (req: ApiRequest, jobs: JobsBackend) => Promise<ApiResponse> {
  async function read(tenant: string, status: JobStatus, input: JobInput): Promise<string | undefined> {
    const archived = await deps.results.get(blobNames(tenant, input.jobId).logs);
    if (archived) return archived.body.toString('utf8');
    if (!isTerminalState(status.state) && status.container.state !== 'none')
      return deps.liveLogs(input.groupName).catch(() => undefined);
    return undefined;
  }

  return async function logs(req, jobs) {
    const problems: FieldProblem[] = [];
    const int = (name: string, min: number, max: number): number | undefined => {
      const v = req.query.get(name);
      if (v === null) return undefined;
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < min || n > max)
        problems.push({ field: name, message: `must be a whole number from ${min} to ${max}` });
      return n;
    };
    const tail = int('tail', 1, 1_000_000);
    const since = int('since', 0, Number.MAX_SAFE_INTEGER);
    const followText = req.query.get('follow');
    if (followText !== null && followText !== 'true' && followText !== 'false')
      problems.push({ field: 'follow', message: 'must be true or false' });
    const follow = followText === 'true';
    if (since !== undefined && !follow) problems.push({ field: 'since', message: 'only with follow=true' });
    if (problems.length) throw validationFailed(problems);

    const deadline = Date.now() + (follow ? deps.followWaitMs : 0);
    for (;;) {
      const { tenant, status, input } = await deps.load(req, jobs);
      const text = await read(tenant.id, status, input);
      const done = isTerminalState(status.state);
      if (!follow) {
        if (text === undefined) {
          if (!done) throw notFinished(status.state);
          throw notFound('log (none was archived for this job)');
        }
      }
      const bytes = Buffer.from(text ?? '', 'utf8');
      const start = Math.min(bytes.length, since ?? (tail !== undefined ? tailOffset(bytes, tail) : 0));
      if (!follow || bytes.length > start || done || Date.now() >= deadline)
        return {
          status: 200,
          headers: {
            'Content-Type': 'text/plain; charset=utf-8',
            'Cache-Control': 'no-store',
            [LOG_HEADERS.offset]: String(bytes.length),
            [LOG_HEADERS.state]: status.state,
          },
          body: bytes.subarray(start).toString('utf8'),
        };
      await new Promise((r) => setTimeout(r, Math.min(deps.followPollMs, Math.max(0, deadline - Date.now()))));
    }
  };
}
