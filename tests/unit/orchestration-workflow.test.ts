// The job orchestrator driven step by step by a scripted context (the real replay runs in
// tests/integration on the local host): which activities it calls, in which order, and that the
// group is deleted (or deliberately kept) and the slot released on every path. Plus its pure
// decision functions.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ACTIVITIES,
  ARCHIVE_DEADLINE_PASSED,
  encodeJobError,
  EVENTS,
  type GroupView,
  type JobInput,
  type JobStatus,
  type Observation,
} from '../../orchestration/src/contracts';
import {
  createJobOrchestrator,
  type OrchestrationContextLike,
  type TaskLike,
} from '../../orchestration/src/workflows/job-orchestrator';
import {
  decideOnObservation,
  decideReadiness,
  MAX_OBSERVE_FAILURES,
  MAX_UNREACHABLE_POLLS,
  teardownAction,
  usageOf,
} from '../../orchestration/src/workflows/job-decisions';
import { afterAttemptFailure } from '../../orchestration/src/workflows/retry-decision';
import { SETTINGS } from '../fixtures/tenants/harness';
import { FakeTask, jobInput } from '../fixtures/workflow/fake-context';
import {
  fromEnvelope,
  initialRunState,
  toEnvelope as runToEnvelope,
  type JobRunState,
} from '../../orchestration/src/workflows/run-state';
import type { JobEnvelope } from '../../orchestration/src/contracts';

type Respond = (name: string, input: Record<string, unknown>, call: number) => unknown;
interface Script {
  activity: Respond;
  /** Which child wins a Task.any (default: the timer). */
  race?: (children: FakeTask[], now: Date) => FakeTask;
}

interface RunResult {
  calls: { name: string; input: Record<string, unknown> }[];
  output: JobStatus | undefined;
  continuedWith: JobRunState | undefined;
  statuses: JobStatus[];
  timersLeftRunning: number;
}

/** The orchestration input for a first generation (a JobInput) or a later one (a run state). */
const toEnvelope = (x: JobInput | JobRunState): JobEnvelope => ('jobId' in x ? { job: x } : runToEnvelope(x));

function drive(input: JobInput | JobRunState, script: Script, maxSteps = 5000): RunResult {
  let now = new Date('2026-01-01T00:00:00.000Z');
  const calls: RunResult['calls'] = [];
  const statuses: JobStatus[] = [];
  const timers: FakeTask[] = [];
  let continuedWith: JobRunState | undefined;
  const counts = new Map<string, number>();
  const df = {
    instanceId: 'alpha--j-aaaaaaaaaaaaaaaaaaaa',
    isReplaying: false,
    get currentUtcDateTime() {
      return now;
    },
    Task: { any: (tasks: TaskLike[]) => new FakeTask('any', '', undefined, tasks as FakeTask[]) },
    callActivity: (name: string, inp?: unknown) => new FakeTask('activity', name, inp),
    callActivityWithRetry: (name: string, _r: never, inp?: unknown) => new FakeTask('activity', name, inp),
    createTimer: (fireAt: Date) => {
      const t = new FakeTask('timer', '', undefined, [], fireAt);
      timers.push(t);
      return t;
    },
    waitForExternalEvent: (name: string) => new FakeTask('event', name, undefined),
    setCustomStatus: (s: unknown) => statuses.push(JSON.parse(JSON.stringify(s)) as JobStatus),
    // The orchestrator hands over an envelope; tests read the run state inside it.
    continueAsNew: (x: unknown) =>
      (continuedWith = fromEnvelope(JSON.parse(JSON.stringify(x)) as JobEnvelope, now.toISOString())),
    getInput: <T>() => JSON.parse(JSON.stringify(toEnvelope(input))) as T,
  };
  const orchestrator = createJobOrchestrator({ retryOptions: (p) => p, log: () => undefined });
  const gen = orchestrator({ df } as unknown as OrchestrationContextLike);
  let step = gen.next();
  for (let i = 0; !step.done; i++) {
    assert.ok(i < maxSteps, 'the orchestrator did not finish within the step budget');
    const task = step.value as FakeTask;
    if (task.kind === 'activity') {
      const n = (counts.get(task.name) ?? 0) + 1;
      counts.set(task.name, n);
      calls.push({ name: task.name, input: task.input as Record<string, unknown> });
      let value: unknown;
      try {
        value = script.activity(task.name, task.input as Record<string, unknown>, n);
      } catch (e) {
        step = gen.throw(e);
        continue;
      }
      step = gen.next(value);
    } else if (task.kind === 'any') {
      const winner = script.race?.(task.children, now) ?? task.children.find((c) => c.kind === 'timer')!;
      if (winner.kind === 'timer' && winner.fireAt) now = new Date(Math.max(now.getTime(), winner.fireAt.getTime()));
      winner.isCompleted = true;
      step = gen.next(winner);
    } else if (task.kind === 'timer') {
      now = task.fireAt!;
      step = gen.next(undefined);
    } else assert.fail(`unexpected bare ${task.kind} yield`);
  }
  const timersLeftRunning = timers.filter((t) => !t.isCompleted && !t.canceled).length;
  return { calls, output: step.value as JobStatus | undefined, continuedWith, statuses, timersLeftRunning };
}

