import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ActionType,
  actionSignature,
  encodedInputText,
  flattenActions,
  retryDelay,
  type Action,
} from '../../local/functions-host/durable/history';

test('flattenActions walks compound actions depth-first and keeps each task once (by identity)', () => {
  const a: Action = { actionType: ActionType.CallActivity, functionName: 'A' };
  const b: Action = { actionType: ActionType.CallActivity, functionName: 'B' };
  const ev: Action = { actionType: ActionType.WaitForExternalEvent, externalEventName: 'Go' };
  const t: Action = { actionType: ActionType.CreateTimer, fireAt: '2026-01-01T00:00:00.000Z', isCanceled: false };
  // a was yielded alone, then again inside Task.any with a nested Task.all.
  const actions = [
    [
      a,
      {
        actionType: ActionType.WhenAny,
        compoundActions: [a, { actionType: ActionType.WhenAll, compoundActions: [b, ev] }, t],
      },
    ],
  ];
  assert.deepEqual(flattenActions(actions), [a, b, ev, t]);
  // Structurally equal but distinct objects are distinct tasks.
  const a2: Action = { ...a };
  assert.deepEqual(flattenActions([[a, a2]]), [a, a2]);
  assert.deepEqual(flattenActions(undefined), []);
});

test('signatures name the step kind and its target, not volatile fields', () => {
  assert.equal(
    actionSignature({ actionType: ActionType.CallActivity, functionName: 'X', input: 1 }),
    "CallActivity 'X'",
  );
  assert.equal(actionSignature({ actionType: ActionType.CreateTimer, fireAt: 'a', isCanceled: true }), 'CreateTimer');
  assert.equal(
    actionSignature({ actionType: ActionType.WaitForExternalEvent, externalEventName: 'E' }),
    "WaitForExternalEvent 'E'",
  );
  assert.equal(
    actionSignature({ actionType: ActionType.CallSubOrchestratorWithRetry, functionName: 'C' }),
    "CallSubOrchestratorWithRetry 'C'",
  );
});

test('inputs: strings arrive JSON-encoded by durable-functions, other values raw', () => {
  assert.equal(encodedInputText('"Tokyo"'), '"Tokyo"');
  assert.equal(encodedInputText({ a: 1 }), '{"a":1}');
  assert.equal(encodedInputText(3), '3');
  assert.equal(encodedInputText(undefined), null);
});

test('retry delays: first * coefficient^(failures-1), capped', () => {
  const o = {
    firstRetryIntervalInMilliseconds: 100,
    maxNumberOfAttempts: 5,
    backoffCoefficient: 2,
    maxRetryIntervalInMilliseconds: 500,
  };
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((n) => retryDelay(o, n)),
    [100, 200, 400, 500, 500],
  );
  assert.equal(retryDelay({ firstRetryIntervalInMilliseconds: 50, maxNumberOfAttempts: 3 }, 3), 50);
});
