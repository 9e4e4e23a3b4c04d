// The episode planner is pure: what an orchestrator's actions mean for the store (events, work items,
// timers, children, self-messages) and how the episode ends, checked without a host, a store or a clock.
// The rules follow the protocol doc (shared/docs/durable-host-protocol.md §3.3 implicit retry ids,
// §5.3 retries) and the durable-functions V2 action schema (DF/actions/ActionType.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshEvents, planEpisode, type EpisodeInput } from '../../local/functions-host/durable/episode-planner';
import { ActionType, EventType, historyEvent, type Action } from '../../local/functions-host/durable/history';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');
const row = { id: 'i1', name: 'Orch', generation: 0, next_seq: 0, parent_id: null, custom_status: null };
const started = { event: historyEvent(EventType.ExecutionStarted, NOW, { Name: 'Orch' }), meta: null };

function plan(over: Partial<EpisodeInput> & { actions?: Action[]; isDone?: boolean; output?: unknown }) {
  const batch = over.batch ?? [started];
  return planEpisode({
    row: over.row ?? row,
    known: over.known ?? [],
    batch,
    fresh: freshEvents(batch, NOW),
    now: NOW,
    outcome: over.outcome ?? {
      state: { isDone: over.isDone ?? false, actions: [over.actions ?? []], output: over.output },
    },
    hasOrchestrator: over.hasOrchestrator ?? ((n) => n.toLowerCase() === 'child'),
  });
}

test('fresh events: OrchestratorStarted at the episode time, then the batch in order', () => {
  const fresh = freshEvents([started], NOW);
  assert.deepEqual(
    fresh.map((e) => e.EventType),
    [EventType.OrchestratorStarted, EventType.ExecutionStarted],
  );
  assert.equal(fresh[0]!.Timestamp, '2026-01-01T00:00:00.000Z');
});

test('new actions get consecutive ids from next_seq: activity, timer, event wait, running', () => {
  const p = plan({
    row: { ...row, next_seq: 3 },
    actions: [
      { actionType: ActionType.CallActivity, functionName: 'Work', input: { a: 1 } },
      { actionType: ActionType.CreateTimer, fireAt: '2026-01-01T00:01:00.000Z', isCanceled: false },
      { actionType: ActionType.WaitForExternalEvent, externalEventName: 'Go' },
    ],
  });
  assert.equal(p.end.kind, 'running');
  assert.equal(p.nextSeq, 5);
  assert.deepEqual(
    p.post.map((e) => [e.EventType, e.EventId]),
    [
      [EventType.TaskScheduled, 3],
      [EventType.TimerCreated, 4],
    ],
  );
  assert.deepEqual(p.work, [{ instance_id: 'i1', generation: 0, seq: 3, name: 'Work', input: '{"a":1}', meta: null }]);
  assert.deepEqual(p.timers, [{ seq: 4, fireAt: NOW + 60_000, meta: null }]);
  assert.deepEqual(p.newActions, [
    { sig: "CallActivity 'Work'", seq: 3 },
    { sig: 'CreateTimer', seq: 4 },
    { sig: "WaitForExternalEvent 'Go'", seq: -1 },
  ]);
});

test('a step that differs from the recorded history fails the episode as non-deterministic', () => {
  const p = plan({
    known: [{ sig: "CallActivity 'A'", seq: 0 }],
    actions: [{ actionType: ActionType.CallActivity, functionName: 'B' }],
  });
  assert.equal(p.end.kind, 'failed');
  assert.match(
    p.end.kind === 'failed' ? p.end.message : '',
    /^Orchestrator function 'Orch' failed: Non-deterministic workflow detected: at step 1 the history has CallActivity 'A' but the orchestrator code now schedules CallActivity 'B'/,
  );
  assert.deepEqual(p.work, []);
});

test('a recorded timer the orchestrator now cancels is reported once, by its index', () => {
  const timer = { actionType: ActionType.CreateTimer, fireAt: '2026-01-01T00:01:00.000Z', isCanceled: true };
  const p = plan({
    known: [
      { sig: "CallActivity 'A'", seq: 0 },
      { sig: 'CreateTimer', seq: 1 },
    ],
    actions: [{ actionType: ActionType.CallActivity, functionName: 'A' }, timer],
  });
  assert.deepEqual(p.canceledTimers, [1]);
  const again = plan({ known: [{ sig: 'CreateTimer', seq: 1, canceled: true }], actions: [timer] });
  assert.deepEqual(again.canceledTimers, []);
});

