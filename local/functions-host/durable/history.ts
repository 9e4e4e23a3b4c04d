// History events in the shape durable-functions' replay engine reads (protocol doc §3.1):
// PascalCase fields, numeric EventType, EventId = sequence number for events the orchestrator
// produced and -1 otherwise.

export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionFailed: 2,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventSent: 14,
  EventRaised: 15,
  ContinueAsNew: 16,
  GenericEvent: 17,
  HistoryState: 18,
  ExecutionSuspended: 19,
  ExecutionResumed: 20,
} as const;

export const eventTypeName: Record<number, string> = Object.fromEntries(
  Object.entries(EventType).map(([k, v]) => [v, k]),
);

export interface HistoryEvent {
  EventType: number;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  [field: string]: unknown;
}

export function historyEvent(
  type: number,
  at: number,
  fields: Record<string, unknown> = {},
  eventId = -1,
): HistoryEvent {
  return { EventType: type, EventId: eventId, IsPlayed: false, Timestamp: new Date(at).toISOString(), ...fields };
}

/** Action types of durable-functions' V2 replay schema (DF/actions/ActionType.js). */
export const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
  ReleaseEntities: 14,
} as const;

export interface RetryOptions {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

export interface Action {
  actionType: number;
  functionName?: string;
  input?: unknown;
  retryOptions?: RetryOptions;
  instanceId?: string;
  version?: string;
  fireAt?: string | Date;
  isCanceled?: boolean;
  externalEventName?: string;
  compoundActions?: Action[];
  httpRequest?: { method?: string; uri?: string };
}

/**
 * Flattens the (cumulative, V2) action tree depth-first and de-duplicates by object identity: a task
 * that was scheduled earlier and appears again inside a later Task.any/all keeps its first position
 * and must not get a new sequence number (protocol doc §3.3).
 */
export function flattenActions(actions: unknown): Action[] {
  const out: Action[] = [];
  const seen = new Set<object>();
  const visit = (a: Action): void => {
    if (a === null || typeof a !== 'object') return;
    if (a.actionType === ActionType.WhenAll || a.actionType === ActionType.WhenAny) {
      for (const child of a.compoundActions ?? []) visit(child);
      return;
    }
    if (seen.has(a)) return;
    seen.add(a);
    out.push(a);
  };
  if (Array.isArray(actions)) {
    for (const group of actions) {
      if (Array.isArray(group)) for (const a of group) visit(a as Action);
      else visit(group as Action);
    }
  }
  return out;
}

/** What identifies a step for the determinism check: its kind and the name it targets. */
export function actionSignature(a: Action): string {
  switch (a.actionType) {
    case ActionType.CallActivity:
      return `CallActivity '${a.functionName}'`;
    case ActionType.CallActivityWithRetry:
      return `CallActivityWithRetry '${a.functionName}'`;
    case ActionType.CallSubOrchestrator:
      return `CallSubOrchestrator '${a.functionName}'`;
    case ActionType.CallSubOrchestratorWithRetry:
      return `CallSubOrchestratorWithRetry '${a.functionName}'`;
    case ActionType.ContinueAsNew:
      return 'ContinueAsNew';
    case ActionType.CreateTimer:
      return 'CreateTimer';
    case ActionType.WaitForExternalEvent:
      return `WaitForExternalEvent '${a.externalEventName}'`;
    case ActionType.CallEntity:
      return 'CallEntity';
    case ActionType.SignalEntity:
      return 'SignalEntity';
    case ActionType.LockEntities:
      return 'LockEntities';
    case ActionType.ReleaseEntities:
      return 'ReleaseEntities';
    case ActionType.CallHttp:
      return `CallHttp ${a.httpRequest?.method ?? ''} ${a.httpRequest?.uri ?? ''}`;
    default:
      return `ActionType ${a.actionType}`;
  }
}

/**
 * durable-functions JSON-encodes string inputs of activities and continueAsNew (Utils.processInput),
 * leaving other values raw; either way this returns the JSON text of the value the user passed.
 */
export function encodedInputText(input: unknown): string | null {
  if (input === undefined) return null;
  if (typeof input === 'string') return input;
  return JSON.stringify(input) ?? null;
}

/** Delay before retry attempt n+1 after `failures` failures (protocol doc §5.3). */
export function retryDelay(options: RetryOptions, failures: number): number {
  const first = Math.max(0, Number(options.firstRetryIntervalInMilliseconds) || 0);
  const coefficient = Number(options.backoffCoefficient ?? 1) || 1;
  let delay = first * Math.pow(coefficient, Math.max(0, failures - 1));
  const max = Number(options.maxRetryIntervalInMilliseconds);
  if (Number.isFinite(max) && max > 0) delay = Math.min(delay, max);
  return Math.min(delay, 2 ** 31 - 1);
}
