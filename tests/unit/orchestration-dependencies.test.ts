// The dependencies phase driven step by step by a scripted context: one CheckDependencies per
// generation and per fallback timer (never per event), the states the events carry, the message
// published only on change, DependencyFailed as soon as a condition is rejected (and at the
// deadline), admission (or an array parent's fanout) once every dependency allows it, cancel, and
// continueAsNew that keeps what was learnt.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  EVENTS,
  type DependencyEnded,
  type JobDependency,
  type JobEnvelope,
  type JobInput,
  type JobStatus,
  type WorkflowSettings,
} from '../../orchestration/src/contracts';
import {
  createJobOrchestrator,
  type OrchestrationContextLike,
  type TaskLike,
} from '../../orchestration/src/workflows/job-orchestrator';
import { fromEnvelope, toEnvelope, type JobRunState } from '../../orchestration/src/workflows/run-state';
import { SETTINGS } from '../fixtures/tenants/harness';
import { FakeTask, jobInput } from '../fixtures/workflow/fake-context';

const A = 'j-aaaaaaaaaaaaaaaaaaab';
const B = 'j-aaaaaaaaaaaaaaaaaaac';

/** What wins the n-th wait (1-based) of the job: its timer, a cancel, or a DependencyEnded event. */
type Wake = 'timer' | 'cancel' | DependencyEnded;
interface Script {
  /** CheckDependencies' n-th answer (default: nothing ended yet). */
  check?: (n: number) => { states: (string | null)[]; canceled?: boolean };
  wake?: (n: number, children: FakeTask[]) => Wake;
  /** Any other activity's answer (default: AcquireSlot says canceled, so the job ends right there). */
  other?: (name: string) => unknown;
}

interface Run {
  calls: { name: string; input: Record<string, unknown>; at: Date }[];
  statuses: JobStatus[];
  output: JobStatus | undefined;
  continuedWith: JobRunState | undefined;
  waits: { seconds: number; names: string[] }[];
}

function drive(input: JobInput | JobRunState, script: Script): Run {
  let now = new Date('2026-01-01T00:00:00.000Z');
  const run: Run = { calls: [], statuses: [], output: undefined, continuedWith: undefined, waits: [] };
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
    createTimer: (fireAt: Date) => new FakeTask('timer', '', undefined, [], fireAt),
    waitForExternalEvent: (name: string) => new FakeTask('event', name, undefined),
    setCustomStatus: (s: unknown) => run.statuses.push(JSON.parse(JSON.stringify(s)) as JobStatus),
    continueAsNew: (x: unknown) =>
      (run.continuedWith = fromEnvelope(JSON.parse(JSON.stringify(x)) as JobEnvelope, now.toISOString())),
    getInput: <T>() => JSON.parse(JSON.stringify('jobId' in input ? { job: input } : toEnvelope(input))) as T,
  };
  const gen = createJobOrchestrator({ retryOptions: (p) => p, log: () => undefined })({
    df,
  } as unknown as OrchestrationContextLike);
  let step = gen.next();
  for (let i = 0; !step.done; i++) {
    assert.ok(i < 5000, 'the orchestrator did not finish within the step budget');
    const task = step.value as FakeTask;
    if (task.kind === 'activity') {
      const n = (counts.get(task.name) ?? 0) + 1;
      counts.set(task.name, n);
      run.calls.push({ name: task.name, input: task.input as Record<string, unknown>, at: now });
      if (task.name === 'CheckDependencies') {
        const a = script.check?.(n) ?? { states: (task.input as { dependsOn: unknown[] }).dependsOn.map(() => null) };
        step = gen.next({ canceled: false, ...a });
      } else step = gen.next(script.other?.(task.name) ?? defaultAnswer(task.name));
    } else if (task.kind === 'any') {
      const timer = task.children.find((c) => c.kind === 'timer')!;
      run.waits.push({
        seconds: (timer.fireAt!.getTime() - now.getTime()) / 1000,
        names: task.children.filter((c) => c.kind === 'event').map((c) => c.name),
      });
      const wake = script.wake?.(run.waits.length, task.children) ?? 'timer';
      let winner: FakeTask;
      if (wake === 'timer') {
        winner = timer;
        now = new Date(Math.max(now.getTime(), timer.fireAt!.getTime()));
      } else if (wake === 'cancel') winner = task.children.find((c) => c.name === EVENTS.cancel)!;
      else {
        winner = task.children.find((c) => c.name === EVENTS.dependencyEnded)!;
        assert.ok(winner, 'the wait listens for DependencyEnded');
        winner.result = wake;
      }
      winner.isCompleted = true;
      step = gen.next(winner);
    } else if (task.kind === 'timer') {
      now = task.fireAt!;
      step = gen.next(undefined);
    } else assert.fail(`unexpected bare ${task.kind} yield`);
  }
  run.output = step.value as JobStatus | undefined;
  return run;
}