const runningView = (ip = '10.0.0.4'): GroupView => ({
  exists: true,
  provisioningState: 'Succeeded',
  state: 'Running',
  ip,
  container: {
    state: 'Running',
    exitCode: null,
    detailStatus: null,
    restartCount: 0,
    startTime: '2026-01-01T00:00:01.000Z',
    finishTime: null,
  },
  lastEvent: null,
});
const observation = (
  state: 'running' | 'succeeded' | 'failed',
  progress = 0.5,
  extra: Partial<Observation> = {},
): Observation => ({
  group: runningView(),
  agent: {
    reachable: true,
    state,
    progress,
    message: `${state} ${progress}`,
    exitCode: state === 'running' ? null : state === 'succeeded' ? 0 : 1,
    error: state === 'failed' ? 'boom' : null,
  },
  cancelRequested: false,
  ...extra,
});

/** A world where everything works; `observe` decides how the run goes. */
function world(observe: (n: number) => Observation, over: Partial<Record<string, Respond>> = {}): Respond {
  return (name, input, n) => {
    const custom = over[name];
    if (custom) return custom(name, input, n);
    switch (name) {
      case ACTIVITIES.acquireSlot:
        return { granted: true };
      case ACTIVITIES.resolveImage:
        return {
          ok: true,
          value: {
            imageRef: `acr.io/batch/regime-switching@sha256:${'1'.repeat(64)}`,
            digest: `sha256:${'1'.repeat(64)}`,
          },
        };
      case ACTIVITIES.createGroup:
        return { ok: true, value: null };
      case ACTIVITIES.getGroup:
        return runningView();
      case ACTIVITIES.checkAgentHealth:
        return true;
      case ACTIVITIES.startAgent:
        return { ok: true, value: null };
      case ACTIVITIES.observeJob:
        return observe(n);
      case ACTIVITIES.archiveJob:
        return {
          urls: { ...(input.result ? { result: 'https://r/result.json' } : {}), logs: 'https://r/logs.txt' },
          notes: [],
          failed: {},
        };
      case ACTIVITIES.archiveResult:
        return { urls: { result: 'https://r/result.json' }, notes: [] };
      case ACTIVITIES.archiveLogs:
        return input.attempt
          ? { urls: { [`logs.attempt-${String(input.attempt)}`]: 'https://r/a.txt' }, notes: [] }
          : { urls: { logs: 'https://r/logs.txt' }, notes: [] };
      case ACTIVITIES.deleteGroup:
      case ACTIVITIES.stopGroup:
        return { existed: true };
      case ACTIVITIES.releaseSlot:
        return true;
      case ACTIVITIES.restartGroup:
        return { ok: true, value: null };
      case ACTIVITIES.cancelAgent:
        return true;
      case ACTIVITIES.notifyWebhook:
        return { delivered: true };
      default:
        throw new Error(`unscripted activity ${name}`);
    }
  };
}
const names = (r: RunResult) => r.calls.map((c) => c.name);

