// Callbacks to the controller (CALLBACK_URL, bearer job token). `ready` announces the agent once it
// listens (retried with backoff until a deadline). Progress is throttled, latest wins, one try each.
// The final callback is retried with exponential backoff and jitter within a bounded number of tries
// and time. An answer `{"cancel": true}` to any of them is the controller's order to stop the job.
// Nothing here changes the job's state: /status stays the source of truth.
import type { CallbackTuning, StartupTuning } from './config';
import { backoffDelayMs, isCancelAnswer, sendRequest, sleep } from './http-client';
import type { JobError, JobEvent, JobState } from './job-runner';
import type { Logger } from './log';
import { errorMessage } from './errors';

export { backoffDelayMs } from './http-client';

export type CallbackType = 'ready' | 'progress' | 'completed' | 'failed' | 'canceled';

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
  /** Extra fields of some types (ready: address, startMode…; final: summary, uploads). */
  [extra: string]: unknown;
}

export interface PostResult {
  status: number;
  retryAfterMs: number | undefined;
  body?: unknown;
}

/** One POST with a hard timeout covering connect, send and the whole response. */
export function postJson(url: URL, token: string, body: unknown, timeoutMs: number): Promise<PostResult> {
  return sendRequest(url, { method: 'POST', token, timeoutMs, json: body });
}

/** 2xx is delivered; 408, 429 and 5xx are worth another try; other 4xx never will be. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export class CallbackSender {
  private seq = 0;
  private pending: CallbackPayload | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private lastSentAt = 0;
  private finalSent: Promise<boolean> | undefined;
  private cancelListener: (() => void) | undefined;
  private readyWanted = true;
  /** Aborted by close(): ends the ready loop's waits. */
  private readonly closing = new AbortController();

  constructor(
    private readonly url: URL,
    private readonly token: string,
    private readonly tuning: CallbackTuning,
    private readonly log: Logger,
  ) {}

  /** Called (once per order) when the controller answers a callback with `{"cancel": true}`. */
  onCancelOrder(listener: () => void): void {
    this.cancelListener = listener;
  }

  /** When the last progress (or ready) callback went out, for the heartbeat. */
  get lastActivityAt(): number {
    return this.lastSentAt;
  }

  /** A job has started: the controller knows the agent is up, so an undelivered ready is moot. */
  stopReady(): void {
    this.readyWanted = false;
  }

  /** Ends waits of the ready loop (shutdown). The final callback has its own bound (flush). */
  close(): void {
    this.closing.abort();
  }

  /**
   * Announces the agent. Retried on network errors, timeouts, 408, 429 and 5xx with backoff (honouring
   * Retry-After) until `startup.readyDeadlineMs` after the call, a job start, or close(). Resolves true
   * once delivered, false otherwise; never rejects. Never blocks anything: the caller does not await it.
   */
  async ready(fields: Partial<CallbackPayload> & { jobId?: string }, startup: StartupTuning): Promise<boolean> {
    const deadline = Date.now() + startup.readyDeadlineMs;
    const body = {
      ...(fields.jobId !== undefined ? { jobId: fields.jobId } : {}),
      type: 'ready',
      state: 'idle',
      progress: 0,
      message: 'listening',
      at: new Date().toISOString(),
      ...fields,
      seq: ++this.seq,
    };
    this.lastSentAt = Date.now();
    for (let attempt = 0; this.readyWanted && !this.closing.signal.aborted; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const r = await sendRequest(this.url, {
          method: 'POST',
          token: this.token,
          timeoutMs: Math.max(100, Math.min(this.tuning.requestTimeoutMs, deadline - Date.now())),
          json: body,
          signal: this.closing.signal,
        });
        this.checkCancel(r.body);
        if (r.status >= 200 && r.status < 300) {
          this.log.info('ready callback delivered', { attempt: attempt + 1 });
          return true;
        }
        if (!isRetryableStatus(r.status)) {
          // A controller that does not know `ready` (400) still starts the job through its own wait.
          this.log.warn('ready callback refused; not retrying', { status: r.status, attempt: attempt + 1 });
          return false;
        }
        retryAfterMs = r.retryAfterMs;
        this.log.warn('ready callback attempt failed', { status: r.status, attempt: attempt + 1 });
      } catch (err) {
        if (this.closing.signal.aborted) break;
        this.log.warn('ready callback attempt failed', { reason: errorMessage(err), attempt: attempt + 1 });
      }
      const delay = Math.min(startup.maxDelayMs, Math.max(backoffDelayMs(attempt, startup), retryAfterMs ?? 0));
      if (Date.now() + delay > deadline) {
        this.log.warn('ready callback not delivered before its deadline; the controller falls back to its own wait', {
          attempts: attempt + 1,
        });
        return false;
      }
      if (!(await sleep(delay, this.closing.signal))) break;
    }
    return false;
  }

  private checkCancel(answer: unknown): void {
    if (!isCancelAnswer(answer) || !this.cancelListener) return;
    this.log.info('the controller asked to cancel (callback answer)');
    this.cancelListener();
  }

  /**
   * Subscribes to the job's events: progress → throttled, final → retried. `beforeFinal` runs once
   * before the final callback's first try (pull mode: the uploads) and adds fields to it.
   */
  handle(event: JobEvent, beforeFinal?: () => Promise<Record<string, unknown>>): void {
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
    else void this.final(payload, beforeFinal);
  }

  progress(payload: CallbackPayload): void {
    if (this.finalSent) return;
    this.pending = payload;
    this.schedule();
  }

  /** Resolves true once delivered, false when given up; never rejects. */
  final(payload: CallbackPayload, beforeFinal?: () => Promise<Record<string, unknown>>): Promise<boolean> {
    if (this.finalSent) return this.finalSent;
    this.readyWanted = false;
    this.pending = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.finalSent = this.deliverFinal(payload, beforeFinal);
    return this.finalSent;
  }

  /** Resolves with the final callback's fate (undefined before there is one). */
  get finalOutcome(): Promise<boolean> | undefined {
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
      this.checkCancel(r.body);
      if (r.status < 200 || r.status >= 300)
        this.log.warn('progress callback refused', { status: r.status, seq: body.seq });
    } catch (err) {
      this.log.warn('progress callback failed', { reason: errorMessage(err), seq: body.seq });
    }
  }

  private async deliverFinal(
    payload: CallbackPayload,
    beforeFinal?: () => Promise<Record<string, unknown>>,
  ): Promise<boolean> {
    // Let a progress callback already on the wire land first, so the final one is also the last.
    await this.inFlight;
    let extra: Record<string, unknown> = {};
    try {
      extra = (await beforeFinal?.()) ?? {};
    } catch (err) {
      this.log.error('preparing the final callback failed; sending it without its extra fields', { err });
    }
    const body = { ...payload, ...extra, seq: ++this.seq };
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
