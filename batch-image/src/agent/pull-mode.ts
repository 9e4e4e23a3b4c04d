// Pull mode (AGENT_START_MODE=pull), for a container group nobody can call: no public IP (ACI Spot),
// or a tenant with no inbound port at all. The agent asks the controller for its start message
// (POST CALLBACK_URL/start) until it gets one or a deadline passes, and after the job it uploads what
// the controller would otherwise GET from it (PUT CALLBACK_URL/result, PUT CALLBACK_URL/artifacts/<name>)
// before the final callback. The controller's side of this contract is in batch-image/README.md.
import { listArtifacts, findArtifact, type Artifact } from './artifacts';
import { isRetryableStatus } from './callbacks';
import type { AgentConfig } from './config';
import { errorMessage } from './errors';
import { appendPath, backoffDelayMs, isCancelAnswer, sendRequest, sleep, type SendOptions } from './http-client';
import type { JobRunner } from './job-runner';
import type { Logger } from './log';

export type PullOutcome =
  /** The controller's start body (the same JSON POST /start takes). */
  | { kind: 'start'; body: unknown; attempts: number }
  /** The controller answered `{"cancel": true}`: the job is over before it started. */
  | { kind: 'cancel' }
  /** A job started some other way (a POST /start that got through) while pulling. */
  | { kind: 'started' }
  /** A 200 whose body is no start: over AGENT_MAX_BODY_BYTES or not JSON. The job fails with `code`. */
  | { kind: 'bad-start'; code: 'PayloadTooLarge' | 'InvalidJson'; message: string }
  /** Refused (a 4xx other than 408/429) or the deadline passed. */
  | { kind: 'gave-up'; reason: string }
  /** The agent is shutting down. */
  | { kind: 'aborted' };

/**
 * Asks for the start until the controller gives it. 200 with a JSON object body → the start (or a
 * cancel order); 202/204 (or a 200 without a body) → "not yet", ask again; network errors, timeouts,
 * 408, 429 and 5xx → ask again; other 4xx → give up. Backoff: startup tuning, Retry-After honoured.
 */
export async function pullStart(opts: {
  config: AgentConfig;
  runner: JobRunner;
  log: Logger;
  signal: AbortSignal;
  address: { host: string; port: number };
}): Promise<PullOutcome> {
  const { config, log, signal } = opts;
  const url = appendPath(config.callbackUrl!, '/start');
  const { startup } = config;
  const deadline = Date.now() + startup.pullDeadlineMs;
  for (let attempt = 0; ; attempt++) {
    if (signal.aborted) return { kind: 'aborted' };
    if (opts.runner.snapshot().jobId !== null) return { kind: 'started' };
    let retryAfterMs: number | undefined;
    try {
      const r = await sendRequest(url, {
        method: 'POST',
        token: config.jobToken,
        timeoutMs: config.callback.requestTimeoutMs,
        json: {
          jobId: config.jobId,
          type: 'start-request',
          at: new Date().toISOString(),
          attempt: attempt + 1,
          address: opts.address,
          ...(config.task ? { taskIndex: config.task.index, taskCount: config.task.count } : {}),
        },
        // The start carries the job's input: allow what POST /start would.
        maxAnswerBytes: config.maxBodyBytes,
        signal,
      });
      if (isCancelAnswer(r.body)) return { kind: 'cancel' };
      if (r.status === 200 && r.unreadBody === 'too-large') {
        const message = `the start body exceeds AGENT_MAX_BODY_BYTES (${config.maxBodyBytes} bytes)`;
        return { kind: 'bad-start', code: 'PayloadTooLarge', message };
      }
      if (r.status === 200 && r.unreadBody === 'not-json') {
        return { kind: 'bad-start', code: 'InvalidJson', message: 'the start body is not valid JSON' };
      }
      if (r.status === 200 && typeof r.body === 'object' && r.body !== null) {
        log.info('start received', { attempt: attempt + 1 });
        return { kind: 'start', body: r.body, attempts: attempt + 1 };
      }
      if (r.status >= 400 && !isRetryableStatus(r.status)) {
        return { kind: 'gave-up', reason: `the controller refused the start request with ${r.status}` };
      }
      retryAfterMs = r.retryAfterMs;
      if (r.status >= 400) log.warn('start request failed', { status: r.status, attempt: attempt + 1 });
      else log.debug('start not available yet', { status: r.status, attempt: attempt + 1 });
    } catch (err) {
      if (signal.aborted) return { kind: 'aborted' };
      log.warn('start request failed', { reason: errorMessage(err), attempt: attempt + 1 });
    }
    const delay = Math.min(startup.maxDelayMs, Math.max(backoffDelayMs(attempt, startup), retryAfterMs ?? 0));
    if (Date.now() + delay > deadline) {
      return { kind: 'gave-up', reason: `no start within AGENT_PULL_DEADLINE_MS (${startup.pullDeadlineMs} ms)` };
    }
    if (!(await sleep(delay, signal))) return { kind: 'aborted' };
  }
}

