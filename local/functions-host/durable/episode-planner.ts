// The episode planner: from an instance's state, the messages of one episode and what the
// orchestrator returned, it decides — purely, no clock, no store, no I/O — which events to record,
// which activities, timers and sub-orchestrations to start, and how the episode ends (failed,
// completed, continued as new, or still running). The engine executes the plan in one transaction.
import type { DurableHttpRequest } from './call-http';
import { httpActivityName } from './call-http';
import {
  ActionType as ActionTypes,
  actionSignature,
  encodedInputText,
  flattenActions,
  historyEvent,
  retryDelay,
  type Action,
  type HistoryEvent,
} from './history';
import { childInstanceId, EventType, normalizeRetry, type InboxMessage, type Meta, type RetryState } from './model';
import type { InstanceRow, WorkItemRow } from './store';

// Local copy: the hot path reads these constants thousands of times per second.
const ActionType = { ...ActionTypes };

/** What durable-functions' `Orchestrator.handle` returns (schema V2). */
export interface OrchestratorState {
  isDone?: boolean;
  actions?: unknown;
  output?: unknown;
  customStatus?: unknown;
}

export interface ChildStart {
  seq: number;
  name: string;
  id: string;
  inputText: string | null;
  version?: string;
  retry?: RetryState;
}

export interface EpisodeInput {
  row: Pick<InstanceRow, 'id' | 'name' | 'generation' | 'next_seq' | 'parent_id' | 'custom_status'>;
  /** The steps materialized in earlier episodes of this generation. */
  known: ReadonlyArray<{ sig: string; seq: number; canceled?: boolean }>;
  /** The episode's messages (their events follow OrchestratorStarted in `fresh`). */
  batch: ReadonlyArray<Pick<InboxMessage, 'event' | 'meta'>>;
  /** OrchestratorStarted plus the batch's events: what the orchestrator was replayed with. */
  fresh: HistoryEvent[];
  now: number;
  /** The orchestrator's result, or why there is none. */
  outcome: { state?: OrchestratorState; failure?: string; failureDetails?: unknown };
  hasOrchestrator: (name: string) => boolean;
}

export type EpisodeEnd =
  | { kind: 'failed'; message: string; failure: string; failureDetails: unknown; event: HistoryEvent }
  | { kind: 'continueAsNew'; inputText: string | null }
  | { kind: 'completed'; outputText: string; event: HistoryEvent }
  | { kind: 'running' };

export interface EpisodePlan {
  end: EpisodeEnd;
  /** Events for the actions the host takes in this episode (scheduled, created), after `fresh`. */
  post: HistoryEvent[];
  /** OrchestratorCompleted, recorded after `post`. */
  completed: HistoryEvent;
  nextSeq: number;
  work: Omit<WorkItemRow, 'id'>[];
  timers: { seq: number; fireAt: number; meta: Meta | null }[];
  /** Sub-orchestrations to create (those that failed at once are in `selfMessages`). */
  children: ChildStart[];
  /** Messages the instance sends itself (sub-orchestrations that failed at once). */
  selfMessages: { event: HistoryEvent; meta: Meta | null }[];
  newActions: { sig: string; seq: number }[];
  /** Indexes into `known` of timers the orchestrator canceled in this episode. */
  canceledTimers: number[];
  customStatus: string | null;
}

/** OrchestratorStarted and the batch's events: the new part of the history one episode replays. */
export function freshEvents(batch: ReadonlyArray<Pick<InboxMessage, 'event'>>, now: number): HistoryEvent[] {
  const fresh: HistoryEvent[] = [historyEvent(EventType.OrchestratorStarted, now)];
  for (const m of batch) fresh.push(m.event!);
  return fresh;
}