describe('job orchestrator', () => {
  test('happy path: admission → image → create → ready → start → monitor → archive → delete → release', () => {
    const r = drive(jobInput(), {
      activity: world((n) => (n < 3 ? observation('running', n / 3) : observation('succeeded', 1))),
    });
    assert.deepEqual(
      names(r).filter((n, i, a) => a.indexOf(n) === i),
      [
        ACTIVITIES.acquireSlot,
        ACTIVITIES.resolveImage,
        ACTIVITIES.createGroup,
        ACTIVITIES.getGroup,
        ACTIVITIES.checkAgentHealth,
        ACTIVITIES.startAgent,
        ACTIVITIES.observeJob,
        ACTIVITIES.archiveJob,
        ACTIVITIES.deleteGroup,
        ACTIVITIES.releaseSlot,
      ],
      'result and logs are archived in one activity',
    );
    const out = r.output!;
    assert.equal(out.state, 'succeeded');
    assert.equal(out.progress, 1);
    assert.equal(out.container.state, 'deleted');
    assert.equal(out.attempts, 1);
    assert.equal(out.image.digest, `sha256:${'1'.repeat(64)}`);
    assert.deepEqual(out.result?.urls, { result: 'https://r/result.json', logs: 'https://r/logs.txt' });
    assert.ok(out.usage.vcpuSeconds > 0 && out.usage.gbSeconds === out.usage.vcpuSeconds * 2);
    assert.ok(out.finishedAt && out.startedAt);
    assert.equal(r.timersLeftRunning, 0, 'losing timers are cancelled');
    const create = r.calls.find((c) => c.name === ACTIVITIES.createGroup)!.input;
    assert.equal(create.imageRef, `acr.io/batch/regime-switching@sha256:${'1'.repeat(64)}`);
    assert.ok(
      typeof create.expiresAt === 'string' && Date.parse(create.expiresAt) > Date.parse('2026-01-01T00:10:00Z'),
    );
    assert.ok(
      r.statuses.some((s) => s.state === 'running' && s.progress > 0),
      'progress is published as custom status',
    );
    assert.ok(!JSON.stringify(r.calls).includes('JOB_TOKEN'), 'no token passes through the orchestration');
    assert.equal(
      r.calls.find((c) => c.name === ACTIVITIES.startAgent)?.input.inputBlob,
      'alpha/j-aaaaaaaaaaaaaaaaaaaa/input.json',
    );
  });

  test('cancel while running: agent told, group deleted, slot released', () => {
    let polls = 0;
    const r = drive(jobInput({ onComplete: 'keep' }), {
      activity: world(() => {
        polls++;
        return observation('running', 0.2);
      }),
      race: (children) =>
        polls >= 2
          ? children.find((c) => c.kind === 'event' && c.name === EVENTS.cancel)!
          : children.find((c) => c.kind === 'timer')!,
    });
    assert.equal(r.output?.state, 'canceled');
    assert.equal(r.output?.error?.code, 'Canceled');
    assert.equal(r.output?.container.state, 'deleted', 'cancel deletes even with onComplete keep');
    assert.ok(names(r).includes(ACTIVITIES.cancelAgent));
    assert.deepEqual(names(r).slice(-2), [ACTIVITIES.deleteGroup, ACTIVITIES.releaseSlot]);
  });

  test('progress callbacks update the status between polls; a final callback triggers an immediate poll', () => {
    let polls = 0;
    let callbacks = 0;
    const r = drive(jobInput(), {
      activity: world(() => (++polls >= 2 ? observation('succeeded', 1) : observation('running', 0.1))),
      race: (children) => {
        const cb = children.find((c) => c.kind === 'event' && c.name === EVENTS.callback);
        if (cb && callbacks < 3) {
          callbacks++;
          cb.result =
            callbacks < 3
              ? { type: 'progress', progress: 0.3 * callbacks, message: `callback ${callbacks}` }
              : { type: 'completed' };
          return cb;
        }
        return children.find((c) => c.kind === 'timer')!;
      },
    });
    assert.equal(polls, 2, 'progress callbacks do not poll; the final one does, at once');
    assert.ok(r.statuses.some((s) => s.message === 'callback 1' && Math.abs(s.progress - 0.3) < 1e-9));
    assert.ok(r.statuses.some((s) => s.message === 'callback 2'));
    assert.equal(r.output?.state, 'succeeded');
    assert.ok(r.output!.progressHistory.length <= 20);
  });

  test('cancel recorded durably (marker) is honoured by the poll even without the event', () => {
    const r = drive(jobInput(), { activity: world(() => observation('running', 0.1, { cancelRequested: true })) });
    assert.equal(r.output?.state, 'canceled');
    assert.ok(names(r).includes(ACTIVITIES.deleteGroup));
  });

  test('a group that never becomes ready: bounded wait, restart per policy, then ProvisioningTimeout and delete', () => {
    const pending: GroupView = { ...runningView(), state: 'Pending', ip: null, container: null };
    const r = drive(jobInput({ onFailure: 'restart', maxAttempts: 2 }, { ...SETTINGS, provisionTimeoutSeconds: 60 }), {
      activity: world(() => observation('running'), { [ACTIVITIES.getGroup]: () => pending }),
    });
    assert.equal(r.output?.state, 'failed');
    assert.equal(r.output?.error?.code, 'ProvisioningTimeout');
    assert.equal(r.output?.attempts, 2);
    assert.equal(names(r).filter((n) => n === ACTIVITIES.restartGroup).length, 1);
    assert.ok(names(r).includes(ACTIVITIES.deleteGroup));
    assert.ok(names(r).filter((n) => n === ACTIVITIES.getGroup).length < 60, 'readiness polls back off');
  });

  test('capacity errors: retried by the activity policy, then CapacityUnavailable; the group is still deleted', () => {
    const capacity = new Error(
      encodeJobError({ code: 'CapacityUnavailable', message: 'not available in the location', retryable: true }),
    );
    const r = drive(jobInput(), {
      activity: world(() => observation('running'), {
        [ACTIVITIES.createGroup]: () => {
          throw capacity;
        },
      }),
    });
    assert.equal(r.output?.state, 'failed');
    assert.equal(r.output?.error?.code, 'CapacityUnavailable');
    assert.match(r.output!.error!.message, /No ACI capacity after 6 attempts/);
    assert.deepEqual(names(r).slice(-2), [ACTIVITIES.deleteGroup, ACTIVITIES.releaseSlot]);
  });

  test('image not found: fails fast, no group created, slot released', () => {
    const r = drive(jobInput(), {
      activity: world(() => observation('running'), {
        [ACTIVITIES.resolveImage]: () => ({ ok: false, error: { code: 'ImageNotFound', message: 'missing' } }),
      }),
    });
    assert.equal(r.output?.error?.code, 'ImageNotFound');
    assert.ok(!names(r).includes(ACTIVITIES.createGroup));
    assert.ok(!names(r).includes(ACTIVITIES.deleteGroup));
    assert.equal(names(r).at(-1), ACTIVITIES.releaseSlot);
  });

  test('the batch rejects its input: failed with the field details, no restart', () => {
    const r = drive(jobInput({ onFailure: 'restart', maxAttempts: 3 }), {
      activity: world(() => observation('running'), {
        [ACTIVITIES.startAgent]: () => ({
          ok: false,
          error: { code: 'InvalidInput', message: 'bad', details: [{ field: 'input.y', message: 'short' }] },
        }),
      }),
    });
    assert.equal(r.output?.error?.code, 'InvalidInput');
    assert.deepEqual(r.output?.error?.details, [{ field: 'input.y', message: 'short' }]);
    assert.ok(!names(r).includes(ACTIVITIES.restartGroup));
    assert.ok(names(r).includes(ACTIVITIES.deleteGroup));
  });

  test('failure with attempts left and onFailure restart: restart, start again, succeed on attempt 2', () => {
    let attempt = 1;
    const r = drive(jobInput({ onFailure: 'restart', maxAttempts: 2 }), {
      activity: world(
        (n) => (attempt === 1 ? observation('failed') : n > 3 ? observation('succeeded', 1) : observation('running')),
        {
          [ACTIVITIES.restartGroup]: () => {
            attempt = 2;
            return { ok: true, value: null };
          },
        },
      ),
    });
    assert.equal(r.output?.state, 'succeeded');
    assert.equal(r.output?.attempts, 2);
    assert.equal(names(r).filter((n) => n === ACTIVITIES.startAgent).length, 2);
    const attemptLogs = r.calls.findIndex((c) => c.name === ACTIVITIES.archiveLogs && c.input.attempt === 1);
    assert.ok(
      attemptLogs >= 0 && attemptLogs < names(r).indexOf(ACTIVITIES.restartGroup),
      "the failed attempt's logs are kept before the restart",
    );
    assert.ok(r.output?.result?.urls['logs.attempt-1']);
  });

  test('the deadline ends the job as timed_out and the group is deleted', () => {
    const r = drive(jobInput({ timeoutMinutes: 1, onFailure: 'stop' }), {
      activity: world(() => observation('running', 0.3)),
    });
    assert.equal(r.output?.state, 'timed_out');
    assert.equal(r.output?.error?.code, 'JobTimedOut');
    assert.equal(r.output?.container.state, 'stopped', 'onFailure stop applies to timeouts');
    assert.ok(names(r).includes(ACTIVITIES.cancelAgent));
  });

  test('onComplete keep: no delete, container kept', () => {
    const r = drive(jobInput({ onComplete: 'keep' }), { activity: world(() => observation('succeeded', 1)) });
    assert.equal(r.output?.container.state, 'kept');
    assert.ok(!names(r).includes(ACTIVITIES.deleteGroup) && !names(r).includes(ACTIVITIES.stopGroup));
    assert.equal(names(r).at(-1), ACTIVITIES.releaseSlot);
  });

  test('history stays bounded: continueAsNew after N polls with one typed state; the next generation finishes', () => {
    const settings = { ...SETTINGS, stepsPerGeneration: 5 };
    let total = 0;
    const observe = () =>
      ++total > 12 ? observation('succeeded', 1) : observation('running', Math.min(0.9, total / 12));
    const g1 = drive(jobInput({}, settings), { activity: world(observe) });
    assert.equal(g1.output, undefined);
    assert.ok(g1.continuedWith);
    assert.equal(g1.continuedWith.phase, 'running');
    assert.equal(g1.continuedWith.generation, 1);
    assert.ok(!names(g1).includes(ACTIVITIES.deleteGroup), 'no teardown at a generation switch');
    const g2 = drive(g1.continuedWith, { activity: world(observe) });
    const g3 = g2.continuedWith ? drive(g2.continuedWith, { activity: world(observe) }) : g2;
    assert.equal(g3.output?.state, 'succeeded');
    assert.ok(!names(g2).includes(ACTIVITIES.createGroup), 'a later generation resumes, it does not re-create');
  });

  test('queued: polls the ledger with a durable timer until granted; queue deadline → QueueTimeout', () => {
    const r = drive(jobInput({}, { ...SETTINGS, queueTimeoutMinutes: 0.5, admissionPollSeconds: 2 }), {
      activity: world(() => observation('running'), {
        [ACTIVITIES.acquireSlot]: () => ({ granted: false, reason: 'waiting', position: 0, blockedBy: 'tenant' }),
      }),
    });
    assert.equal(r.output?.error?.code, 'QueueTimeout');
    assert.ok(!names(r).includes(ACTIVITIES.createGroup));
    assert.equal(names(r).at(-1), ACTIVITIES.releaseSlot);
    assert.ok(r.statuses.some((s) => s.message.includes('maxConcurrentJobs')));
  });

  test('an activity whose retries ran out fails the job with its code, teardown still runs', () => {
    const r = drive(jobInput(), {
      activity: world((n) => (n < 2 ? observation('running') : observation('running')), {
        [ACTIVITIES.observeJob]: (_n, _i, n) => {
          if (n < 2) return observation('running');
          throw new Error(encodeJobError({ code: 'ArmThrottled', message: 'throttled', retryable: true }));
        },
      }),
    });
    assert.equal(r.output?.error?.code, 'ArmThrottled');
    assert.equal(
      names(r).filter((n) => n === ACTIVITIES.observeJob).length,
      1 + MAX_OBSERVE_FAILURES,
      'an outage is polled through, not fatal at once',
    );
    assert.deepEqual(names(r).slice(-2), [ACTIVITIES.deleteGroup, ACTIVITIES.releaseSlot]);
  });

  test('a failed observation is retried within a minute, not after a whole 600 s safety-poll interval', () => {
    // The pause after a failed ObserveJob hears no callback (the liveness watch's wake-up included).
    const r = drive(jobInput({ timeoutMinutes: 600 }, { ...SETTINGS, pollIntervalSeconds: 600 }), {
      activity: world(() => observation('running'), {
        [ACTIVITIES.observeJob]: (_n, _i, n) => {
          if (n < 2) return observation('running');
          throw new Error(encodeJobError({ code: 'ArmThrottled', message: 'throttled', retryable: true }));
        },
      }),
    });
    assert.equal(r.output?.error?.code, 'ArmThrottled');
    const ran = Date.parse(r.output!.finishedAt!) - Date.parse(r.output!.startedAt!);
    // Two safety polls (600 s each) to the first failure, then MAX_OBSERVE_FAILURES - 1 pauses of 60 s.
    assert.ok(ran <= (2 * 600 + (MAX_OBSERVE_FAILURES - 1) * 60 + 5) * 1000, `ran ${ran / 1000} s`);
  });

  test('an unreadable instance view during provisioning waits until the provisioning deadline', () => {
    const r = drive(jobInput({}, { ...SETTINGS, provisionTimeoutSeconds: 30 }), {
      activity: world(() => observation('running'), {
        [ACTIVITIES.getGroup]: () => {
          throw new Error(encodeJobError({ code: 'TransientError', message: '503', retryable: true }));
        },
      }),
    });
    assert.equal(r.output?.error?.code, 'ProvisioningTimeout');
    assert.ok(names(r).includes(ACTIVITIES.deleteGroup));
  });

  test('a short ARM outage while polling is ridden out', () => {
    const r = drive(jobInput(), {
      activity: world(() => observation('running'), {
        [ACTIVITIES.observeJob]: (_n, _i, n) => {
          if (n === 2 || n === 3)
            throw new Error(encodeJobError({ code: 'TransientError', message: '503', retryable: true }));
          return n < 5 ? observation('running', 0.5) : observation('succeeded', 1);
        },
      }),
    });
    assert.equal(r.output?.state, 'succeeded');
  });
});

