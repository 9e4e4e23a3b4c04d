// The orchestrator in pull mode (Spot, network.mode pull), driven step by step by a scripted context
// like tests/unit/orchestration-workflow.test.ts: no agent call anywhere (no health check, no
// POST /start, no cancel, no result read), the start is taken when the agent fetched it, the end
// comes from the final callback or the instance view (exit codes 3/4 of the agent), an eviction is
// a retried attempt whatever onFailure says (capped at max(3, maxAttempts)) and the status counts it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ACTIVITIES,
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
import { decidePullObservation, wasEvicted } from '../../orchestration/src/workflows/job-decisions';
import { FakeTask, jobInput as baseJobInput } from '../fixtures/workflow/fake-context';

const jobInput = (over: Partial<JobInput['spec']> = {}): JobInput =>
  baseJobInput({ priority: 'Spot', startMode: 'pull', ...over });

const view = (over: Partial<NonNullable<GroupView['container']>> = {}, lastEvent: string | null = null): GroupView => ({
  exists: true,
  provisioningState: 'Succeeded',
  state: 'Running',
  ip: null, // Spot: no address
  container: {
    state: 'Running',
    exitCode: null,
    detailStatus: null,
    restartCount: 0,
    startTime: '2026-01-01T00:00:01.000Z',
    finishTime: null,
    ...over,
  },
  lastEvent,
});
const obs = (group: GroupView, uploaded: Observation['uploaded'] = null): Observation => ({
  group,
  agent: { reachable: false, state: null, progress: 0, message: '', exitCode: null, error: null },
  cancelRequested: false,
  uploaded,
});

interface Script {
  /** ObserveJob's answer to its n-th call. */
  observe(n: number): Observation;
  /** Callback events handed out, in order, whenever the orchestrator waits for one. */
  callbacks: Record<string, unknown>[];
  /** Win the cancel event once this many callbacks were handed out. */
  cancelAfter?: number;
}

function drive(input: JobInput, script: Script) {
  let now = new Date('2026-01-01T00:00:00.000Z');
  const calls: { name: string; input: Record<string, unknown> }[] = [];
  const statuses: JobStatus[] = [];
  const counts = new Map<string, number>();
  let handed = 0;
  const df = {
    instanceId: input.instanceId,
    isReplaying: false,
    get currentUtcDateTime() {
      return now;
    },
    Task: { any: (tasks: TaskLike[]) => new FakeTask('any', '', undefined, tasks as FakeTask[]) },
    callActivity: (name: string, inp?: unknown) => new FakeTask('activity', name, inp),
    callActivityWithRetry: (name: string, _r: never, inp?: unknown) => new FakeTask('activity', name, inp),
    createTimer: (fireAt: Date) => new FakeTask('timer', '', undefined, [], fireAt),
    waitForExternalEvent: (name: string) => new FakeTask('event', name, undefined),
    setCustomStatus: (s: unknown) => statuses.push(JSON.parse(JSON.stringify(s)) as JobStatus),
    continueAsNew: () => assert.fail('no continueAsNew expected'),
    getInput: <T>() => JSON.parse(JSON.stringify({ job: input })) as T,
  };
  const respond = (name: string, inp: Record<string, unknown>, n: number): unknown => {
    switch (name) {
      case ACTIVITIES.acquireSlot:
        return { granted: true };
      case ACTIVITIES.resolveImage:
        return {
          ok: true,
          value: { imageRef: `batch/r@sha256:${'1'.repeat(64)}`, digest: `sha256:${'1'.repeat(64)}` },
        };
      case ACTIVITIES.createGroup:
        return { ok: true, value: null };
      case ACTIVITIES.getGroup:
        return view();
      case ACTIVITIES.observeJob:
        assert.equal(inp.pull, true, 'the poll is told not to call the agent');
        return script.observe(n);
      case ACTIVITIES.archiveJob:
        assert.equal(inp.pull, true, 'pull mode collects the uploaded links');
        assert.equal(inp.result, true);
        return {
          urls: { result: 'https://r/result.json', 'chart.svg': 'https://r/chart.svg', logs: 'https://r/logs.txt' },
          notes: [],
          failed: {},
        };
      case ACTIVITIES.archiveResult:
        assert.equal(inp.pull, true, 'pull mode collects the uploaded links');
        return { urls: { result: 'https://r/result.json', 'chart.svg': 'https://r/chart.svg' }, notes: [] };
      case ACTIVITIES.archiveLogs:
        return { urls: { logs: 'https://r/logs.txt' }, notes: [] };
      case ACTIVITIES.deleteGroup:
        return { existed: true };
      case ACTIVITIES.releaseSlot:
        return true;
      default:
        throw new Error(`pull mode must not call ${name}`);
    }
  };
  const orchestrator = createJobOrchestrator({ retryOptions: (p) => p, log: () => undefined });
  const gen = orchestrator({ df } as unknown as OrchestrationContextLike);
  let step = gen.next();
  for (let i = 0; !step.done; i++) {
    assert.ok(i < 2000, 'the orchestrator did not finish within the step budget');
    const task = step.value as FakeTask;
    if (task.kind === 'activity') {
      const n = (counts.get(task.name) ?? 0) + 1;
      counts.set(task.name, n);
      calls.push({ name: task.name, input: task.input as Record<string, unknown> });
      step = gen.next(respond(task.name, task.input as Record<string, unknown>, n));
      continue;
    }
    assert.equal(task.kind, 'any');
    const find = (kind: string, name?: string) =>
      task.children.find((c) => c.kind === kind && (!name || c.name === name));
    const cancel = find('event', EVENTS.cancel);
    const ready = find('event', EVENTS.ready);
    const cb = find('event', EVENTS.callback);
    let winner = find('timer')!;
    if (cancel && !cancel.isCompleted && script.cancelAfter !== undefined && handed >= script.cancelAfter)
      winner = cancel;
    else if (ready) winner = ready;
    else if (cb && handed < script.callbacks.length) {
      cb.result = script.callbacks[handed++];
      winner = cb;
    }
    if (winner.fireAt) now = new Date(Math.max(now.getTime(), winner.fireAt.getTime()));
    winner.isCompleted = true;
    step = gen.next(winner);
  }
  return { calls, names: calls.map((c) => c.name), output: step.value as JobStatus, statuses };
}