export function planEpisode(input: EpisodeInput): EpisodePlan {
  const { row, batch, now } = input;
  let nextSeq = row.next_seq;
  const post: HistoryEvent[] = [];
  const work: Omit<WorkItemRow, 'id'>[] = [];
  const timers: EpisodePlan['timers'] = [];
  const children: ChildStart[] = [];
  const selfMessages: EpisodePlan['selfMessages'] = [];
  const canceledTimers: number[] = [];

  // Implicit ids of retries (protocol doc §3.3), reserved before any new action's id.
  const only = batch.length === 1 ? batch[0]! : undefined;
  const retry = only?.meta?.retry;
  if (only && retry) {
    const type = only.event!.EventType;
    if (type === EventType.TaskFailed || type === EventType.SubOrchestrationInstanceFailed) {
      const seq = nextSeq++;
      const fireAt = now + retryDelay(retry.options, retry.failures);
      post.push(historyEvent(EventType.TimerCreated, now, { FireAt: new Date(fireAt).toISOString() }, seq));
      timers.push({ seq, fireAt, meta: { retry } });
    } else if (type === EventType.TimerFired && retry.failures < retry.options.maxNumberOfAttempts) {
      const seq = nextSeq++;
      if (retry.kind === 'activity') {
        post.push(
          historyEvent(EventType.TaskScheduled, now, { Name: retry.name, Input: retry.input ?? undefined }, seq),
        );
        work.push({
          instance_id: row.id,
          generation: row.generation,
          seq,
          name: retry.name,
          input: retry.input,
          meta: JSON.stringify({ retry }),
        });
      } else {
        const childId = retry.instanceId ?? childInstanceId(row, seq);
        post.push(
          historyEvent(
            EventType.SubOrchestrationInstanceCreated,
            now,
            { Name: retry.name, InstanceId: childId, Input: retry.input ?? undefined },
            seq,
          ),
        );
        children.push({ seq, name: retry.name, id: childId, inputText: retry.input, version: retry.version, retry });
      }
    }
  }

  const state = input.outcome.state;
  let failure = input.outcome.failure;
  let continueAsNew: Action | undefined;
  const newActions: { sig: string; seq: number }[] = [];
  if (state && failure === undefined) {
    const flat = flattenActions(state.actions);
    // Determinism: the steps materialized in earlier episodes must come back unchanged.
    for (let i = 0; i < input.known.length; i++) {
      const had = input.known[i]!;
      const a = flat[i];
      const now_ = a ? actionSignature(a) : undefined;
      if (now_ !== had.sig) {
        failure =
          `Non-deterministic workflow detected: at step ${i + 1} the history has ${had.sig} but the orchestrator code now ${now_ ? `schedules ${now_}` : 'schedules nothing'}. ` +
          'Orchestrator code must be deterministic; a changed orchestrator needs a new name or a restart of its instances.';
        break;
      }
      if (a!.actionType === ActionType.CreateTimer && a!.isCanceled && !had.canceled) canceledTimers.push(i);
    }
    for (let i = input.known.length; failure === undefined && i < flat.length; i++) {
      const a = flat[i]!;
      const sig = actionSignature(a);
      switch (a.actionType) {
        case ActionType.CallActivity:
        case ActionType.CallActivityWithRetry: {
          const seq = nextSeq++;
          const input = encodedInputText(a.input);
          const name = String(a.functionName);
          post.push(historyEvent(EventType.TaskScheduled, now, { Name: name, Input: input ?? undefined }, seq));
          const meta: Meta | null =
            a.actionType === ActionType.CallActivityWithRetry
              ? { retry: { kind: 'activity', name, input, options: normalizeRetry(a.retryOptions), failures: 0 } }
              : null;
          work.push({
            instance_id: row.id,
            generation: row.generation,
            seq,
            name,
            input,
            meta: meta ? JSON.stringify(meta) : null,
          });
          newActions.push({ sig, seq });
          break;
        }
        case ActionType.CallSubOrchestrator:
        case ActionType.CallSubOrchestratorWithRetry: {
          const seq = nextSeq++;
          const name = String(a.functionName);
          const inputText = a.input === undefined ? null : (JSON.stringify(a.input) ?? null);
          const childId = a.instanceId || childInstanceId(row, seq);
          post.push(
            historyEvent(
              EventType.SubOrchestrationInstanceCreated,
              now,
              { Name: name, InstanceId: childId, Input: inputText ?? undefined },
              seq,
            ),
          );
          const r: RetryState | undefined =
            a.actionType === ActionType.CallSubOrchestratorWithRetry
              ? {
                  kind: 'orchestrator',
                  name,
                  input: inputText,
                  instanceId: a.instanceId || undefined,
                  version: a.version,
                  options: normalizeRetry(a.retryOptions),
                  failures: 0,
                }
              : undefined;
          children.push({ seq, name, id: childId, inputText, version: a.version, retry: r });
          newActions.push({ sig, seq });
          break;
        }
        case ActionType.CreateTimer: {
          const seq = nextSeq++;
          const fireAtText = a.fireAt instanceof Date ? a.fireAt.toISOString() : String(a.fireAt);
          post.push(historyEvent(EventType.TimerCreated, now, { FireAt: fireAtText }, seq));
          if (!a.isCanceled) timers.push({ seq, fireAt: Date.parse(fireAtText), meta: null });
          newActions.push({ sig, seq });
          break;
        }
        case ActionType.WaitForExternalEvent:
          newActions.push({ sig, seq: -1 });
          break;
        case ActionType.ContinueAsNew:
          continueAsNew = a;
          newActions.push({ sig, seq: -1 });
          break;
        case ActionType.CallEntity:
        case ActionType.SignalEntity:
        case ActionType.LockEntities:
        case ActionType.ReleaseEntities:
          failure = `Durable entities are not supported by the local host (the orchestrator used ${sig}).`;
          break;
        case ActionType.CallHttp: {
          const request = (a.httpRequest ?? {}) as DurableHttpRequest;
          if (request.tokenSource) {
            failure = `callHttp with a tokenSource (managed identity) is not supported by the local host (${sig.trim()}).`;
            break;
          }
          const seq = nextSeq++;
          const input = JSON.stringify(request);
          post.push(historyEvent(EventType.TaskScheduled, now, { Name: httpActivityName, Input: input }, seq));
          work.push({
            instance_id: row.id,
            generation: row.generation,
            seq,
            name: httpActivityName,
            input,
            meta: null,
          });
          newActions.push({ sig, seq });
          break;
        }
        default:
          failure = `Unknown orchestrator action type ${a.actionType}.`;
      }
    }
  }

  // Children whose orchestrator is missing fail at once, as the extension does.
  const created: ChildStart[] = [];
  for (const c of children) {
    if (!input.hasOrchestrator(c.name)) {
      const reason = `The function '${c.name}' doesn't exist, is disabled, or is not an orchestrator function.`;
      selfMessages.push({
        event: historyEvent(EventType.SubOrchestrationInstanceFailed, now, {
          TaskScheduledId: c.seq,
          Reason: reason,
          Details: reason,
        }),
        meta: c.retry ? { retry: { ...c.retry, failures: c.retry.failures + 1 } } : null,
      });
    } else if (c.id === row.id || c.id === row.parent_id || c.id.startsWith('@')) {
      const reason = `Invalid sub-orchestration instance ID '${c.id}'.`;
      selfMessages.push({
        event: historyEvent(EventType.SubOrchestrationInstanceFailed, now, {
          TaskScheduledId: c.seq,
          Reason: reason,
          Details: reason,
        }),
        meta: null,
      });
    } else created.push(c);
  }

  const customStatus =
    state &&
    state.customStatus !== undefined &&
    state.customStatus !== null &&
    state.customStatus !== false &&
    state.customStatus !== '' &&
    state.customStatus !== 0
      ? JSON.stringify(state.customStatus)
      : row.custom_status;
  const completed = historyEvent(EventType.OrchestratorCompleted, now);

  let end: EpisodeEnd;
  if (failure !== undefined) {
    const message = `Orchestrator function '${row.name}' failed: ${failure}`;
    const failureDetails = input.outcome.failureDetails;
    const details = failureDetails ?? { ErrorType: 'OrchestrationFailure', ErrorMessage: failure };
    const event = historyEvent(EventType.ExecutionCompleted, now, {
      OrchestrationStatus: 'Failed',
      Result: message,
      FailureDetails: details,
    });
    end = { kind: 'failed', message, failure, failureDetails, event };
  } else if (state!.isDone && continueAsNew) {
    end = { kind: 'continueAsNew', inputText: encodedInputText(continueAsNew.input) };
  } else if (state!.isDone) {
    const outputText = state!.output === undefined ? 'null' : (JSON.stringify(state!.output) ?? 'null');
    const event = historyEvent(EventType.ExecutionCompleted, now, {
      OrchestrationStatus: 'Completed',
      Result: outputText,
    });
    end = { kind: 'completed', outputText, event };
  } else end = { kind: 'running' };

  return {
    end,
    post,
    completed,
    nextSeq,
    work,
    timers,
    children: created,
    selfMessages,
    newActions,
    canceledTimers,
    customStatus,
  };
}