describe('fewer Durable actions per job (issue 12)', () => {
  /** The agent's final callback as api/callbacks.ts raises it, sent 5 s after the group started. */
  const finalCallback = (over: Record<string, unknown> = {}) => ({
    type: 'completed',
    state: 'succeeded',
    progress: 1,
    message: 'done',
    exitCode: 0,
    at: '2026-01-01T00:00:05.000Z',
    ...over,
  });
  /** The first callback wait of the monitor gets `cb`; every other wait ends on its timer. */
  const callbackOnce = (cb: Record<string, unknown>) => {
    let given = false;
    return (children: FakeTask[]) => {
      const event = children.find((c) => c.kind === 'event' && c.name === EVENTS.callback);
      if (event && !given) {
        given = true;
        event.result = cb;
        return event;
      }
      return children.find((c) => c.kind === 'timer')!;
    };
  };

  test('a final callback whose type and state agree ends the job without a poll', () => {
    let polls = 0;
    const r = drive(jobInput(), {
      activity: world(() => (polls++, observation('succeeded', 1))),
      race: callbackOnce(finalCallback()),
    });
    assert.equal(polls, 0, 'no ObserveJob after the authenticated final callback');
    assert.equal(r.output?.state, 'succeeded');
    assert.equal(r.output?.container.exitCode, 0);
    assert.equal(r.output?.container.state, 'deleted');
    assert.ok(r.output?.progressHistory.some((p) => p.progress === 1 && p.message === 'done'));
    assert.deepEqual(names(r).slice(-3), [ACTIVITIES.archiveJob, ACTIVITIES.deleteGroup, ACTIVITIES.releaseSlot]);
  });

  test('a failed final callback fails the attempt with its exit code and error, without a poll', () => {
    let polls = 0;
    const r = drive(jobInput(), {
      activity: world(() => (polls++, observation('running'))),
      race: callbackOnce(finalCallback({ type: 'failed', state: 'failed', exitCode: 3, error: 'bad input row 7' })),
    });
    assert.equal(polls, 0);
    assert.equal(r.output?.state, 'failed');
    assert.equal(r.output?.error?.code, 'JobFailed');
    assert.match(r.output?.error?.message ?? '', /bad input row 7/);
    assert.equal(r.output?.container.exitCode, 3);
  });

  test('a final callback from before this attempt started, or canceled, or without its state, is checked by a poll', () => {
    for (const cb of [
      finalCallback({ at: '2025-12-31T23:59:00.000Z' }), // a restarted attempt's late callback
      finalCallback({ at: null }),
      finalCallback({ type: 'canceled', state: 'canceled' }),
      finalCallback({ state: null }),
      finalCallback({ type: 'completed', state: 'failed' }),
    ]) {
      let polls = 0;
      const r = drive(jobInput(), {
        activity: world(() => (polls++, observation('succeeded', 1))),
        race: callbackOnce(cb),
      });
      assert.equal(polls, 1, `polled once after ${JSON.stringify(cb)}`);
      assert.equal(r.output?.state, 'succeeded', 'the poll decides');
    }
  });

  test("progress callbacks while running share the sleep's one timer (no new timer per callback)", () => {
    const seen = new Set<FakeTask>();
    let n = 0;
    const r = drive(jobInput(), {
      activity: world(() => observation('running', 0.5)),
      race: (children) => {
        const event = children.find((c) => c.kind === 'event' && c.name === EVENTS.callback);
        if (!event) return children.find((c) => c.kind === 'timer')!;
        seen.add(children.find((c) => c.kind === 'timer')!);
        event.result = ++n <= 4 ? { type: 'progress', progress: n / 5, message: `step ${n}` } : finalCallback();
        return event;
      },
    });
    assert.equal(r.output?.state, 'succeeded');
    assert.equal(seen.size, 1, 'four progress callbacks and the final one raced the same timer');
    assert.ok(r.statuses.some((s) => s.message === 'step 4' && Math.abs(s.progress - 0.8) < 1e-9));
    assert.equal(r.timersLeftRunning, 0, 'the timer is cancelled when the final callback ends the sleep');
  });

  test('after the ready callback the ARM read starts the agent at the address it shows: no StartAgent', () => {
    const readyFirst = (children: FakeTask[]) =>
      children.find((c) => c.kind === 'event' && c.name === EVENTS.ready) ?? children.find((c) => c.kind === 'timer')!;
    const started = (answer: unknown) => ({
      [ACTIVITIES.getGroup]: () => ({ ...runningView(), started: answer }),
    });
    const r = drive(jobInput(), {
      activity: world(() => observation('succeeded', 1), started({ ok: true, value: null })),
      race: readyFirst,
    });
    assert.equal(r.output?.state, 'succeeded');
    assert.deepEqual(
      names(r).slice(0, 5),
      [
        ACTIVITIES.acquireSlot,
        ACTIVITIES.resolveImage,
        ACTIVITIES.createGroup,
        ACTIVITIES.getGroup,
        ACTIVITIES.observeJob,
      ],
      'no health check and no StartAgent',
    );
    const read = r.calls.find((c) => c.name === ACTIVITIES.getGroup)!.input;
    assert.deepEqual(read.start, {
      jobId: 'j-aaaaaaaaaaaaaaaaaaaa',
      inputBlob: 'alpha/j-aaaaaaaaaaaaaaaaaaaa/input.json',
    });
    assert.equal(r.output?.container.ip, '10.0.0.4');
    assert.ok(r.output?.startedAt);

    // The agent refused the input: failed at once, as when StartAgent hears it.
    const invalid = { code: 'InvalidInput', message: 'The batch rejected its input.' };
    const refused = drive(jobInput(), {
      activity: world(() => observation('succeeded', 1), started({ ok: false, error: invalid })),
      race: readyFirst,
    });
    assert.equal(refused.output?.state, 'failed');
    assert.equal(refused.output?.error?.code, 'InvalidInput');
    assert.ok(!names(refused).includes(ACTIVITIES.startAgent));

    // The agent did not answer: the start phase tries again with StartAgent.
    const silent = drive(jobInput(), {
      activity: world(() => observation('succeeded', 1), started(null)),
      race: readyFirst,
    });
    assert.equal(silent.output?.state, 'succeeded');
    assert.ok(names(silent).includes(ACTIVITIES.startAgent));

    // Without the ready callback (fallback timer): a plain read, the health check, then StartAgent.
    const fallback = drive(jobInput(), { activity: world(() => observation('succeeded', 1)) });
    assert.equal(fallback.calls.find((c) => c.name === ACTIVITIES.getGroup)!.input.start, undefined);
    assert.ok(names(fallback).includes(ACTIVITIES.checkAgentHealth) && names(fallback).includes(ACTIVITIES.startAgent));
  });

  test('archive: result and logs in one activity; a part that failed there is retried alone, one past the deadline is not', () => {
    const failedLogs = (message: string) => ({
      [ACTIVITIES.archiveJob]: () => ({
        urls: { result: 'https://r/result.json' },
        notes: [],
        failed: { logs: message },
      }),
    });
    const ok = drive(jobInput(), {
      activity: world(() => observation('succeeded', 1), failedLogs('archive logs: 503')),
    });
    const job = ok.calls.find((c) => c.name === ACTIVITIES.archiveJob)!.input;
    assert.equal(job.result, true);
    assert.equal(job.ip, '10.0.0.4');
    assert.ok(typeof job.deadline === 'string' && Date.parse(job.deadline) > Date.parse('2026-01-01T00:00:00Z'));
    assert.deepEqual(
      ok.calls.filter((c) => c.name.startsWith('Archive')).map((c) => c.name),
      [ACTIVITIES.archiveJob, ACTIVITIES.archiveLogs],
      'only the failed part again',
    );
    assert.deepEqual(ok.output?.result?.urls, { result: 'https://r/result.json', logs: 'https://r/logs.txt' });
    assert.equal(ok.output?.message, 'Succeeded');

    const lost = drive(jobInput(), {
      activity: world(() => observation('succeeded', 1), {
        ...failedLogs('archive logs: 503'),
        [ACTIVITIES.archiveLogs]: () => {
          throw new Error(
            encodeJobError({ code: 'TransientError', message: 'archive logs: 503 again', retryable: true }),
          );
        },
      }),
    });
    assert.equal(lost.output?.state, 'succeeded');
    assert.match(lost.output?.message ?? '', /logs not archived: archive logs: 503 again/);
    assert.deepEqual(lost.output?.result?.urls, { result: 'https://r/result.json' });

    const late = drive(jobInput(), {
      activity: world(() => observation('succeeded', 1), failedLogs(ARCHIVE_DEADLINE_PASSED)),
    });
    assert.ok(!names(late).includes(ACTIVITIES.archiveLogs), 'no archive once the teardown deadline passed');
    assert.match(late.output?.message ?? '', /logs not archived: the teardown deadline passed/);
  });
});

