// The job orchestrator (design.md steps 1–8): admission → image → create → readiness → start →
// monitor → (restart) → teardown. Deterministic: time from currentUtcDateTime, no I/O (activities
// do it), logs only when not replaying. One typed state object (JobRunState) is carried across
// continueAsNew generations, which keep history bounded during long queue waits and long runs;
// external events lost at a generation switch only delay detection, because cancel is also
// recorded durably (ledger flag / marker blob) and the poll is authoritative for progress and end.
import {
  ACTIVITIES,
  decodeJobError,
  EVENTS,
  JOB_ERROR_CODES,
  type ArchiveAnswer,
  type GroupView,
  type JobError,
  type JobInput,
  type JobOutcome,
  type JobRunState,
  type Observation,
  type Outcome,
  type RetryPolicy,
  type SlotAnswer,
} from '../contracts';
import {
  afterAttemptFailure,
  decideOnObservation,
  MAX_OBSERVE_FAILURES,
  decideReadiness,
  expiresAt,
  initialRunState,
  isPast,
  isRunState,
  readinessBackoff,
  recordProgress,
  secondsBetween,
  teardownAction,
  usageOf,
} from './job-decisions';

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

type Step = Generator<TaskLike, unknown, unknown>;

export function createJobOrchestrator(deps: WorkflowDeps) {
  return function* jobOrchestrator(context: OrchestrationContextLike): Step {
    const df = context.df;
    const raw = df.getInput<JobInput | JobRunState>();
    const nowIso = (): string => df.currentUtcDateTime.toISOString();
    const s: JobRunState = isRunState(raw) ? raw : initialRunState(raw, nowIso());
    s.generation += 1;
    const spec = s.input.spec;
    const settings = s.input.settings;
    const ids = { tenant: s.input.tenant, jobId: s.input.jobId, instanceId: s.input.instanceId };
    const groupRef = { tenant: s.input.tenant, jobId: s.input.jobId, groupName: s.input.groupName };
    const log = (level: 'info' | 'warn', fields: Record<string, unknown>, msg: string): void => {
      if (!df.isReplaying) deps.log(level, { ...ids, ...fields }, msg);
    };
    const publish = (): void => df.setCustomStatus(s.status);
    const later = (seconds: number): Date => new Date(df.currentUtcDateTime.getTime() + Math.max(0, seconds) * 1000);
    const untilDeadline = (deadline: string | null, seconds: number): number =>
      deadline === null
        ? seconds
        : Math.min(seconds, Math.max(0, (Date.parse(deadline) - df.currentUtcDateTime.getTime()) / 1000));

    function* call<T>(
      name: string,
      input: unknown,
      policy: RetryPolicy = settings.armRetry,
    ): Generator<TaskLike, T, unknown> {
      return (yield df.callActivityWithRetry(name, deps.retryOptions(policy) as never, input)) as T;
    }

    // Created once per generation and raced at every wait (a pending task may join several races).
    const cancelEvent = df.waitForExternalEvent(EVENTS.cancel);
    let wake = df.waitForExternalEvent(EVENTS.callback);

    /** Waits until the timer, a cancel, or (optionally) an agent callback. Cancels the losing timer. */
    function* wait(
      seconds: number,
      withCallback: boolean,
    ): Generator<TaskLike, 'timer' | 'cancel' | 'callback', unknown> {
      const timer = df.createTimer(later(seconds));
      const winner = yield df.Task.any(withCallback ? [timer, cancelEvent, wake] : [timer, cancelEvent]);
      if (winner !== timer) timer.cancel();
      if (winner === cancelEvent) return 'cancel';
      if (winner === wake) return 'callback';
      return 'timer';
    }

    const finish = (outcome: JobOutcome): void => {
      if (!s.outcome) s.outcome = outcome;
    };
    const fail = (error: JobError): void => finish({ state: 'failed', error });
    const canceled = (): void => {
      s.cancelRequested = true;
      finish({ state: 'canceled', error: { code: JOB_ERROR_CODES.canceled, message: 'Canceled on request.' } });
    };
    const attemptFailed = (error: JobError): void => {
      if (afterAttemptFailure(s, nowIso()) === 'restart') {
        log('warn', { code: error.code, attempt: s.status.attempts }, 'attempt failed; restarting');
        s.status.error = error;
        enter('restarting', s.status.state, `Attempt ${s.status.attempts} failed (${error.code}); restarting`);
      } else fail(error);
    };
    const enter = (phase: JobRunState['phase'], state: JobRunState['status']['state'], message: string): void => {
      s.phase = phase;
      s.status.phase = phase;
      s.status.state = state;
      s.status.message = message;
      publish();
    };

    let steps = 0;
    let continued = false;

    publish();
    try {
      while (!s.outcome && !continued) {
        if (cancelEvent.isCompleted) {
          canceled();
          break;
        }
        switch (s.phase) {
          case 'admission': {
            const answer = yield* call<SlotAnswer>(ACTIVITIES.acquireSlot, {
              ...ids,
              cores: spec.cpu,
              memoryGb: spec.memoryGb,
            });
            if (answer.granted) {
              log('info', {}, 'slot granted');
              enter('resolving', 'provisioning', 'Resolving the image');
              break;
            }
            if (answer.reason === 'canceled') {
              canceled();
              break;
            }
            if (answer.reason !== 'waiting') {
              fail({
                code: JOB_ERROR_CODES.internal,
                message: 'The job lost its queue entry (the sweeper found its orchestration unknown).',
              });
              break;
            }
            if (isPast(nowIso(), s.queueDeadline)) {
              fail({
                code: JOB_ERROR_CODES.queueTimeout,
                message: `No slot within ${settings.queueTimeoutMinutes} minutes.`,
              });
              break;
            }
            const msg =
              answer.blockedBy === 'queue'
                ? `Queued: ${answer.position} job(s) ahead`
                : answer.blockedBy === 'tenant'
                  ? 'Queued: the tenant is at maxConcurrentJobs'
                  : 'Queued: waiting for regional ACI capacity (global cap)';
            if (msg !== s.status.message) {
              s.status.message = msg;
              publish();
            }
            if (++steps >= settings.stepsPerGeneration) {
              continued = true;
              break;
            }
            if ((yield* wait(untilDeadline(s.queueDeadline, settings.admissionPollSeconds), false)) === 'cancel')
              canceled();
            break;
          }

          case 'resolving': {
            const r = yield* call<Outcome<{ imageRef: string; digest: string }>>(ACTIVITIES.resolveImage, {
              tenant: s.input.tenant,
              repository: spec.image.repository,
              ...(spec.image.tag ? { tag: spec.image.tag } : {}),
              ...(spec.image.digest ? { digest: spec.image.digest } : {}),
            });
            if (!r.ok) {
              fail(r.error);
              break;
            }
            s.imageRef = r.value.imageRef;
            s.status.image.digest = r.value.digest;
            s.phase = 'creating';
            break;
          }

          case 'creating': {
            s.status.attempts += 1;
            s.status.container.state = 'creating';
            enter('creating', 'provisioning', `Creating the container group (attempt ${s.status.attempts})`);
            let r: Outcome<null>;
            try {
              r = yield* call<Outcome<null>>(
                ACTIVITIES.createGroup,
                {
                  ...ids,
                  groupName: s.input.groupName,
                  location: s.input.location,
                  imageRef: s.imageRef,
                  cpu: spec.cpu,
                  memoryGb: spec.memoryGb,
                  ...(spec.gpu ? { gpu: spec.gpu } : {}),
                  env: spec.env,
                  ...(spec.sealedSecureEnv ? { sealedSecureEnv: spec.sealedSecureEnv } : {}),
                  priority: spec.priority,
                  expiresAt: expiresAt(s, nowIso()),
                },
                settings.capacityRetry,
              );
            } catch (e) {
              const err = decodeJobError(e, JOB_ERROR_CODES.armError);
              const capacity =
                err.code === JOB_ERROR_CODES.capacityUnavailable || err.code === JOB_ERROR_CODES.quotaExceeded;
              r = {
                ok: false,
                error: capacity
                  ? {
                      code: err.code,
                      message: `No ACI capacity after ${settings.capacityRetry.maxAttempts} attempts: ${err.message}`,
                    }
                  : err,
              };
            }
            if (!r.ok) {
              // ARM may still have accepted a PUT: teardown deletes by name whatever happened.
              fail(r.error);
              break;
            }
            s.groupStartedAt = nowIso();
            s.provisionDeadline = later(settings.provisionTimeoutSeconds).toISOString();
            enter('provisioning', 'provisioning', 'Waiting for the container group to run');
            steps = 0;
            break;
          }

          case 'provisioning': {
            let view: GroupView;
            try {
              view = yield* call<GroupView>(ACTIVITIES.getGroup, groupRef);
            } catch (e) {
              // Transient even after retries: keep waiting, the provisioning deadline still applies.
              log('warn', { err: decodeJobError(e).message }, 'instance view not readable');
              view = {
                exists: false,
                provisioningState: null,
                state: null,
                ip: null,
                container: null,
                lastEvent: null,
              };
            }
            const ready = decideReadiness(view, s.status.attempts > 1 ? s.groupStartedAt : null);
            if (ready.kind === 'failed') {
              s.status.container.exitCode = view.container?.exitCode ?? null;
              attemptFailed(ready.error);
              break;
            }
            if (ready.kind === 'ready') {
              const healthy = (yield df.callActivity(ACTIVITIES.checkAgentHealth, { ip: ready.ip })) as boolean;
              if (healthy) {
                s.status.container = { ...s.status.container, state: 'running', ip: ready.ip };
                s.startDeadline = later(settings.startTimeoutSeconds).toISOString();
                enter('starting', 'starting', 'Starting the batch');
                break;
              }
            }
            if (isPast(nowIso(), s.provisionDeadline)) {
              attemptFailed({
                code: JOB_ERROR_CODES.provisioningTimeout,
                message: `The group was not running with a healthy agent within ${settings.provisionTimeoutSeconds} s (${ready.kind === 'wait' ? ready.why : 'agent not healthy'}).`,
              });
              break;
            }
            steps += 1;
            const pause = untilDeadline(s.provisionDeadline, readinessBackoff(steps, settings.pollIntervalSeconds));
            if ((yield* wait(pause, false)) === 'cancel') canceled();
            break;
          }

          case 'starting': {
            const ip = s.status.container.ip;
            let r: Outcome<null> | undefined;
            try {
              r = (yield df.callActivity(ACTIVITIES.startAgent, {
                jobId: s.input.jobId,
                ip,
                ...(spec.inputBlob ? { inputBlob: spec.inputBlob } : {}),
                ...(spec.command ? { command: spec.command } : {}),
              })) as Outcome<null>;
            } catch (e) {
              r = undefined; // unreachable for now: retried below until the start deadline
              log('warn', { err: decodeJobError(e).message }, 'start not accepted yet');
            }
            if (r?.ok) {
              s.status.startedAt ??= nowIso();
              // timeoutMinutes bounds the batch's run (all attempts), from its first start.
              s.runDeadline ??= later(spec.timeoutMinutes * 60).toISOString();
              s.unreachablePolls = 0;
              enter('running', 'running', 'Running');
              steps = 0;
              break;
            }
            if (r && !r.ok) {
              // The batch refused its input (or is busy with another job): retrying cannot help.
              fail(r.error);
              break;
            }
            if (isPast(nowIso(), s.startDeadline)) {
              attemptFailed({
                code: JOB_ERROR_CODES.agentUnreachable,
                message: `The agent did not accept POST /start within ${settings.startTimeoutSeconds} s.`,
              });
              break;
            }
            if (
              (yield* wait(untilDeadline(s.startDeadline, Math.min(2, settings.pollIntervalSeconds)), false)) ===
              'cancel'
            )
              canceled();
            break;
          }

          case 'running': {
            if (isPast(nowIso(), s.runDeadline)) {
              finish({
                state: 'timed_out',
                error: {
                  code: JOB_ERROR_CODES.timedOut,
                  message: `The job exceeded timeoutMinutes (${spec.timeoutMinutes}).`,
                },
              });
              break;
            }
            let obs: Observation;
            try {
              obs = yield* call<Observation>(ACTIVITIES.observeJob, {
                ...ids,
                groupName: s.input.groupName,
                ip: s.status.container.ip,
              });
              s.observeFailures = 0;
            } catch (e) {
              // A transient outage while polling is neither fatal at once nor ignored forever:
              // keep polling (the run deadline still applies) up to MAX_OBSERVE_FAILURES rounds.
              const err = decodeJobError(e, JOB_ERROR_CODES.transient);
              s.observeFailures = (s.observeFailures ?? 0) + 1;
              log('warn', { code: err.code, failures: s.observeFailures }, 'poll failed');
              if (s.observeFailures >= MAX_OBSERVE_FAILURES) {
                attemptFailed({
                  code: err.code,
                  message: `Polling failed ${s.observeFailures} times in a row: ${err.message}`,
                });
                break;
              }
              if ((yield* wait(untilDeadline(s.runDeadline, settings.pollIntervalSeconds), false)) === 'cancel')
                canceled();
              break;
            }
            const d = decideOnObservation(obs, s.unreachablePolls);
            if (obs.group.ip) s.status.container.ip = obs.group.ip;
            if (d.kind === 'cancel') {
              canceled();
              break;
            }
            if (d.kind === 'finished') {
              s.status.container.exitCode = d.exitCode;
              recordProgress(s, nowIso(), 1, obs.agent.message || 'Finished');
              finish(d.outcome);
              break;
            }
            if (d.kind === 'attemptFailed') {
              s.status.container.exitCode = d.exitCode;
              attemptFailed(d.error);
              break;
            }
            s.unreachablePolls = d.unreachablePolls;
            if (d.progress >= 0) {
              const before = JSON.stringify([s.status.progress, s.status.message]);
              recordProgress(s, nowIso(), d.progress, d.message);
              if (JSON.stringify([s.status.progress, s.status.message]) !== before) publish();
            }
            if (++steps >= settings.stepsPerGeneration) {
              continued = true;
              break;
            }
            // Sleep until the next poll, the deadline, a cancel, or a callback; progress callbacks
            // update the status without a poll, final ones trigger an immediate poll.
            const nextPoll = Date.parse(nowIso()) + settings.pollIntervalSeconds * 1000;
            for (;;) {
              const why = yield* wait(
                untilDeadline(s.runDeadline, Math.max(0, (nextPoll - Date.parse(nowIso())) / 1000)),
                true,
              );
              if (why === 'cancel') {
                canceled();
                break;
              }
              if (why !== 'callback') break;
              const cb = wake.result as { type?: string; progress?: number | null; message?: string } | undefined;
              wake = df.waitForExternalEvent(EVENTS.callback);
              if (cb?.type !== 'progress') break;
              if (typeof cb.progress === 'number') {
                recordProgress(s, nowIso(), cb.progress, cb.message ?? '');
                publish();
              }
              if (++steps >= settings.stepsPerGeneration) break;
            }
            break;
          }

          case 'restarting': {
            s.billedSeconds += secondsBetween(s.groupStartedAt, nowIso());
            s.groupStartedAt = null;
            // ACI keeps only the current run's logs: keep the failed attempt's before restarting.
            try {
              const a = (yield* call<ArchiveAnswer>(ACTIVITIES.archiveLogs, {
                ...groupRef,
                ip: s.status.container.ip,
                attempt: s.status.attempts,
              })) as ArchiveAnswer;
              s.status.result = { urls: { ...(s.status.result?.urls ?? {}), ...a.urls } };
            } catch (e) {
              log('warn', { err: decodeJobError(e).message }, 'logs of the failed attempt not archived');
            }
            let r: Outcome<null>;
            try {
              r = yield* call<Outcome<null>>(ACTIVITIES.restartGroup, groupRef);
            } catch (e) {
              r = { ok: false, error: decodeJobError(e, JOB_ERROR_CODES.armError) };
            }
            if (!r.ok) {
              // The group may be gone: create it again (idempotent PUT) rather than give up.
              log('warn', { code: r.error.code }, 'restart failed; re-creating the group');
              s.phase = 'creating';
              break;
            }
            s.status.attempts += 1;
            s.groupStartedAt = nowIso();
            s.provisionDeadline = later(settings.provisionTimeoutSeconds).toISOString();
            s.status.container = { ...s.status.container, state: 'creating', exitCode: null };
            enter(
              'provisioning',
              'provisioning',
              `Restarted (attempt ${s.status.attempts}); waiting for the group to run`,
            );
            steps = 0;
            break;
          }

          default:
            fail({ code: JOB_ERROR_CODES.internal, message: `Unexpected phase ${s.phase}.` });
        }
      }
    } catch (e) {
      // An activity's retries ran out (or a bug): the job fails with that error, teardown still runs.
      fail(decodeJobError(e));
    }

    if (continued && !s.outcome) {
      publish();
      df.continueAsNew(s);
      return undefined;
    }
    return yield* teardown(
      s.outcome ?? { state: 'failed', error: { code: JOB_ERROR_CODES.internal, message: 'No outcome.' } },
    );

    /** Step 8, on every path: archive, usage, delete/stop/keep, release the slot, notify. */
    function* teardown(outcome: JobOutcome): Step {
      enter('teardown', s.status.state, `Finishing (${outcome.state})`);
      const hadGroup = s.status.attempts > 0; // a create was at least requested
      const notes: string[] = [];
      const urls: Record<string, string> = { ...(s.status.result?.urls ?? {}) }; // earlier attempts' logs
      if (hadGroup) {
        const ip = s.status.container.ip;
        if (ip && (outcome.state === 'timed_out' || outcome.state === 'canceled')) {
          // Ask the batch to stop gracefully; the group goes right after anyway.
          try {
            yield df.callActivity(ACTIVITIES.cancelAgent, { jobId: s.input.jobId, ip });
          } catch {
            notes.push('agent cancel not delivered');
          }
        }
        if (ip) {
          try {
            Object.assign(
              urls,
              ((yield* call<ArchiveAnswer>(ACTIVITIES.archiveResult, { ...groupRef, ip })) as ArchiveAnswer).urls,
            );
          } catch (e) {
            notes.push(`result not archived: ${decodeJobError(e).message}`);
          }
        }
        try {
          Object.assign(
            urls,
            ((yield* call<ArchiveAnswer>(ACTIVITIES.archiveLogs, { ...groupRef, ip })) as ArchiveAnswer).urls,
          );
        } catch (e) {
          notes.push(`logs not archived: ${decodeJobError(e).message}`);
        }
        s.billedSeconds += secondsBetween(s.groupStartedAt, nowIso());
        s.groupStartedAt = null;
        const action = teardownAction(outcome, spec);
        try {
          if (action === 'delete') {
            yield* call(ACTIVITIES.deleteGroup, groupRef);
            s.status.container.state = 'deleted';
          } else if (action === 'stop') {
            yield* call(ACTIVITIES.stopGroup, groupRef);
            s.status.container.state = 'stopped';
          } else {
            s.status.container.state = 'kept';
          }
        } catch (e) {
          s.status.container.state = 'unknown';
          notes.push(
            `group ${action} failed (${decodeJobError(e).message}); the sweeper removes it after its expiresAt tag`,
          );
          log('warn', { action }, 'teardown of the group failed; left to the sweeper');
        }
      }
      try {
        yield* call(ACTIVITIES.releaseSlot, {
          tenant: s.input.tenant,
          instanceId: s.input.instanceId,
          owner: s.input.requestHash,
        });
      } catch {
        notes.push('slot not released; the sweeper reconciles it');
      }
      s.status.usage = usageOf(s.billedSeconds, spec.cpu, spec.memoryGb, s.input.rates);
      s.status.result = Object.keys(urls).length ? { urls } : null;
      s.status.state = outcome.state;
      s.status.error = outcome.error;
      if (outcome.state === 'succeeded') s.status.progress = 1;
      s.status.finishedAt = nowIso();
      s.status.phase = 'done';
      s.phase = 'done';
      s.status.message = notes.length
        ? `${outcome.state}; ${notes.join('; ')}`
        : outcome.state === 'succeeded'
          ? 'Succeeded'
          : (outcome.error?.message ?? outcome.state);
      publish();
      log(
        'info',
        { state: outcome.state, code: outcome.error?.code, container: s.status.container.state, usage: s.status.usage },
        'job finished',
      );
      if (spec.webhookUrl) {
        try {
          yield* call(
            ACTIVITIES.notifyWebhook,
            { tenant: s.input.tenant, jobId: s.input.jobId, webhookUrl: spec.webhookUrl, status: s.status },
            { firstRetryMs: 2000, maxAttempts: 4, backoffCoefficient: 2, maxRetryMs: 30000 },
          );
        } catch (e) {
          log('warn', { err: decodeJobError(e).message }, 'webhook not delivered');
        }
      }
      return s.status;
    }
  };
}