export interface UploadReport {
  /** PUT CALLBACK_URL/result accepted. */
  result: boolean;
  /** The first MAX_LISTED_ARTIFACTS artifacts (the final callback must stay small: the controller caps it). */
  artifacts: (Artifact & { uploaded: boolean })[];
  artifactCount: number;
  uploadedCount: number;
}

/** How many artifacts the final callback lists by name (about 100 bytes each, well under a 64 KiB body). */
export const MAX_LISTED_ARTIFACTS = 100;

/**
 * Uploads the job's /result body and then each artifact, each retried like the final callback
 * (network errors, timeouts, 408, 429, 5xx; AGENT_CALLBACK_ATTEMPTS tries) within one budget
 * (AGENT_UPLOAD_BUDGET_MS); never rejects. What could not be uploaded is reported as such in the
 * final callback (`uploads`).
 */
export async function uploadResults(opts: {
  config: AgentConfig;
  resultBody: unknown;
  log: Logger;
  signal?: AbortSignal;
}): Promise<UploadReport> {
  const { config, log } = opts;
  const base = config.callbackUrl!;
  const budgetEnd = Date.now() + config.startup.uploadBudgetMs;
  const put = async (what: string, url: URL, body: Pick<SendOptions, 'json' | 'file'>): Promise<boolean> => {
    if (Date.now() >= budgetEnd) {
      log.error('upload skipped: AGENT_UPLOAD_BUDGET_MS is spent', { what });
      return false;
    }
    for (let attempt = 0; attempt < config.callback.finalAttempts; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const r = await sendRequest(url, {
          method: 'PUT',
          token: config.jobToken,
          timeoutMs: config.startup.uploadTimeoutMs,
          ...body,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        if (r.status >= 200 && r.status < 300) return true;
        if (!isRetryableStatus(r.status)) {
          log.error('upload refused; not retrying', { what, status: r.status });
          return false;
        }
        retryAfterMs = r.retryAfterMs;
        log.warn('upload attempt failed', { what, status: r.status, attempt: attempt + 1 });
      } catch (err) {
        log.warn('upload attempt failed', { what, reason: errorMessage(err), attempt: attempt + 1 });
      }
      const delay = Math.min(
        config.callback.maxDelayMs,
        Math.max(backoffDelayMs(attempt, config.callback), retryAfterMs ?? 0),
      );
      if (attempt + 1 >= config.callback.finalAttempts || Date.now() + delay > budgetEnd) break;
      if (!(await sleep(delay, opts.signal))) break;
    }
    log.error('upload not delivered', { what });
    return false;
  };

  const result = await put('result', appendPath(base, '/result'), { json: opts.resultBody });
  const artifacts: UploadReport['artifacts'] = [];
  let uploadedCount = 0;
  const all = listArtifacts(config.resultDir);
  for (const a of all) {
    const found = findArtifact(config.resultDir, a.name);
    const uploaded = found
      ? await put(`artifact ${a.name}`, appendPath(base, `/artifacts/${encodeURIComponent(a.name)}`), {
          file: { path: found.path, contentType: found.contentType, bytes: found.bytes },
        })
      : false;
    if (uploaded) uploadedCount++;
    if (artifacts.length < MAX_LISTED_ARTIFACTS) artifacts.push({ ...a, uploaded });
  }
  log.info('uploads done', { result, artifacts: all.length, uploaded: uploadedCount });
  return { result, artifacts, artifactCount: all.length, uploadedCount };
}
