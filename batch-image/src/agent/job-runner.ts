// The job's state machine: idle → running → succeeded | failed | canceled. One agent runs one job.
// The state lives here and only here, so /status answers the truth whether or not any callback
// got through. The work itself (the model or a tenant's command) is a `Work` plugged in at start.
import { EventEmitter } from 'node:events';
import { agentBusy, alreadyFinished, errorMessage, isAbortError, notRunning } from './errors';

export type JobState = 'idle' | 'running' | 'succeeded' | 'failed' | 'canceled';
export type JobMode = 'model' | 'command';
export const TERMINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'canceled'];

export interface JobError {
  code: string;
  message: string;
}

export interface JobStatus {
  jobId: string | null;
  mode: JobMode | null;
  state: JobState;
  progress: number;
  message: string;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode?: number;
  error?: JobError;
}

/** Why a job is being stopped; it is also the AbortSignal's reason, hence the AbortError name. */
export class CancelRequest extends Error {
  override readonly name = 'AbortError';
  constructor(
    readonly code: 'Canceled' | 'AgentShutdown',
    message: string,
    /** For a process: how long after SIGTERM before SIGKILL. */
    readonly graceMs: number,
  ) {
    super(message);
  }
}

export interface WorkContext {
  signal: AbortSignal;
  /** fraction in 0..1 (clamped, never goes backwards); either may be omitted. */
  onProgress(fraction: number | undefined, message?: string): void;
}

export interface WorkOutcome {
  ok: boolean;
  message: string;
  result: unknown;
  exitCode?: number;
  error?: JobError;
}

export interface Work {
  run(ctx: WorkContext): Promise<WorkOutcome>;
}

export type JobEvent =
  { type: 'progress'; status: JobStatus } | { type: 'completed' | 'failed' | 'canceled'; status: JobStatus };

/** Messages (status, callbacks) are cut here: an error text of any size must not bloat them. */
const MAX_MESSAGE = 1000;
/** Extra time, after the kill grace period, before a cancel is declared done even if the work hangs. */
const CANCEL_SETTLE_MARGIN_MS = 2_000;

export class JobRunner {
  private status: JobStatus = {
    jobId: null,
    mode: null,
    state: 'idle',
    progress: 0,
    message: 'waiting for POST /start',
    startedAt: null,
    finishedAt: null,
  };
  private jobResult: unknown = null;
  private abort: AbortController | undefined;
  private cancelRequest: CancelRequest | undefined;
  private settled: Promise<void> = Promise.resolve();
  private readonly events = new EventEmitter();

  constructor(private readonly now: () => Date = () => new Date()) {}

  snapshot(): JobStatus {
    return { ...this.status, ...(this.status.error ? { error: { ...this.status.error } } : {}) };
  }

  get result(): unknown {
    return this.jobResult;
  }

  isFinished(): boolean {
    return TERMINAL_STATES.includes(this.status.state);
  }

  onEvent(listener: (event: JobEvent) => void): void {
    this.events.on('event', listener);
  }

  /**
   * Starts the job unless one exists. Same jobId again → `false` (idempotent, nothing new started);
   * another jobId → AgentBusy. `makeWork` is called only when the job really starts.
   */
  start(jobId: string, mode: JobMode, makeWork: () => Work): boolean {
    if (this.status.jobId !== null) {
      if (this.status.jobId === jobId) return false;
      throw agentBusy(this.status.jobId);
    }
    this.status = {
      jobId,
      mode,
      state: 'running',
      progress: 0,
      message: 'started',
      startedAt: this.now().toISOString(),
      finishedAt: null,
    };
    const abort = new AbortController();
    this.abort = abort;
    const ctx: WorkContext = { signal: abort.signal, onProgress: (f, m) => this.progress(f, m) };
    this.settled = (async () => {
      try {
        const work = makeWork();
        this.finish(await work.run(ctx));
      } catch (err) {
        if (isAbortError(err) && this.cancelRequest) {
          this.finish({ ok: false, message: this.cancelRequest.message, result: null });
        } else {
          this.finish({
            ok: false,
            message: `failed: ${errorMessage(err)}`,
            result: null,
            error: { code: 'WorkFailed', message: errorMessage(err) },
          });
        }
      }
    })();
    return true;
  }

  /** Asks the running work to stop. The state becomes `canceled` when it has stopped (bounded). */
  cancel(request: CancelRequest): JobStatus {
    if (this.status.state === 'idle') throw notRunning();
    if (this.isFinished()) throw alreadyFinished(this.status.state);
    if (!this.cancelRequest) {
      this.cancelRequest = request;
      this.status.message = `canceling: ${request.message}`;
      this.abort?.abort(request);
      // A model that ignores its signal must not keep the job "running" forever.
      const guard = setTimeout(() => {
        this.finish({ ok: false, message: `${request.message} (the work did not stop in time)`, result: null });
      }, request.graceMs + CANCEL_SETTLE_MARGIN_MS);
      guard.unref();
      void this.settled.finally(() => clearTimeout(guard));
    }
    return this.snapshot();
  }

  /** Resolves when the job has reached a final state (immediately when idle or finished). */
  whenSettled(): Promise<void> {
    return this.settled;
  }

  private progress(fraction: number | undefined, message: string | undefined): void {
    if (this.status.state !== 'running' || this.cancelRequest) return;
    if (typeof fraction === 'number' && Number.isFinite(fraction)) {
      this.status.progress = Math.max(this.status.progress, Math.min(1, Math.max(0, fraction)));
    }
    if (typeof message === 'string') this.status.message = message.slice(0, MAX_MESSAGE);
    this.events.emit('event', { type: 'progress', status: this.snapshot() } satisfies JobEvent);
  }

  private finish(outcome: WorkOutcome): void {
    if (this.isFinished()) return; // the cancel guard already ended it
    const canceled = this.cancelRequest;
    const state: JobState = canceled ? 'canceled' : outcome.ok ? 'succeeded' : 'failed';
    this.jobResult = outcome.result;
    this.status = {
      ...this.status,
      state,
      progress: state === 'succeeded' ? 1 : this.status.progress,
      message: (canceled ? canceled.message : outcome.message).slice(0, MAX_MESSAGE),
      finishedAt: this.now().toISOString(),
      ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
    };
    delete this.status.error;
    const error = canceled
      ? { code: canceled.code, message: canceled.message }
      : outcome.ok
        ? undefined
        : (outcome.error ?? { code: 'WorkFailed', message: outcome.message });
    if (error) this.status.error = { code: error.code, message: error.message.slice(0, MAX_MESSAGE) };
    const type = state === 'succeeded' ? 'completed' : state;
    this.events.emit('event', { type, status: this.snapshot() } as JobEvent);
  }
}