describe('orchestrator decisions', () => {
  test('readiness needs Running + IP; Failed provisioning and exited containers fail', () => {
    assert.deepEqual(decideReadiness(runningView('1.2.3.4'), null), { kind: 'ready', ip: '1.2.3.4' });
    assert.equal(decideReadiness({ ...runningView(), ip: null }, null).kind, 'wait');
    // Issue 10 finding 4: ARM answered the PUT with the group, so a 404 while provisioning means it is
    // gone (it used to wait as "not visible yet" until the 600 s deadline).
    const gone = decideReadiness({ ...runningView(), exists: false }, null);
    assert.equal(gone.kind, 'failed');
    assert.equal(gone.kind === 'failed' && gone.error.code, 'GroupDisappeared');
    assert.equal(
      decideReadiness({ ...runningView(), provisioningState: 'Failed', lastEvent: 'Failed: pull' }, null).kind,
      'failed',
    );
    const oom: GroupView = {
      ...runningView(),
      container: {
        state: 'Terminated',
        exitCode: 137,
        detailStatus: 'OOMKilled',
        restartCount: 0,
        startTime: '2026-01-01T00:00:05.000Z',
        finishTime: null,
      },
    };
    const d = decideReadiness(oom, null);
    assert.equal(d.kind === 'failed' && d.error.code, 'OOMKilled');
    // After a restart, the previous attempt's terminated container is not this attempt's failure.
    assert.equal(decideReadiness(oom, '2026-01-01T00:01:00.000Z').kind, 'wait');
    // A plain kill -9 also exits 137: without ACI's OOMKilled detail it is not an OOM (issue 10 finding 5).
    const killed = decideReadiness({ ...oom, container: { ...oom.container!, detailStatus: 'Error' } }, null);
    assert.equal(killed.kind === 'failed' && killed.error.code, 'ContainerExited');
  });

  test('observations: agent states, exited containers, unreachable agents, cancel marker', () => {
    assert.equal(decideOnObservation(observation('running'), 0).kind, 'continue');
    assert.equal(decideOnObservation(observation('succeeded', 1), 0).kind, 'finished');
    const failed = decideOnObservation(observation('failed'), 0);
    assert.equal(failed.kind === 'attemptFailed' && failed.error.code, 'JobFailed');
    assert.equal(decideOnObservation(observation('running', 0, { cancelRequested: true }), 0).kind, 'cancel');
    const gone = decideOnObservation({ ...observation('running'), group: { ...runningView(), exists: false } }, 0);
    assert.equal(gone.kind === 'attemptFailed' && gone.error.code, 'GroupDisappeared');
    const silent: Observation = {
      ...observation('running'),
      agent: { reachable: false, state: null, progress: 0, message: '', exitCode: null, error: null },
    };
    const first = decideOnObservation(silent, 0);
    assert.equal(first.kind === 'continue' && first.unreachablePolls, 1);
    const last = decideOnObservation(silent, MAX_UNREACHABLE_POLLS - 1);
    assert.equal(last.kind === 'attemptFailed' && last.error.code, 'AgentUnreachable');
    const exited = decideOnObservation(
      {
        ...silent,
        group: {
          ...runningView(),
          container: {
            state: 'Terminated',
            exitCode: 3,
            detailStatus: 'Error',
            restartCount: 0,
            startTime: null,
            finishTime: null,
          },
        },
      },
      0,
    );
    assert.equal(exited.kind === 'attemptFailed' && exited.error.code, 'ContainerExited');
  });

  test('restart policy, teardown policy, usage', () => {
    const s = initialRunState(jobInput({ onFailure: 'restart', maxAttempts: 2 }), '2026-01-01T00:00:00.000Z');
    const failed = { reason: 'JobFailed', exitCode: 1 };
    s.status.attempts = 1;
    assert.equal(afterAttemptFailure(s, failed, '2026-01-01T00:00:10.000Z').kind, 'retry');
    s.status.attempts = 2;
    assert.equal(afterAttemptFailure(s, failed, '2026-01-01T00:00:10.000Z').kind, 'fail');
    assert.equal(
      teardownAction({ state: 'canceled', error: null }, { onComplete: 'keep', onFailure: 'stop' }),
      'delete',
    );
    assert.equal(
      teardownAction({ state: 'succeeded', error: null }, { onComplete: 'stop', onFailure: 'delete' }),
      'stop',
    );
    assert.equal(
      teardownAction({ state: 'failed', error: null }, { onComplete: 'keep', onFailure: 'restart' }),
      'delete',
    );
    assert.equal(
      teardownAction({ state: 'timed_out', error: null }, { onComplete: 'keep', onFailure: 'stop' }),
      'stop',
    );
    assert.deepEqual(usageOf(3600, 2, 4, { vcpuHour: 0.04, gbHour: 0.005, currency: 'EUR' }), {
      vcpuSeconds: 7200,
      gbSeconds: 14400,
      estimatedCost: 0.1,
      currency: 'EUR',
    });
  });
});

