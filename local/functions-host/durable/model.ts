// The durable engine's in-memory model (instances, inbox messages, activity jobs, retry state) and the
// small pure helpers every part of the engine shares: the replay form of events, ExecutionStarted,
// child instance ids, retry options, instance-id validation.
import { HostError, errorMessage } from '../errors';
import type { InputData } from '../invoker';
import type { RegisteredFunction } from '../core-shim';
import { EventType as EventTypes, historyEvent, type HistoryEvent, type RetryOptions } from './history';
import type { InstanceRow, WorkItemRow } from './store';

// Local copy: the hot path reads these constants thousands of times per second.
export const EventType = { ...EventTypes };

export const terminalStatuses = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

/** A retry in progress (protocol doc §5.3): carried by work items, failures and retry timers. */
export interface RetryState {
  kind: 'activity' | 'orchestrator';
  name: string;
  input: string | null; // activity: JSON text of the decoded input; orchestrator: JSON text of the input
  instanceId?: string; // explicit sub-orchestration id, reused by every attempt
  version?: string;
  options: RetryOptions;
  failures: number;
}

export interface Meta {
  retry?: RetryState;
}

export interface InboxMessage {
  rowId: number;
  kind: 'event' | 'terminate' | 'suspend' | 'resume';
  generation: number | null;
  event: HistoryEvent | null; // for kind 'event'
  reason?: string;
  meta: Meta | null;
}

export type ReplayEvent = Record<string, unknown> & { EventType: number };

export interface Instance {
  row: InstanceRow;
  historyLength: number; // events of the current generation in the store
  /**
   * The events durable-functions' replay reads (protocol doc §3.1), in compact form: scheduling,
   * OrchestratorCompleted and suspend/resume events are left out, which halves what every episode
   * replays. The store keeps the full history for status queries.
   */
  replay: ReplayEvent[];
  actions: { sig: string; seq: number; canceled?: boolean }[];
  inbox: InboxMessage[];
  busy: boolean;
  kickScheduled?: boolean;
}

export interface ActivityJob {
  workItemId: number;
  instanceId: string;
  generation: number;
  seq: number;
  name: string;
  input: string | null;
  meta: Meta | null;
}

export interface DurableFunctions {
  orchestrators: Map<string, RegisteredFunction>; // keyed by lower-case name
  activities: Map<string, RegisteredFunction>;
}

export interface EngineOptions {
  maxActivities: number;
  /** Called when a store write fails; the CLI exits so that a restart recovers from the store. */
  onFatal: (err: unknown) => void;
  /** Builds the durable-client binding data for functions that declare one. */
  clientInputs: (fn: RegisteredFunction) => InputData[];
}

const notReplayed = new Set<number>([
  EventType.TaskScheduled,
  EventType.SubOrchestrationInstanceCreated,
  EventType.TimerCreated,
  EventType.OrchestratorCompleted,
  EventType.ExecutionSuspended,
  EventType.ExecutionResumed,
  EventType.ExecutionCompleted,
  EventType.ExecutionTerminated,
]);

/**
 * The form of an event the replay engine gets: without the fields it never reads (it reads Timestamp
 * only on OrchestratorStarted and EventId only on EventSent).
 * Events other than OrchestratorStarted then carry no Timestamp, so the library never mutates them
 * and they can be shared between episodes.
 */
export function replayObject(e: HistoryEvent): ReplayEvent | undefined {
  if (notReplayed.has(e.EventType)) return undefined;
  const ts = e.Timestamp as unknown;
  if (e.EventType === EventType.OrchestratorStarted)
    return { EventType: e.EventType, Timestamp: ts instanceof Date ? ts.toISOString() : ts };
  if (e.EventType === EventType.EventSent) return { ...e };
  // IsPlayed stays (as false): the library copies it into context.df.isReplaying, which must be a boolean.
  const { EventId: _id, Timestamp: _at, ...rest } = e;
  return { ...rest, IsPlayed: false } as ReplayEvent;
}

export function appendEvents(inst: Instance, texts: string[]): void {
  inst.historyLength += texts.length;
  for (const t of texts) {
    const r = replayObject(JSON.parse(t) as HistoryEvent);
    if (r) inst.replay.push(r);
  }
}

export function toJob(w: WorkItemRow): ActivityJob {
  return {
    workItemId: w.id,
    instanceId: w.instance_id,
    generation: w.generation,
    seq: w.seq,
    name: w.name,
    input: w.input,
    meta: w.meta ? (JSON.parse(w.meta) as Meta) : null,
  };
}

export function executionStarted(
  name: string,
  inputText: string | null,
  version: string | undefined,
  parent: { id: string } | undefined,
  at: number,
): HistoryEvent {
  const fields: Record<string, unknown> = { Name: name, Version: version ?? '' };
  if (inputText !== null) fields.Input = inputText;
  if (parent) fields.ParentInstance = { OrchestrationInstance: { InstanceId: parent.id } };
  return historyEvent(EventType.ExecutionStarted, at, fields);
}

export function childInstanceId(row: Pick<InstanceRow, 'id' | 'generation'>, seq: number): string {
  return row.generation === 0 ? `${row.id}:${seq}` : `${row.id}:${row.generation}:${seq}`;
}

export function normalizeRetry(o: RetryOptions | undefined): RetryOptions {
  return {
    firstRetryIntervalInMilliseconds: Number(o?.firstRetryIntervalInMilliseconds ?? 0),
    maxNumberOfAttempts: Math.max(1, Number(o?.maxNumberOfAttempts ?? 1)),
    backoffCoefficient: o?.backoffCoefficient,
    maxRetryIntervalInMilliseconds: o?.maxRetryIntervalInMilliseconds,
    retryTimeoutInMilliseconds: o?.retryTimeoutInMilliseconds,
  };
}

export function validateInstanceId(id: string): void {
  if (id.length === 0 || id.length > 256)
    throw new HostError('BadRequest', 'Instance IDs must be 1 to 256 characters long.', 400);
  if (id.startsWith('@')) throw new HostError('BadRequest', `Instance ID '${id}' must not start with '@'.`, 400);
  if (/[\u0000-\u001f\u007f/\\#?]/.test(id))
    throw new HostError(
      'BadRequest',
      `Instance ID '${id}' contains a character that is not allowed (/ \\ # ? or a control character).`,
      400,
    );
}

/**
 * The message of a failed episode (the user's error from OrchestrationFailureError, or the raw
 * rejection) and, when the orchestrator let a TaskFailedError escape, its FailureDetails (PascalCase).
 */
export function orchestratorError(err: unknown): { message: string; failureDetails?: unknown } {
  const message = errorMessage(err);
  const label = '$OutOfProcData$:';
  const at = message.indexOf(label);
  if (at >= 0) {
    try {
      const state = JSON.parse(message.slice(at + label.length)) as { error?: string; failureDetails?: unknown };
      return {
        message: state.error ?? 'the orchestrator threw a value that is not an Error',
        failureDetails: state.failureDetails ?? undefined,
      };
    } catch {
      /* fall through */
    }
  }
  return { message };
}