const final = (type: string, uploaded = true, error?: string) => ({
  type,
  state: type === 'completed' ? 'succeeded' : type,
  exitCode: type === 'completed' ? 0 : 1,
  ...(uploaded ? { uploads: { result: true } } : {}),
  ...(error ? { error } : {}),
});

describe('job orchestrator in pull mode', () => {
  test('Spot happy path: no agent call; started when the agent fetched its start; ends on the final callback', () => {
    const r = drive(jobInput(), { observe: () => obs(view()), callbacks: [{ type: 'started' }, final('completed')] });
    assert.equal(r.output.state, 'succeeded');
    assert.deepEqual(r.names, [
      ACTIVITIES.acquireSlot,
      ACTIVITIES.resolveImage,
      ACTIVITIES.createGroup,
      ACTIVITIES.getGroup,
      ACTIVITIES.observeJob,
      ACTIVITIES.archiveJob,
      ACTIVITIES.deleteGroup,
      ACTIVITIES.releaseSlot,
    ]);
    assert.equal(r.calls.find((c) => c.name === ACTIVITIES.createGroup)?.input.startMode, 'pull');
    assert.ok(
      r.statuses.some((s) => s.phase === 'starting'),
      'the start route answers once the job is starting',
    );
    assert.equal(r.output.container.ip, null);
    assert.deepEqual(r.output.result?.urls, {
      result: 'https://r/result.json',
      'chart.svg': 'https://r/chart.svg',
      logs: 'https://r/logs.txt',
    });
  });

  test('an eviction seen by the poll is a retried attempt even with onFailure delete; the status counts it', () => {
    const evicted = view({ restartCount: 1 }, 'Evicted: the Spot group was evicted');
    const r = drive(jobInput(), {
      observe: (n) => (n === 1 ? obs(evicted) : obs(view({ restartCount: 1 }, 'Evicted: x'))),
      callbacks: [{ type: 'started' }, { type: 'ready' }, { type: 'started' }, final('completed')],
    });
    assert.equal(r.output.state, 'succeeded');
    assert.equal(r.output.attempts, 2);
    assert.equal(r.output.evictions, 1);
    assert.ok(!r.names.includes(ACTIVITIES.restartGroup), 'ACI restarts an evicted group itself');
    assert.ok(r.statuses.some((s) => s.state === 'starting' && /Evicted \(Spot, 1 eviction/.test(s.message)));
  });

  test('one eviction seen twice (the poll, then the killed agent’s late SIGTERM callback) counts once', () => {
    const sigterm = final('canceled', false, 'AgentShutdown');
    const r = drive(jobInput(), {
      observe: () => obs(view({ restartCount: 1 }, 'Evicted: x')),
      callbacks: [{ type: 'started' }, { type: 'ready' }, sigterm, { type: 'started' }, final('completed')],
    });
    assert.equal(r.output.state, 'succeeded');
    assert.equal(r.output.evictions, 1);
    assert.equal(r.output.attempts, 2);
  });

  test('one eviction seen twice (the SIGTERM callback first, then the restarted group) counts once', () => {
    const sigterm = final('canceled', false, 'AgentShutdown');
    const r = drive(jobInput(), {
      observe: (n) => obs(n === 1 ? view() : view({ restartCount: 1 }, 'Evicted: x')),
      callbacks: [
        { type: 'started' },
        sigterm,
        { type: 'started' },
        { type: 'progress', progress: 0.5 },
        final('completed'),
      ],
    });
    assert.equal(r.output.state, 'succeeded');
    assert.equal(r.output.evictions, 1);
  });

  test('a final callback after SIGTERM without uploads is an eviction too; evictions stop at max(3, maxAttempts)', () => {
    const stopped = final('canceled', false, 'AgentShutdown');
    const r = drive(jobInput(), {
      observe: () => obs(view()),
      callbacks: [{ type: 'started' }, stopped, { type: 'started' }, stopped, { type: 'started' }, stopped],
    });
    assert.equal(r.output.state, 'failed');
    assert.equal(r.output.error?.code, 'SpotEvicted');
    assert.equal(r.output.attempts, 3);
    assert.equal(r.output.evictions, 3);
  });

  test('a Regular pull-mode group stopped by SIGTERM is a failed attempt (onFailure decides), not an eviction', () => {
    const r = drive(jobInput({ priority: 'Regular' }), {
      observe: () => obs(view()),
      callbacks: [{ type: 'started' }, final('canceled', false, 'AgentShutdown')],
    });
    assert.equal(r.output.state, 'failed');
    assert.equal(r.output.error?.code, 'ContainerExited');
    assert.equal(r.output.evictions, undefined);
  });

  test('the safety poll: exit 3 (no start came) fails the attempt; exit 0 with an uploaded success succeeds', () => {
    const noStart = drive(jobInput(), {
      observe: () => obs(view({ state: 'Terminated', exitCode: 3 })),
      callbacks: [{ type: 'started' }],
    });
    assert.equal(noStart.output.error?.code, 'AgentUnreachable');
    assert.match(noStart.output.error?.message ?? '', /exit code 3/);
    const lost = drive(jobInput(), {
      observe: () => obs(view({ state: 'Terminated', exitCode: 0 }), { state: 'succeeded' }),
      callbacks: [{ type: 'started' }],
    });
    assert.equal(lost.output.state, 'succeeded', 'a lost final callback is caught by the poll');
  });

  test('cancel while running: no agent call; teardown waits for the agent to confirm, then deletes', () => {
    const r = drive(jobInput({ onComplete: 'keep' }), {
      observe: () => obs(view()),
      callbacks: [{ type: 'started' }, { type: 'progress', progress: 0.2 }, final('canceled', false)],
      cancelAfter: 2,
    });
    assert.equal(r.output.state, 'canceled');
    assert.equal(r.output.container.state, 'deleted');
    assert.ok(!r.output.message.includes('did not confirm'), r.output.message);
    assert.deepEqual(r.names.slice(-2), [ACTIVITIES.deleteGroup, ACTIVITIES.releaseSlot]);
  });
});

describe('pull-mode decisions', () => {
  test('eviction: a restart ACI did by itself, or a terminated container whose detail says Evicted', () => {
    assert.equal(wasEvicted(view({ restartCount: 1 }), 0), true);
    assert.equal(wasEvicted(view({ restartCount: 1 }), 1), false);
    assert.equal(wasEvicted(view({ state: 'Terminated', exitCode: 137, detailStatus: 'Evicted' }), 0), true);
    assert.equal(wasEvicted(view({ state: 'Terminated', exitCode: 137, detailStatus: 'OOMKilled' }), 0), false);
  });

  test('exit code 4 without an uploaded result fails the attempt naming the lost final callback', () => {
    const d = decidePullObservation(obs(view({ state: 'Terminated', exitCode: 4 })), 0);
    assert.equal(d.kind, 'attemptFailed');
    assert.match(d.kind === 'attemptFailed' ? d.error.message : '', /exit code 4/);
  });
});
