// What every phase of the job orchestrator shares within one generation: the run state, the typed
// activity helper (the only way workflows call activities), waits that race a timer against cancel
// and callback events, and the state transitions (enter a phase, finish, fail an attempt).
// Deterministic: time comes from currentUtcDateTime; logs only when not replaying.
import {
  EVENTS,
  JOB_ERROR_CODES,
  type ActivityInput,
  type ActivityName,
  type ActivityOutput,
  type JobError,
  type JobState,
  type Phase,
  type RetryPolicy,
} from '../contracts';
import { afterAttemptFailure, recordAttemptEnd } from './retry-decision';
import type { JobOutcome, JobRunState } from './run-state';

/** The parts of durable-functions' orchestration context this workflow uses (structural). */
export interface TaskLike {
  readonly isCompleted: boolean;
  readonly isFaulted: boolean;
  readonly result?: unknown;
}
export interface TimerLike extends TaskLike {
  cancel(): void;
}
export interface OrchestrationContextLike {
  df: {
    readonly instanceId: string;
    readonly isReplaying: boolean;
    readonly currentUtcDateTime: Date;
    Task: { any(tasks: TaskLike[]): TaskLike };
    callActivity(name: string, input?: unknown): TaskLike;
    callActivityWithRetry(name: string, retryOptions: never, input?: unknown): TaskLike;
    callSubOrchestrator(name: string, input?: unknown, instanceId?: string): TaskLike;
    createTimer(fireAt: Date): TimerLike;
    waitForExternalEvent(name: string): TaskLike;
    setCustomStatus(status: unknown): void;
    continueAsNew(input: unknown): void;
    getInput<T>(): T;
  };
}

export interface WorkflowDeps {
  /** Builds the library's RetryOptions (workflows may not import it). */
  retryOptions(policy: RetryPolicy): unknown;
  /** Called only when not replaying. */
  log(level: 'info' | 'warn', fields: Record<string, unknown>, msg: string): void;
}

export type Step<T = unknown> = Generator<TaskLike, T, unknown>;
export type WaitResult = 'timer' | 'cancel' | 'callback';
type Df = OrchestrationContextLike['df'];

/** The shared context of one generation (see the file comment). */
export class RunContext {
  /** Waits taken in this generation (continueAsNew after settings.stepsPerGeneration). */
  steps = 0;
  /** Set when this generation hands over to the next one. */
  continued = false;
  /** Created once per generation and raced at every wait (a pending task may join several races). */
  readonly cancelEvent: TaskLike;
  /** The pending callback event; replaced once one arrives. */
  wake: TaskLike;

  constructor(
    readonly df: Df,
    private readonly deps: WorkflowDeps,
    readonly s: JobRunState,
  ) {
    this.cancelEvent = df.waitForExternalEvent(EVENTS.cancel);
    this.wake = df.waitForExternalEvent(EVENTS.callback);
  }

  get spec() {
    return this.s.input.spec;
  }
  get settings() {
    return this.s.input.settings;
  }
  get ids() {
    return { tenant: this.s.input.tenant, jobId: this.s.input.jobId, instanceId: this.s.input.instanceId };
  }
  get groupRef() {
    return { tenant: this.s.input.tenant, jobId: this.s.input.jobId, groupName: this.s.input.groupName };
  }

  nowIso(): string {
    return this.df.currentUtcDateTime.toISOString();
  }
  later(seconds: number): Date {
    return new Date(this.df.currentUtcDateTime.getTime() + Math.max(0, seconds) * 1000);
  }
  /** `seconds`, but not past the deadline. */
  untilDeadline(deadline: string | null, seconds: number): number {
    if (deadline === null) return seconds;
    return Math.min(seconds, Math.max(0, (Date.parse(deadline) - this.df.currentUtcDateTime.getTime()) / 1000));
  }

  log(level: 'info' | 'warn', fields: Record<string, unknown>, msg: string): void {
    if (!this.df.isReplaying) this.deps.log(level, { ...this.ids, ...fields }, msg);
  }
  publish(): void {
    this.df.setCustomStatus(this.s.status);
  }