test('a failed attempt with retries left reserves the retry timer id before any new action (§3.3, §5.3)', () => {
  const retry = {
    kind: 'activity' as const,
    name: 'Work',
    input: '1',
    options: { firstRetryIntervalInMilliseconds: 1000, maxNumberOfAttempts: 3, backoffCoefficient: 2 },
    failures: 2,
  };
  const failed = { event: historyEvent(EventType.TaskFailed, NOW, { TaskScheduledId: 0 }), meta: { retry } };
  const p = plan({
    row: { ...row, next_seq: 1 },
    batch: [failed],
    known: [{ sig: "CallActivityWithRetry 'Work'", seq: 0 }],
    actions: [
      { actionType: ActionType.CallActivityWithRetry, functionName: 'Work', input: 1 },
      { actionType: ActionType.CallActivity, functionName: 'Next' },
    ],
  });
  // 1000 * 2^(2-1) = 2000 ms after the failure.
  assert.deepEqual(p.timers[0], { seq: 1, fireAt: NOW + 2000, meta: { retry } });
  assert.equal(p.work[0]!.seq, 2);
  assert.equal(p.nextSeq, 3);
});

test('a fired retry timer schedules the next attempt with the retry state carried along', () => {
  const retry = {
    kind: 'activity' as const,
    name: 'Work',
    input: '1',
    options: { firstRetryIntervalInMilliseconds: 10, maxNumberOfAttempts: 3 },
    failures: 1,
  };
  const fired = { event: historyEvent(EventType.TimerFired, NOW, { TimerId: 1 }), meta: { retry } };
  const p = plan({ row: { ...row, next_seq: 2 }, batch: [fired], known: [], actions: [] });
  assert.deepEqual(p.work, [
    { instance_id: 'i1', generation: 0, seq: 2, name: 'Work', input: '1', meta: JSON.stringify({ retry }) },
  ]);
  // No attempt is left after the last one.
  const spent = plan({ batch: [{ ...fired, meta: { retry: { ...retry, failures: 3 } } }], actions: [] });
  assert.deepEqual(spent.work, []);
});

test('sub-orchestrations: a missing orchestrator or an invalid id fails at once; a valid one is created', () => {
  const p = plan({
    row: { ...row, generation: 2 },
    actions: [
      { actionType: ActionType.CallSubOrchestrator, functionName: 'Missing' },
      { actionType: ActionType.CallSubOrchestrator, functionName: 'Child', instanceId: 'i1' },
      { actionType: ActionType.CallSubOrchestrator, functionName: 'Child', input: { x: 1 } },
    ],
  });
  assert.deepEqual(
    p.selfMessages.map((m) => [m.event.EventType, m.event.TaskScheduledId, m.event.Reason]),
    [
      [
        EventType.SubOrchestrationInstanceFailed,
        0,
        "The function 'Missing' doesn't exist, is disabled, or is not an orchestrator function.",
      ],
      [EventType.SubOrchestrationInstanceFailed, 1, "Invalid sub-orchestration instance ID 'i1'."],
    ],
  );
  // The implicit child id names the generation after the first one.
  assert.deepEqual(p.children, [
    { seq: 2, name: 'Child', id: 'i1:2:2', inputText: '{"x":1}', version: undefined, retry: undefined },
  ]);
});

test('the end of an episode: completed with its output, continued as new, failed by the orchestrator', () => {
  const done = plan({ isDone: true, output: { r: 1 } });
  assert.equal(done.end.kind, 'completed');
  assert.equal(done.end.kind === 'completed' && done.end.outputText, '{"r":1}');
  const none = plan({ isDone: true }).end;
  // No return value is the JSON null.
  assert.equal(none.kind === 'completed' ? none.outputText : undefined, 'null');
  const can = plan({ isDone: true, actions: [{ actionType: ActionType.ContinueAsNew, input: 'next' }] });
  assert.deepEqual(can.end, { kind: 'continueAsNew', inputText: 'next' });
  const threw = plan({ outcome: { failure: 'boom', failureDetails: { ErrorType: 'Error' } } });
  assert.equal(threw.end.kind, 'failed');
  assert.deepEqual(threw.end.kind === 'failed' && threw.end.event.FailureDetails, { ErrorType: 'Error' });
});

test('unsupported actions fail the episode with a message naming them', () => {
  const entity = plan({ actions: [{ actionType: ActionType.CallEntity }] });
  assert.match(entity.end.kind === 'failed' ? entity.end.failure : '', /Durable entities are not supported/);
  const http = plan({
    actions: [
      {
        actionType: ActionType.CallHttp,
        httpRequest: { method: 'GET', uri: 'http://x', tokenSource: {} } as Action['httpRequest'],
      },
    ],
  });
  assert.match(http.end.kind === 'failed' ? http.end.failure : '', /callHttp with a tokenSource/);
});

test('custom status: a falsy value (0, "", false, null) keeps the previous one', () => {
  const withOld = { ...row, custom_status: '"old"' };
  for (const customStatus of [0, '', false, null, undefined])
    assert.equal(plan({ row: withOld, outcome: { state: { actions: [], customStatus } } }).customStatus, '"old"');
  assert.equal(
    plan({ row: withOld, outcome: { state: { actions: [], customStatus: { p: 1 } } } }).customStatus,
    '{"p":1}',
  );
});
