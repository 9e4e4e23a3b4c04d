// Callbacks to the controller (CALLBACK_URL, bearer job token). Progress is throttled, latest wins,
// one try each. The final callback is retried with exponential backoff and jitter within a bounded
// number of tries and time. Nothing here changes the job's state: /status stays the source of truth.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { CallbackTuning } from './config';
import type { JobError, JobEvent, JobState } from './job-runner';
import type { Logger } from './log';
import { errorMessage } from './errors';

export type CallbackType = 'progress' | 'completed' | 'failed' | 'canceled';

export interface CallbackPayload {
  jobId: string;
  type: CallbackType;
  state: JobState;
  progress: number;
  message: string;
  at: string;
  /** Increases with every callback this agent sends: lets the receiver drop out-of-order ones. */
  seq: number;
  exitCode?: number;
  error?: JobError;
}

export interface PostResult {
  status: number;
  retryAfterMs: number | undefined;
}

/** One POST with a hard timeout covering connect, send and the whole response. */
export function postJson(url: URL, token: string, body: unknown, timeoutMs: number): Promise<PostResult> {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': String(payload.length),
          Authorization: `Bearer ${token}`,
          'User-Agent': 'aci-batch-agent',
        },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (res) => {
        res.resume(); // the answer's body is not needed; drain it so the socket is released
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, retryAfterMs: parseRetryAfter(res.headers['retry-after']) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** 2xx is delivered; 408, 429 and 5xx are worth another try; other 4xx never will be. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random. */
export function backoffDelayMs(
  attempt: number,
  tuning: Pick<CallbackTuning, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(tuning.maxDelayMs, tuning.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class CallbackSender {
  private seq = 0;
  private pending: CallbackPayload | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private lastSentAt = 0;
  private finalSent: Promise<boolean> | undefined;

  constructor(
    private readonly url: URL,
    private readonly token: string,
    private readonly tuning: CallbackTuning,
    private readonly log: Logger,
  ) {}

  /** Subscribes to the job's events: progress → throttled, final → retried. */
  handle(event: JobEvent): void {
    const s = event.status;
    if (s.jobId === null) return;
    const payload: CallbackPayload = {
      jobId: s.jobId,
      type: event.type,
      state: s.state,
      progress: s.progress,
      message: s.message,
      at: new Date().toISOString(),
      seq: 0,
      ...(s.exitCode !== undefined ? { exitCode: s.exitCode } : {}),
      ...(s.error ? { error: s.error } : {}),
    };
    if (event.type === 'progress') this.progress(payload);
    else void this.final(payload);
  }

  progress(payload: CallbackPayload): void {
    if (this.finalSent) return;
    this.pending = payload;
    this.schedule();
  }

  /** Resolves true once delivered, false when given up; never rejects. */
  final(payload: CallbackPayload): Promise<boolean> {
    if (this.finalSent) return this.finalSent;
    this.pending = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.finalSent = this.deliverFinal(payload);
    return this.finalSent;
  }

  /** Waits for the final callback, at most `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    if (!this.finalSent) return;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.finalSent, new Promise<void>((r) => (t = setTimeout(r, timeoutMs)))]);
    clearTimeout(t);
  }

  private schedule(): void {
    if (this.timer || this.inFlight || !this.pending) return;
    const wait = Math.max(0, this.lastSentAt + this.tuning.progressIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const payload = this.pending;
      this.pending = undefined;
      if (!payload || this.finalSent) return;
      this.lastSentAt = Date.now();
      this.inFlight = this.sendProgress(payload).finally(() => {
        this.inFlight = undefined;
        this.schedule();
      });
    }, wait);
  }

  private async sendProgress(payload: CallbackPayload): Promise<void> {
    const body = { ...payload, seq: ++this.seq };
    try {
      const r = await postJson(this.url, this.token, body, this.tuning.requestTimeoutMs);
      if (r.status < 200 || r.status >= 300)
        this.log.warn('progress callback refused', { status: r.status, seq: body.seq });
    } catch (err) {
      this.log.warn('progress callback failed', { reason: errorMessage(err), seq: body.seq });
    }
  }

  private async deliverFinal(payload: CallbackPayload): Promise<boolean> {
    // Let a progress callback already on the wire land first, so the final one is also the last.
    await this.inFlight;
    const body = { ...payload, seq: ++this.seq };
    const started = Date.now();
    for (let attempt = 0; attempt < this.tuning.finalAttempts; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const r = await postJson(this.url, this.token, body, this.tuning.requestTimeoutMs);
        if (r.status >= 200 && r.status < 300) {
          this.log.info('final callback delivered', { type: body.type, attempt: attempt + 1 });
          return true;
        }
        if (!isRetryableStatus(r.status)) {
          this.log.error('final callback refused; not retrying', {
            type: body.type,
            status: r.status,
            attempt: attempt + 1,
          });
          return false;
        }
        retryAfterMs = r.retryAfterMs;
        this.log.warn('final callback attempt failed', { type: body.type, status: r.status, attempt: attempt + 1 });
      } catch (err) {
        this.log.warn('final callback attempt failed', {
          type: body.type,
          reason: errorMessage(err),
          attempt: attempt + 1,
        });
      }
      if (attempt + 1 >= this.tuning.finalAttempts) break;
      const delay = Math.min(this.tuning.maxDelayMs, Math.max(backoffDelayMs(attempt, this.tuning), retryAfterMs ?? 0));
      if (Date.now() - started + delay > this.tuning.totalBudgetMs) break;
      await sleep(delay);
    }
    this.log.error('final callback not delivered; the job state remains available on GET /status', { type: body.type });
    return false;
  }
}