describe('event-driven waits and quota (issue 12, issue 11 item 2)', () => {
  test('a regional quota hit is waited out as queued, without counting an attempt, then the job runs', () => {
    const quota = { ok: false, error: { code: 'QuotaExceeded', message: 'ContainerGroupQuotaReached' } };
    const r = drive(jobInput(), {
      activity: world((n) => (n < 2 ? observation('running', 0.5) : observation('succeeded', 1)), {
        [ACTIVITIES.createGroup]: (_n, _i, call) => (call <= 2 ? quota : { ok: true, value: null }),
      }),
    });
    assert.equal(r.calls.filter((c) => c.name === ACTIVITIES.createGroup).length, 3);
    assert.equal(r.output?.state, 'succeeded');
    assert.equal(r.output?.attempts, 1, 'the quota waits created no group and count no attempt');
    assert.ok(r.statuses.some((s) => s.state === 'queued' && /quota/i.test(s.message)));
  });

  test('a queued job wakes on the slot-granted event, and the agent ready event starts it without a health check', () => {
    let slotCalls = 0;
    const r = drive(jobInput(), {
      activity: world((n) => (n < 2 ? observation('running', 0.5) : observation('succeeded', 1)), {
        [ACTIVITIES.acquireSlot]: () =>
          ++slotCalls === 1
            ? { granted: false, reason: 'waiting', position: 0, blockedBy: 'tenant' }
            : { granted: true },
      }),
      race: (children) =>
        children.find((c) => c.kind === 'event' && (c.name === EVENTS.slotGranted || c.name === EVENTS.ready)) ??
        children.find((c) => c.kind === 'timer')!,
    });
    assert.equal(r.output?.state, 'succeeded');
    assert.equal(slotCalls, 1, 'the slot-granted event is the grant: no second AcquireSlot');
    assert.ok(!names(r).includes(ACTIVITIES.checkAgentHealth), 'the ready callback stands for the health check');
    assert.ok(names(r).includes(ACTIVITIES.getGroup), 'the address is confirmed with ARM');
  });
});