const defaultAnswer = (name: string): unknown =>
  name === 'AcquireSlot' ? { granted: false, reason: 'canceled' } : name === 'ReleaseSlot' ? true : undefined;

const waiting = (
  dependsOn: JobDependency[],
  settings: Partial<WorkflowSettings> = {},
  over: Partial<JobInput['spec']> = {},
): JobInput => jobInput({ dependsOn, ...over }, { ...SETTINGS, ...settings });
const names = (r: Run) => r.calls.map((c) => c.name);
const messages = (r: Run) => [...new Set(r.statuses.map((s) => s.message))];

test('a dependency that already ended (and allows it): straight to admission, no wait', () => {
  const r = drive(waiting([{ job: A, condition: 'succeeded' }]), { check: () => ({ states: ['succeeded'] }) });
  assert.deepEqual(names(r), ['CheckDependencies', 'AcquireSlot', 'ReleaseSlot']);
  assert.deepEqual(r.calls[0]!.input, {
    tenant: 'alpha',
    jobId: 'j-aaaaaaaaaaaaaaaaaaaa',
    instanceId: 'alpha--j-aaaaaaaaaaaaaaaaaaaa',
    dependsOn: [{ job: A, condition: 'succeeded' }],
  });
  assert.equal(r.waits.length, 0);
  assert.equal(r.statuses[0]!.phase, 'dependencies');
  assert.ok(r.statuses.some((s) => s.phase === 'admission' && s.message === 'Waiting for a slot'));
});

test('events carry the states: one check, then each DependencyEnded counts down, then admission', () => {
  const r = drive(
    waiting([
      { job: A, condition: 'succeeded' },
      { job: B, condition: 'finished' },
    ]),
    {
      wake: (n) => (n === 1 ? { job: A, state: 'succeeded' } : { job: B, state: 'failed' }),
    },
  );
  assert.deepEqual(names(r), ['CheckDependencies', 'AcquireSlot', 'ReleaseSlot'], 'no re-check after an event');
  assert.equal(r.waits.length, 2);
  assert.ok(r.waits.every((w) => w.names.includes(EVENTS.dependencyEnded)));
  assert.ok(r.waits.every((w) => w.seconds === SETTINGS.admissionPollSeconds));
  assert.deepEqual(messages(r).slice(0, 3), [
    'Waiting for 2 dependencies',
    'Waiting for 2 of 2 dependencies',
    'Waiting for 1 of 2 dependencies',
  ]);
  const last = r.statuses.find((s) => s.phase === 'admission')!;
  assert.deepEqual(last.dependsOn, [
    { job: A, condition: 'succeeded', state: 'succeeded' },
    { job: B, condition: 'finished', state: 'failed' },
  ]);
});

test('publishes only on change: timers that learn nothing add no status', () => {
  const r = drive(waiting([{ job: A, condition: 'succeeded' }]), {
    check: (n) => ({ states: [n < 4 ? null : 'succeeded'] }),
  });
  assert.deepEqual(names(r).filter((n) => n === 'CheckDependencies').length, 4, 'one re-check per fallback timer');
  const inPhase = r.statuses.filter((s) => s.phase === 'dependencies');
  assert.equal(inPhase.length, 2, `the generation's first status and one message change: ${messages(r).join(' | ')}`);
});

test('a rejected condition fails the job with DependencyFailed at once, without a group; teardown tells its dependents', () => {
  const r = drive(
    waiting([
      { job: A, condition: 'succeeded' },
      { job: B, condition: 'succeeded' },
    ]),
    { wake: () => ({ job: A, state: 'canceled' }) },
  );
  assert.deepEqual(names(r), ['CheckDependencies', 'ReleaseSlot'], 'no AcquireSlot, no group: and B is not awaited');
  assert.equal(r.output?.state, 'failed');
  assert.equal(r.output?.error?.code, 'DependencyFailed');
  assert.match(r.output!.error!.message, new RegExp(`${A} ended canceled; its condition "succeeded"`));
  assert.deepEqual(r.calls[1]!.input, {
    tenant: 'alpha',
    instanceId: 'alpha--j-aaaaaaaaaaaaaaaaaaaa',
    owner: 'h',
    jobId: 'j-aaaaaaaaaaaaaaaaaaaa',
    outcome: 'failed',
  });
  assert.equal(r.output?.dependsOn?.[0]?.state, 'canceled');
  assert.equal(r.output?.dependsOn?.[1]?.state, null);
});