  /**
   * The one way to call an activity: input and output typed by the ActivityMap. With a retry policy
   * (the default: ARM retries) the call is retried durably; with `null` it runs once.
   */
  *activity<K extends ActivityName>(
    name: K,
    input: ActivityInput<K>,
    retry: RetryPolicy | null = this.settings.armRetry,
  ): Step<ActivityOutput<K>> {
    const task =
      retry === null
        ? this.df.callActivity(name, input)
        : this.df.callActivityWithRetry(name, this.deps.retryOptions(retry) as never, input);
    return (yield task) as ActivityOutput<K>;
  }

  /** Waits until the timer, a cancel, or (optionally) an agent callback. Cancels the losing timer. */
  *wait(seconds: number, withCallback: boolean): Step<WaitResult> {
    const why = yield* this.race(seconds, withCallback ? this.wake : undefined);
    return why === 'event' ? 'callback' : why;
  }

  /** Races a timer against the cancel event and `event`; the losing timer is cancelled. */
  private *race(seconds: number, event?: TaskLike): Step<'timer' | 'cancel' | 'event'> {
    const timer = this.df.createTimer(this.later(seconds));
    const winner = yield this.df.Task.any(event ? [timer, this.cancelEvent, event] : [timer, this.cancelEvent]);
    if (winner !== timer) timer.cancel();
    if (winner === this.cancelEvent) return 'cancel';
    return winner === timer ? 'timer' : 'event';
  }

  /** Pending waits for named events (one per name; a new one once it was consumed). */
  private readonly pending = new Map<string, TaskLike>();

  /**
   * Waits until the named event, a cancel or the timer (a fallback: an event can be lost, e.g. at
   * a generation switch). Cancels the losing timer; the event's data is returned when it won.
   */
  *waitForEvent(name: string, seconds: number): Step<{ why: WaitResult | 'event'; data?: unknown }> {
    let event = this.pending.get(name);
    if (!event) this.pending.set(name, (event = this.df.waitForExternalEvent(name)));
    const why = yield* this.race(seconds, event);
    if (why !== 'event') return { why };
    this.pending.delete(name);
    return { why, data: event.result };
  }

  /** A wait during which only cancel matters; a cancel ends the job. */
  *pause(seconds: number): Step<void> {
    if ((yield* this.wait(seconds, false)) === 'cancel') this.canceled();
  }

  /** Counts a wait; true when this generation should hand over (continueAsNew). */
  countStep(): boolean {
    if (++this.steps >= this.settings.stepsPerGeneration) this.continued = true;
    return this.continued;
  }

  enter(phase: Phase, state: JobState, message: string): void {
    this.s.phase = phase;
    this.s.status.phase = phase;
    this.s.status.state = state;
    this.s.status.message = message;
    this.publish();
  }
  finish(outcome: JobOutcome): void {
    if (!this.s.outcome) this.s.outcome = outcome;
  }
  fail(error: JobError): void {
    this.finish({ state: 'failed', error });
  }
  canceled(): void {
    this.s.cancelRequested = true;
    this.finish({ state: 'canceled', error: { code: JOB_ERROR_CODES.canceled, message: 'Canceled on request.' } });
  }
  /**
   * An attempt failed: the retry decision (job-decisions.ts afterAttemptFailure) restarts it or fails
   * the job. Every failure path passes the container's exit code (null when none is known), so the
   * status and the exit-code rules see this attempt's, never a previous one's.
   */
  attemptFailed(error: JobError, exitCode: number | null): void {
    const failed = { reason: error.code, exitCode };
    this.s.status.container.exitCode = exitCode;
    recordAttemptEnd(this.s, failed);
    const d = afterAttemptFailure(this.s, failed, this.nowIso());
    if (d.kind === 'fail') {
      this.log('info', { code: error.code, exitCode, why: d.why }, 'attempt failed; not retried');
      return this.fail(error);
    }
    this.log(
      'warn',
      { code: error.code, exitCode, attempt: this.s.status.attempts, why: d.why },
      'attempt failed; retrying',
    );
    this.s.status.error = error;
    this.s.retryPlan = { backoffSeconds: d.backoffSeconds, memoryGb: d.memoryGb };
    const more = d.memoryGb > this.s.status.resources.memoryGb ? ` with ${d.memoryGb} GB` : '';
    this.enter(
      'restarting',
      this.s.status.state,
      `Attempt ${this.s.status.attempts} failed (${error.code}${exitCode === null ? '' : `, exit code ${exitCode}`}); retrying${more} (${d.why})`,
    );
  }
}