describe('retry rules (issue 13)', () => {
  const failedWith = (exitCode: number): Observation => {
    const o = observation('failed');
    return { ...o, agent: { ...o.agent, exitCode } };
  };
  const oomKilled = (): Observation => ({
    ...observation('running'),
    group: {
      ...runningView(),
      state: 'Failed',
      container: { ...runningView().container!, state: 'Terminated', exitCode: 137, detailStatus: 'OOMKilled' },
    },
    agent: { reachable: false, state: null, progress: 0, message: '', exitCode: null, error: null },
  });
  /** A race that records every timer's length (seconds) and lets the timer win. */
  const timerLengths = (into: number[]) => (children: FakeTask[], now: Date) => {
    const t = children.find((c) => c.kind === 'timer')!;
    into.push((t.fireAt!.getTime() - now.getTime()) / 1000);
    return t;
  };
  const rules = {
    attempts: 3,
    backoffSeconds: 47,
    rules: [
      { onExitCode: [3], action: 'retry' as const },
      { onExitCode: [4], action: 'fail' as const },
    ],
  };

  test('exit 3 is retried per rule (after the durable backoff) until the attempt limit', () => {
    const waits: number[] = [];
    const r = drive(jobInput({ onFailure: 'delete', maxAttempts: 3, retry: rules }), {
      activity: world(() => failedWith(3)),
      race: timerLengths(waits),
    });
    assert.equal(r.output?.state, 'failed');
    assert.equal(r.output?.error?.code, 'JobFailed');
    assert.equal(r.output?.attempts, 3);
    assert.equal(r.output?.container.exitCode, 3);
    assert.equal(names(r).filter((n) => n === ACTIVITIES.restartGroup).length, 2);
    assert.equal(waits.filter((w) => w === 47).length, 2, 'one 47 s backoff before each retry');
    assert.deepEqual(
      r.output?.attemptHistory?.map((a) => [a.attempt, a.exitCode, a.reason]),
      [
        [1, 3, 'JobFailed'],
        [2, 3, 'JobFailed'],
        [3, 3, 'JobFailed'],
      ],
    );
  });

  test('exit 4 is not retried', () => {
    const r = drive(jobInput({ onFailure: 'delete', maxAttempts: 3, retry: rules }), {
      activity: world(() => failedWith(4)),
    });
    assert.equal(r.output?.state, 'failed');
    assert.equal(r.output?.attempts, 1);
    assert.equal(r.output?.container.exitCode, 4);
    assert.ok(!names(r).includes(ACTIVITIES.restartGroup));
  });

  test('OOM kill with retry-with-more-memory: the group is deleted and created again with double the memory', () => {
    let attempt = 1;
    const r = drive(
      jobInput({ memoryGb: 2, maxAttempts: 2, onOomKilled: 'retry-with-more-memory', memoryCeilingGb: 4 }),
      {
        activity: world(
          (n) => (attempt === 1 ? oomKilled() : n > 2 ? observation('succeeded', 1) : observation('running')),
          {
            [ACTIVITIES.createGroup]: (_name, _input, n) => {
              attempt = n;
              return { ok: true, value: null };
            },
          },
        ),
      },
    );
    assert.equal(r.output?.state, 'succeeded', JSON.stringify(r.output?.error));
    assert.equal(r.output?.attempts, 2);
    const creates = r.calls.filter((c) => c.name === ACTIVITIES.createGroup).map((c) => c.input.memoryGb);
    assert.deepEqual(creates, [2, 4]);
    assert.ok(!names(r).includes(ACTIVITIES.restartGroup), 'no restart: ACI cannot change the memory of a group');
    const firstDelete = names(r).indexOf(ACTIVITIES.deleteGroup);
    const secondCreate = names(r).lastIndexOf(ACTIVITIES.createGroup);
    assert.ok(firstDelete >= 0 && firstDelete < secondCreate, 'deleted before it is created again');
    assert.equal(r.output?.resources.memoryGb, 4);
    assert.deepEqual(
      r.output?.attemptHistory?.map((a) => [a.attempt, a.memoryGb, a.exitCode, a.reason]),
      [
        [1, 2, 137, 'OOMKilled'],
        [2, 4, null, null],
      ],
    );
    const u = r.output!.usage;
    assert.ok(u.gbSeconds > 2 * u.vcpuSeconds && u.gbSeconds < 4 * u.vcpuSeconds, 'each attempt billed at its memory');
  });

  test("a failure path without an exit code reports none, not the previous attempt's", () => {
    // Attempt 1 fails with exit 3; its restart fails, so the group is created again; attempt 2 never
    // becomes ready (ProvisioningTimeout): no container exited in it.
    let attempt = 1;
    const pending: GroupView = { ...runningView(), state: 'Pending', ip: null, container: null };
    const r = drive(jobInput({ onFailure: 'restart', maxAttempts: 2 }, { ...SETTINGS, provisionTimeoutSeconds: 60 }), {
      activity: world(() => failedWith(3), {
        [ACTIVITIES.restartGroup]: () => ({ ok: false, error: { code: 'ArmError', message: 'not found' } }),
        [ACTIVITIES.createGroup]: (_name, _input, n) => {
          attempt = n;
          return { ok: true, value: null };
        },
        [ACTIVITIES.getGroup]: () => (attempt === 1 ? runningView() : pending),
      }),
    });
    assert.equal(r.output?.error?.code, 'ProvisioningTimeout');
    assert.equal(r.output?.attempts, 2);
    assert.equal(r.output?.container.exitCode, null);
  });
});