test('condition "finished" lets a failed dependency through; "succeeded" rejects what the check reads', () => {
  const finished = drive(waiting([{ job: A, condition: 'finished' }]), { check: () => ({ states: ['timed_out'] }) });
  assert.deepEqual(names(finished), ['CheckDependencies', 'AcquireSlot', 'ReleaseSlot']);
  const succeeded = drive(waiting([{ job: A, condition: 'succeeded' }]), { check: () => ({ states: ['failed'] }) });
  assert.equal(succeeded.output?.error?.code, 'DependencyFailed');
});

test('the deadline (DEPENDENCY_TIMEOUT_HOURS from the submit) fails the job, naming the open dependencies', () => {
  const r = drive(
    waiting(
      [
        { job: A, condition: 'succeeded' },
        { job: B, condition: 'succeeded' },
      ],
      { dependencyTimeoutHours: 1, admissionPollSeconds: 1500 },
    ),
    { check: () => ({ states: ['succeeded', null] }) },
  );
  assert.equal(r.output?.error?.code, 'DependencyFailed');
  assert.equal(r.output?.error?.message, `Dependencies ${B} did not end within 1 hours.`);
  // 0, 25, 50 min, then the wait is cut at the deadline (60 min): 4 checks, the last one at the deadline.
  assert.deepEqual(
    r.waits.map((w) => w.seconds),
    [1500, 1500, 600],
  );
  assert.equal(r.calls.filter((c) => c.name === 'CheckDependencies').length, 4);
  assert.equal(r.calls.at(-1)!.name, 'ReleaseSlot');
});

test('cancel while waiting (event or the ledger record) ends the job canceled', () => {
  const byEvent = drive(waiting([{ job: A, condition: 'succeeded' }]), { wake: () => 'cancel' });
  assert.equal(byEvent.output?.state, 'canceled');
  assert.deepEqual(names(byEvent), ['CheckDependencies', 'ReleaseSlot']);
  const byLedger = drive(waiting([{ job: A, condition: 'succeeded' }]), {
    check: () => ({ states: [null], canceled: true }),
  });
  assert.equal(byLedger.output?.state, 'canceled');
  assert.equal(byLedger.waits.length, 0);
});

test('continueAsNew after stepsPerGeneration waits keeps the states learnt; the next generation checks once', () => {
  const deps = [
    { job: A, condition: 'succeeded' as const },
    { job: B, condition: 'succeeded' as const },
  ];
  const first = drive(waiting(deps, { stepsPerGeneration: 2 }), {
    wake: (n) => (n === 1 ? { job: A, state: 'succeeded' } : 'timer'),
  });
  assert.equal(first.output, undefined);
  const next = first.continuedWith!;
  assert.equal(next.phase, 'dependencies');
  assert.deepEqual(
    next.status.dependsOn!.map((d) => d.state),
    ['succeeded', null],
  );
  // The next generation: its check reads B ended (A's state is kept even though the check says null).
  const second = drive(next, { check: () => ({ states: [null, 'succeeded'] }) });
  assert.deepEqual(names(second), ['CheckDependencies', 'AcquireSlot', 'ReleaseSlot']);
});

test("an array's parent goes on to fanout once its dependencies allow it", () => {
  const r = drive(waiting([{ job: A, condition: 'succeeded' }], {}, { array: { count: 2, parallelism: 1 } }), {
    check: () => ({ states: ['succeeded'] }),
    other: (n) => (n === 'PrepareTasks' ? { prepared: 0, canceled: true } : defaultAnswer(n)),
  });
  assert.equal(r.calls[1]!.name, 'PrepareTasks');
  assert.ok(!names(r).includes('AcquireSlot'));
});

test('the queue deadline starts when the dependencies ended, not at the submit', () => {
  // Two hours of waiting for A with a 60-minute queue timeout: admission must still wait, not time out.
  const r = drive(
    waiting([{ job: A, condition: 'succeeded' }], { admissionPollSeconds: 7200, queueTimeoutMinutes: 60 }),
    {
      check: (n) => ({ states: [n === 1 ? null : 'succeeded'] }),
      other: (n) =>
        n === 'AcquireSlot' ? { granted: false, reason: 'waiting', position: 1, blockedBy: 'queue' } : defaultAnswer(n),
      wake: (n) => (n === 1 ? 'timer' : 'cancel'),
    },
  );
  assert.equal(r.output?.state, 'canceled', `ended ${r.output?.error?.code}: ${r.output?.error?.message}`);
  assert.deepEqual(names(r), ['CheckDependencies', 'CheckDependencies', 'AcquireSlot', 'ReleaseSlot']);
});
