// The durable backend: runs orchestrator episodes through durable-functions' own replay code
// (schema V2), executes the actions they return (activities with retries, timers, external events,
// sub-orchestrations, continueAsNew) and persists every transition in one SQLite transaction.
// Episodes of one instance are serialized; activities run concurrently up to `maxActivities`.
import { randomUUID } from 'node:crypto';
import { HostError, errorMessage } from './errors';
import {
  ActionType as ActionTypes,
  EventType as EventTypes,
  actionSignature,
  encodedInputText,
  flattenActions,
  historyEvent,
  retryDelay,
  type Action,
  type HistoryEvent,
  type RetryOptions,
} from './history';

// Local copies: the hot path reads these constants thousands of times per second.
const ActionType = { ...ActionTypes };
const EventType = { ...EventTypes };
import { httpActivityName, performDurableHttp, type DurableHttpRequest } from './durable-http';
import type { Invoker, InputData } from './invoker';
import type { Logger } from './logger';
import type { RegisteredFunction } from './core-shim';
import { Store, type InstanceRow, type WorkItemRow } from './store';

export const terminalStatuses = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

/** A retry in progress (protocol doc §5.3): carried by work items, failures and retry timers. */
interface RetryState {
  kind: 'activity' | 'orchestrator';
  name: string;
  input: string | null; // activity: JSON text of the decoded input; orchestrator: JSON text of the input
  instanceId?: string; // explicit sub-orchestration id, reused by every attempt
  version?: string;
  options: RetryOptions;
  failures: number;
}

interface Meta {
  retry?: RetryState;
}

interface InboxMessage {
  rowId: number;
  kind: 'event' | 'terminate' | 'suspend' | 'resume';
  generation: number | null;
  event: HistoryEvent | null; // for kind 'event'
  reason?: string;
  meta: Meta | null;
}

interface Instance {
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

interface ActivityJob {
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

const maxTimeout = 2 ** 31 - 1;

export class DurableEngine {
  private readonly active = new Map<string, Instance>();
  private readonly queue: ActivityJob[] = [];
  private running = 0;
  private readonly timerHandles = new Map<string, NodeJS.Timeout>();
  // Group commit: transitions computed during one event-loop turn are written in one transaction,
  // and their side effects (activities, timers, child starts, wake-ups) run only after it commits.
  private writes: (() => void)[] = [];
  private afterCommit: (() => void)[] = [];
  private flushScheduled = false;
  private closing = false;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    readonly store: Store,
    private readonly invoker: Invoker,
    private readonly functions: DurableFunctions,
    private readonly logger: Logger,
    private readonly options: EngineOptions,
  ) {}

  // ---------------------------------------------------------------------------------------------
  // Recovery

  /** Reloads every unfinished instance, re-queues work items and re-arms timers (overdue fire now). */
  recover(): { instances: number; workItems: number; timers: number } {
    for (const row of this.store.activeInstances()) this.loadInstance(row);
    let workItems = 0;
    for (const w of this.store.workItems()) {
      const inst = this.active.get(w.instance_id);
      if (!inst || inst.row.generation !== w.generation) {
        this.store.deleteWorkItem(w.id);
        continue;
      }
      this.enqueueActivity(toJob(w));
      workItems++;
    }
    let timers = 0;
    for (const t of this.store.timers()) {
      const inst = this.active.get(t.instance_id);
      if (!inst || inst.row.generation !== t.generation) {
        this.store.deleteTimer(t.instance_id, t.generation, t.seq);
        continue;
      }
      this.armTimer(t.instance_id, t.generation, t.seq, t.fire_at, t.meta);
      timers++;
    }
    for (const inst of this.active.values()) this.kick(inst);
    return { instances: this.active.size, workItems, timers };
  }

  private loadInstance(row: InstanceRow): Instance {
    const inbox = this.store.inbox(row.id).map((r): InboxMessage => ({
      rowId: r.id,
      kind: r.kind as InboxMessage['kind'],
      generation: r.generation,
      event: r.event && r.kind === 'event' ? (JSON.parse(r.event) as HistoryEvent) : null,
      reason: r.kind !== 'event' && r.event ? (JSON.parse(r.event) as { reason?: string }).reason : undefined,
      meta: r.meta ? (JSON.parse(r.meta) as Meta) : null,
    }));
    const history = this.store.history(row.id);
    if (history.length === 0) {
      // After continueAsNew the new ExecutionStarted was queued behind carried-over events: run it first.
      const i = inbox.findIndex((m) => m.event?.EventType === EventType.ExecutionStarted);
      if (i > 0) inbox.unshift(...inbox.splice(i, 1));
    }
    const inst: Instance = {
      row,
      historyLength: 0,
      replay: [],
      actions: this.store.actions(row.id),
      inbox,
      busy: false,
    };
    appendEvents(inst, history);
    this.active.set(row.id, inst);
    return inst;
  }

  // ---------------------------------------------------------------------------------------------
  // Client operations

  startNew(name: string, instanceId: string | undefined, inputText: string | null, version?: string): string {
    const fn = this.functions.orchestrators.get(name.toLowerCase());
    if (!fn)
      throw new HostError(
        'FunctionNotFound',
        `The function '${name}' doesn't exist, is disabled, or is not an orchestrator function.`,
        400,
      );
    const id = instanceId ?? randomUUID().replace(/-/g, '');
    validateInstanceId(id);
    this.flushWrites();
    this.store.tx(() => {
      const existing = this.store.getInstance(id);
      if (existing && !terminalStatuses.has(existing.status)) {
        throw new HostError(
          'InstanceExists',
          `An instance with ID '${id}' already exists and is ${existing.status}.`,
          409,
        );
      }
      if (existing) this.store.purge(id);
      this.createInstanceTx({ id, name: fn.metadata.name, inputText, version, parent: undefined });
    });
    this.afterCreate(id);
    return id;
  }

  /** Inside a transaction: instance row + its ExecutionStarted message. */
  private createInstanceTx(p: {
    id: string;
    name: string;
    inputText: string | null;
    version?: string;
    parent?: { id: string; seq: number; gen: number; retry: RetryState | undefined };
  }): void {
    const now = Date.now();
    const row: InstanceRow = {
      id: p.id,
      name: p.name,
      status: 'Pending',
      input: p.inputText,
      output: null,
      custom_status: null,
      created_at: now,
      updated_at: now,
      parent_id: p.parent?.id ?? null,
      parent_seq: p.parent?.seq ?? null,
      parent_gen: p.parent?.gen ?? null,
      parent_retry: p.parent?.retry ? JSON.stringify(p.parent.retry) : null,
      version: p.version ?? null,
      generation: 0,
      next_seq: 0,
    };
    this.store.insertInstance(row);
    const started = executionStarted(p.name, p.inputText, p.version, p.parent, now);
    this.store.insertInbox(p.id, 0, 'event', JSON.stringify(started), null);
  }

  /** After the creating transaction committed: load into memory and run. */
  private afterCreate(id: string): void {
    const row = this.store.getInstance(id);
    if (!row) return;
    this.active.delete(id);
    this.kick(this.loadInstance(row));
  }

  /** Returns false when the instance does not exist, 'gone' when it already finished. */
  raiseEvent(id: string, name: string, inputText: string | null): true | false | 'gone' {
    this.flushWrites();
    const row = this.store.getInstance(id);
    if (!row) return false;
    if (terminalStatuses.has(row.status)) return 'gone';
    const event = historyEvent(
      EventType.EventRaised,
      Date.now(),
      inputText === null ? { Name: name } : { Name: name, Input: inputText },
    );
    this.deliver(id, null, 'event', event, null);
    return true;
  }

  control(id: string, kind: 'terminate' | 'suspend' | 'resume', reason: string | undefined): true | false | 'gone' {
    this.flushWrites();
    const row = this.store.getInstance(id);
    if (!row) return false;
    if (terminalStatuses.has(row.status)) return 'gone';
    const rowId = this.store.insertInbox(id, null, kind, JSON.stringify({ reason }), null);
    const inst = this.active.get(id);
    if (inst) {
      inst.inbox.push({ rowId, kind, generation: null, event: null, reason, meta: null });
      this.kickSoon(inst);
    }
    return true;
  }

  purge(id: string): number {
    this.flushWrites();
    const n = this.store.tx(() => this.store.purge(id));
    this.forget(id);
    return n;
  }

  purgeWhere(filter: { from?: number; to?: number; statuses?: string[] }): number {
    this.flushWrites();
    let deleted = 0;
    for (;;) {
      const rows = this.store.query({ ...filter, limit: 500 });
      if (rows.length === 0) return deleted;
      this.store.tx(() => {
        for (const r of rows) deleted += this.store.purge(r.id);
      });
      for (const r of rows) this.forget(r.id);
    }
  }

  private forget(id: string): void {
    this.active.delete(id);
    for (const [key, handle] of this.timerHandles) {
      if (key.startsWith(`${id}\u0000`)) {
        clearTimeout(handle);
        this.timerHandles.delete(key);
      }
    }
  }

  /** True when no episode or activity is running and nothing is queued. */
  isIdle(): boolean {
    return (
      this.running === 0 &&
      this.queue.length === 0 &&
      this.writes.length === 0 &&
      [...this.active.values()].every((i) => !i.busy)
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const handle of this.timerHandles.values()) clearTimeout(handle);
    this.timerHandles.clear();
    this.queue.length = 0; // unstarted work items stay in the store and run after a restart
    const deadline = Date.now() + 10_000;
    while (this.inflight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, 100))]);
    }
    this.flushWrites();
  }

  private commitLater(write: () => void, after?: () => void): void {
    this.writes.push(write);
    if (after) this.afterCommit.push(after);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushWrites());
    }
  }

  /** Writes every queued transition in one transaction, then runs their side effects. */
  flushWrites(): void {
    this.flushScheduled = false;
    if (this.writes.length === 0 || !this.store.db.open) return;
    const writes = this.writes;
    const after = this.afterCommit;
    this.writes = [];
    this.afterCommit = [];
    try {
      this.store.tx(() => {
        for (const w of writes) w();
      });
    } catch (err) {
      // Memory is now ahead of the store. Stopping is the only safe move: a restart resumes from the
      // last committed state (the same path as after a crash).
      this.logger.fatal({ err }, 'durable store write failed; stopping so that a restart resumes from the store');
      this.options.onFatal(err);
      return;
    }
    for (const a of after) {
      try {
        a();
      } catch (err) {
        this.logger.error({ err }, 'post-commit step failed');
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Messages

  /** Persists a message for an instance and wakes it. */
  private deliver(
    id: string,
    generation: number | null,
    kind: InboxMessage['kind'],
    event: HistoryEvent,
    meta: Meta | null,
  ): void {
    const rowId = this.store.insertInbox(
      id,
      generation,
      kind,
      JSON.stringify(event),
      meta ? JSON.stringify(meta) : null,
    );
    const inst = this.active.get(id);
    if (inst) {
      inst.inbox.push({ rowId, kind, generation, event, meta });
      this.kickSoon(inst);
    }
  }

  /**
   * Runs the instance after the current I/O phase: requests that arrive together (say, a burst of
   * raiseEvent calls) are then applied in one episode instead of one replay each.
   */
  private kickSoon(inst: Instance): void {
    if (inst.kickScheduled) return;
    inst.kickScheduled = true;
    setImmediate(() => {
      inst.kickScheduled = false;
      this.kick(inst);
    });
  }

  private kick(inst: Instance): void {
    if (inst.busy || this.closing || inst.inbox.length === 0) return;
    inst.busy = true;
    const p = this.drain(inst)
      .catch((err: unknown) => this.logger.error({ instanceId: inst.row.id, err }, 'instance processing failed'))
      .finally(() => {
        inst.busy = false;
        this.inflight.delete(p);
        if (this.active.get(inst.row.id) === inst && !terminalStatuses.has(inst.row.status) && this.hasRunnable(inst))
          this.kick(inst);
      });
    this.inflight.add(p);
  }

  private hasRunnable(inst: Instance): boolean {
    if (inst.inbox.length === 0) return false;
    if (inst.row.status !== 'Suspended') return true;
    return inst.inbox.some((m) => m.kind === 'terminate' || m.kind === 'resume');
  }

  private async drain(inst: Instance): Promise<void> {
    while (!this.closing && this.active.get(inst.row.id) === inst && !terminalStatuses.has(inst.row.status)) {
      const first = inst.inbox[0];
      if (!first) return;
      if (inst.row.status === 'Suspended') {
        const i = inst.inbox.findIndex((m) => m.kind === 'terminate' || m.kind === 'resume');
        if (i < 0) return;
        const [msg] = inst.inbox.splice(i, 1);
        this.applyControl(inst, msg!);
        continue;
      }
      if (first.kind !== 'event') {
        inst.inbox.shift();
        this.applyControl(inst, first);
        continue;
      }
      // Drop completions addressed to an earlier generation (before a continueAsNew).
      if (first.generation !== null && first.generation !== inst.row.generation) {
        inst.inbox.shift();
        this.commitLater(() => this.store.deleteInboxRow(first.rowId));
        continue;
      }
      // A retry failure or retry-timer firing makes the library allocate an id while processing it,
      // so it is delivered alone (protocol doc §3.3); otherwise take every event up to the next one.
      const batch: InboxMessage[] = [];
      if (first.meta?.retry) batch.push(inst.inbox.shift()!);
      else {
        while (inst.inbox.length > 0) {
          const m = inst.inbox[0]!;
          if (m.kind !== 'event' || m.meta?.retry) break;
          if (m.generation !== null && m.generation !== inst.row.generation) {
            inst.inbox.shift();
            this.commitLater(() => this.store.deleteInboxRow(m.rowId));
            continue;
          }
          batch.push(inst.inbox.shift()!);
        }
      }
      if (batch.length === 0) continue;
      try {
        await this.episode(inst, batch);
      } catch (err) {
        // A bug or an unserializable value (say, a BigInt output) must not wedge the instance.
        if (this.active.get(inst.row.id) !== inst || terminalStatuses.has(inst.row.status)) throw err;
        const message = `Orchestrator function '${inst.row.name}' failed: the host could not process its result: ${errorMessage(err)}`;
        this.logger.error({ instanceId: inst.row.id, err }, message);
        const ev = historyEvent(EventType.ExecutionCompleted, Date.now(), {
          OrchestrationStatus: 'Failed',
          Result: message,
        });
        this.finish(inst, [ev], 'Failed', JSON.stringify(message), batch, { failed: true, reason: message });
      }
    }
  }

  private applyControl(inst: Instance, msg: InboxMessage): void {
    const row = inst.row;
    const now = Date.now();
    if (msg.kind === 'terminate') {
      const reason = msg.reason ?? '';
      const ev = historyEvent(EventType.ExecutionTerminated, now, { Input: reason });
      this.finish(inst, [ev], 'Terminated', JSON.stringify(reason), [msg], {
        failed: true,
        reason: `Orchestration '${row.name}' (${row.id}) was terminated: ${reason}`,
      });
      return;
    }
    const suspend = msg.kind === 'suspend';
    const applies = suspend ? row.status !== 'Suspended' : row.status === 'Suspended';
    const events = applies
      ? [
          JSON.stringify(
            historyEvent(suspend ? EventType.ExecutionSuspended : EventType.ExecutionResumed, now, {
              Reason: msg.reason ?? '',
            }),
          ),
        ]
      : [];
    const status = applies ? (suspend ? 'Suspended' : inst.historyLength > 0 ? 'Running' : 'Pending') : row.status;
    const idx = inst.historyLength;
    const updated = { ...row, status, updated_at: now };
    this.commitLater(() => {
      this.store.appendHistory(row.id, idx, events);
      this.store.deleteInboxRow(msg.rowId);
      this.store.updateInstance(updated);
    });
    appendEvents(inst, events);
    row.status = status;
    row.updated_at = now;
  }

  // ---------------------------------------------------------------------------------------------
  // Episodes

  private async episode(inst: Instance, batch: InboxMessage[]): Promise<void> {
    const row = inst.row;
    const now = Date.now();
    const fresh: HistoryEvent[] = [historyEvent(EventType.OrchestratorStarted, now)];
    for (const m of batch) fresh.push(m.event!);
    const consumed = batch; // row ids are read at commit time: a message may still be waiting for its own
    let nextSeq = row.next_seq;
    const post: HistoryEvent[] = []; // events for actions the host takes in this episode
    const work: Omit<WorkItemRow, 'id'>[] = [];
    const timers: { seq: number; fireAt: number; meta: Meta | null }[] = [];
    const children: {
      seq: number;
      name: string;
      id: string;
      inputText: string | null;
      version?: string;
      retry?: RetryState;
    }[] = [];
    const selfMessages: { event: HistoryEvent; meta: Meta | null }[] = [];

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

    const fn = this.functions.orchestrators.get(row.name.toLowerCase());
    let failure: string | undefined;
    let failureDetails: unknown;
    let state: { isDone?: boolean; actions?: unknown; output?: unknown; customStatus?: unknown } | undefined;
    if (!fn) {
      failure = `The orchestrator function '${row.name}' doesn't exist in this app.`;
    } else {
      // The library mutates the payload (Timestamp strings become Dates, also inside the input), so
      // every episode gets new objects wherever a Timestamp can be: OrchestratorStarted events and the input.
      const history: ReplayEvent[] = inst.replay.map((e) =>
        e.EventType === EventType.OrchestratorStarted ? { ...e } : e,
      );
      for (const e of fresh) {
        const r = replayObject(e);
        if (r) history.push(r);
      }
      const payload = {
        history,
        input: row.input === null ? null : (JSON.parse(row.input) as unknown),
        instanceId: row.id,
        isReplaying: false,
        parentInstanceId: row.parent_id,
        upperSchemaVersion: 1,
        upperSchemaVersionNew: 1,
        longRunningTimerIntervalDuration: '3.00:00:00',
        maximumShortTimerDuration: '6.00:00:00',
        defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
      };
      try {
        const inv = await this.invoker.invoke(
          fn,
          [{ name: fn.triggerName, data: {} }, ...this.options.clientInputs(fn)],
          { instanceId: row.id },
          { value: payload },
        );
        state = inv.result as typeof state;
        if (!state || typeof state !== 'object')
          failure =
            'the orchestrator returned no state (is it registered with df.app.orchestration and written as a generator function?)';
      } catch (err) {
        const e = orchestratorError(err);
        failure = e.message;
        failureDetails = e.failureDetails;
      }
      if (this.active.get(row.id) !== inst) return; // purged while running
    }

    let continueAsNew: Action | undefined;
    const newActions: { sig: string; seq: number }[] = [];
    if (state && failure === undefined) {
      const flat = flattenActions(state.actions);
      // Determinism: the steps materialized in earlier episodes must come back unchanged.
      for (let i = 0; i < inst.actions.length; i++) {
        const had = inst.actions[i]!;
        const a = flat[i];
        const now_ = a ? actionSignature(a) : undefined;
        if (now_ !== had.sig) {
          failure =
            `Non-deterministic workflow detected: at step ${i + 1} the history has ${had.sig} but the orchestrator code now ${now_ ? `schedules ${now_}` : 'schedules nothing'}. ` +
            'Orchestrator code must be deterministic; a changed orchestrator needs a new name or a restart of its instances.';
          break;
        }
        if (a!.actionType === ActionType.CreateTimer && a!.isCanceled && !had.canceled) {
          had.canceled = true;
          this.cancelTimer(row.id, row.generation, had.seq);
        }
      }
      for (let i = inst.actions.length; failure === undefined && i < flat.length; i++) {
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
    const created: typeof children = [];
    for (const c of children) {
      if (!this.functions.orchestrators.has(c.name.toLowerCase())) {
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

    if (failure !== undefined) {
      const message = `Orchestrator function '${row.name}' failed: ${failure}`;
      const details = failureDetails ?? { ErrorType: 'OrchestrationFailure', ErrorMessage: failure };
      const ev = historyEvent(EventType.ExecutionCompleted, now, {
        OrchestrationStatus: 'Failed',
        Result: message,
        FailureDetails: details,
      });
      this.logger.warn({ instanceId: row.id, orchestrator: row.name }, message);
      this.finish(
        inst,
        [...fresh, completed, ev],
        'Failed',
        JSON.stringify(message),
        consumed,
        { failed: true, reason: message, details: failure, failureDetails },
        customStatus,
      );
      return;
    }

    if (state!.isDone && continueAsNew) {
      // The finished generation's history is discarded with it; the new one starts from ExecutionStarted.
      this.continueAsNew(inst, consumed, encodedInputText(continueAsNew.input), customStatus);
      return;
    }
    if (state!.isDone) {
      const outputText = state!.output === undefined ? 'null' : (JSON.stringify(state!.output) ?? 'null');
      const ev = historyEvent(EventType.ExecutionCompleted, now, {
        OrchestrationStatus: 'Completed',
        Result: outputText,
      });
      this.finish(
        inst,
        [...fresh, ...post, completed, ev],
        'Completed',
        outputText,
        consumed,
        { failed: false, result: outputText },
        customStatus,
      );
      return;
    }

    // Still running: persist the episode and its side effects in one transaction.
    const events = [...fresh, ...post, completed].map((e) => JSON.stringify(e));
    const baseIdx = inst.actions.length;
    const updated: InstanceRow = {
      ...row,
      status: 'Running',
      custom_status: customStatus,
      updated_at: now,
      next_seq: nextSeq,
    };
    const starts: typeof created = [];
    for (const c of created) {
      const existing = this.active.get(c.id)?.row ?? this.store.getInstance(c.id);
      if (existing && !terminalStatuses.has(existing.status)) {
        const reason = `An orchestration with instance ID '${c.id}' already exists and is ${existing.status}.`;
        selfMessages.push({
          event: historyEvent(EventType.SubOrchestrationInstanceFailed, now, {
            TaskScheduledId: c.seq,
            Reason: reason,
            Details: reason,
          }),
          meta: null,
        });
      } else starts.push(c);
    }
    const selfInbox = selfMessages.map((m): InboxMessage => ({
      rowId: 0,
      kind: 'event',
      generation: row.generation,
      event: m.event,
      meta: m.meta,
    }));
    const workIds: number[] = [];
    const idx = inst.historyLength;
    const generation = row.generation;
    this.commitLater(
      () => {
        this.store.appendHistory(row.id, idx, events);
        for (const m of consumed) this.store.deleteInboxRow(m.rowId);
        newActions.forEach((a, i) => this.store.insertAction(row.id, baseIdx + i, a.sig, a.seq));
        for (const w of work) workIds.push(this.store.insertWorkItem(w));
        for (const t of timers)
          this.store.insertTimer({
            instance_id: row.id,
            generation,
            seq: t.seq,
            fire_at: t.fireAt,
            meta: t.meta ? JSON.stringify(t.meta) : null,
          });
        for (const c of starts) {
          if (this.store.getInstance(c.id)) this.store.purge(c.id);
          this.createInstanceTx({
            id: c.id,
            name: this.functions.orchestrators.get(c.name.toLowerCase())!.metadata.name,
            inputText: c.inputText,
            version: c.version,
            parent: { id: row.id, seq: c.seq, gen: generation, retry: c.retry },
          });
        }
        for (const m of selfInbox)
          m.rowId = this.store.insertInbox(
            row.id,
            generation,
            'event',
            JSON.stringify(m.event),
            m.meta ? JSON.stringify(m.meta) : null,
          );
        this.store.updateInstance(updated);
      },
      () => {
        work.forEach((w, i) =>
          this.enqueueActivity({
            workItemId: workIds[i]!,
            instanceId: row.id,
            generation: w.generation,
            seq: w.seq,
            name: w.name,
            input: w.input,
            meta: w.meta ? (JSON.parse(w.meta) as Meta) : null,
          }),
        );
        for (const t of timers)
          this.armTimer(row.id, generation, t.seq, t.fireAt, t.meta ? JSON.stringify(t.meta) : null);
        for (const c of starts) this.afterCreate(c.id);
      },
    );
    appendEvents(inst, events);
    inst.actions.push(...newActions);
    Object.assign(row, updated);
    inst.inbox.push(...selfInbox);
  }

  private continueAsNew(
    inst: Instance,
    consumed: InboxMessage[],
    inputText: string | null,
    customStatus: string | null,
  ): void {
    const row = inst.row;
    const now = Date.now();
    const generation = row.generation + 1;
    const started = executionStarted(
      row.name,
      inputText,
      row.version ?? undefined,
      row.parent_id ? { id: row.parent_id } : undefined,
      now,
    );
    const updated: InstanceRow = {
      ...row,
      status: 'Running',
      input: inputText,
      output: null,
      custom_status: customStatus,
      updated_at: now,
      generation,
      next_seq: 0,
    };
    const startedMsg: InboxMessage = { rowId: 0, kind: 'event', generation, event: started, meta: null };
    this.commitLater(() => {
      for (const m of consumed) this.store.deleteInboxRow(m.rowId);
      this.store.resetGeneration(row.id);
      // External events that arrived meanwhile are kept for the new generation; completions are not.
      this.store.clearPending(row.id, true);
      startedMsg.rowId = this.store.insertInbox(row.id, generation, 'event', JSON.stringify(started), null);
      this.store.updateInstance(updated);
    });
    for (const [key, handle] of this.timerHandles) {
      if (key.startsWith(`${row.id}\u0000`)) {
        clearTimeout(handle);
        this.timerHandles.delete(key);
      }
    }
    Object.assign(row, updated);
    inst.historyLength = 0;
    inst.replay = [];
    inst.actions = [];
    inst.inbox = [startedMsg, ...inst.inbox.filter((m) => m.kind !== 'event' || m.generation === null)];
  }

  /** Ends an instance (Completed, Failed, Terminated) and notifies its parent, in one transaction. */
  private finish(
    inst: Instance,
    events: HistoryEvent[],
    status: string,
    outputText: string,
    consumed: InboxMessage[],
    outcome: { failed: boolean; result?: string; reason?: string; details?: string; failureDetails?: unknown },
    customStatus?: string | null,
  ): void {
    const row = inst.row;
    const now = Date.now();
    const texts = events.map((e) => JSON.stringify(e));
    const updated: InstanceRow = {
      ...row,
      status,
      output: outputText,
      custom_status: customStatus === undefined ? row.custom_status : customStatus,
      updated_at: now,
    };
    let parentMsg: { event: HistoryEvent; meta: Meta | null } | undefined;
    if (row.parent_id !== null && row.parent_seq !== null) {
      const retry = row.parent_retry ? (JSON.parse(row.parent_retry) as RetryState) : undefined;
      parentMsg = outcome.failed
        ? {
            event: historyEvent(EventType.SubOrchestrationInstanceFailed, now, {
              TaskScheduledId: row.parent_seq,
              Reason: outcome.reason ?? '',
              Details: outcome.details ?? outcome.reason ?? '',
              ...(outcome.failureDetails ? { FailureDetails: outcome.failureDetails } : {}),
            }),
            meta: retry ? { retry: { ...retry, failures: retry.failures + 1 } } : null,
          }
        : {
            event: historyEvent(EventType.SubOrchestrationInstanceCompleted, now, {
              TaskScheduledId: row.parent_seq,
              Result: outcome.result ?? 'null',
            }),
            meta: null,
          };
    }
    let parentRow = 0;
    const idx = inst.historyLength;
    this.commitLater(
      () => {
        this.store.appendHistory(row.id, idx, texts);
        for (const m of consumed) this.store.deleteInboxRow(m.rowId);
        this.store.clearPending(row.id, false);
        this.store.updateInstance(updated);
        if (parentMsg) {
          const parent = this.store.getInstance(row.parent_id!);
          if (parent && !terminalStatuses.has(parent.status) && parent.generation === row.parent_gen) {
            parentRow = this.store.insertInbox(
              row.parent_id!,
              row.parent_gen,
              'event',
              JSON.stringify(parentMsg.event),
              parentMsg.meta ? JSON.stringify(parentMsg.meta) : null,
            );
          }
        }
      },
      () => {
        const parent = parentMsg && parentRow ? this.active.get(row.parent_id!) : undefined;
        if (parent && parentMsg) {
          parent.inbox.push({
            rowId: parentRow,
            kind: 'event',
            generation: row.parent_gen,
            event: parentMsg.event,
            meta: parentMsg.meta,
          });
          this.kick(parent);
        }
      },
    );
    appendEvents(inst, texts);
    Object.assign(row, updated);
    inst.inbox = [];
    this.forget(row.id);
    this.logger.debug({ instanceId: row.id, status }, 'orchestration finished');
  }

  // ---------------------------------------------------------------------------------------------
  // Timers

  private timerKey(id: string, generation: number, seq: number): string {
    return `${id}\u0000${generation}\u0000${seq}`;
  }

  private armTimer(id: string, generation: number, seq: number, fireAt: number, metaText: string | null): void {
    if (this.closing) return;
    const key = this.timerKey(id, generation, seq);
    const old = this.timerHandles.get(key);
    if (old) clearTimeout(old);
    const delay = Math.max(0, fireAt - Date.now());
    const handle = setTimeout(
      () => {
        this.timerHandles.delete(key);
        if (delay >= maxTimeout) {
          this.armTimer(id, generation, seq, fireAt, metaText);
          return;
        }
        this.fireTimer(id, generation, seq, fireAt, metaText);
      },
      Math.min(delay, maxTimeout),
    );
    this.timerHandles.set(key, handle);
  }

  private fireTimer(id: string, generation: number, seq: number, fireAt: number, metaText: string | null): void {
    if (this.closing) return;
    const inst = this.active.get(id);
    const event = historyEvent(EventType.TimerFired, Date.now(), {
      TimerId: seq,
      FireAt: new Date(fireAt).toISOString(),
    });
    const live = inst !== undefined && inst.row.generation === generation;
    const msg: InboxMessage = {
      rowId: 0,
      kind: 'event',
      generation,
      event,
      meta: metaText ? (JSON.parse(metaText) as Meta) : null,
    };
    this.commitLater(() => {
      this.store.deleteTimer(id, generation, seq);
      if (live) msg.rowId = this.store.insertInbox(id, generation, 'event', JSON.stringify(event), metaText);
    });
    if (live) {
      inst.inbox.push(msg);
      this.kick(inst);
    }
  }

  private cancelTimer(id: string, generation: number, seq: number): void {
    const key = this.timerKey(id, generation, seq);
    const handle = this.timerHandles.get(key);
    if (handle) {
      clearTimeout(handle);
      this.timerHandles.delete(key);
    }
    this.commitLater(() => this.store.deleteTimer(id, generation, seq));
  }

  // ---------------------------------------------------------------------------------------------
  // Activities

  private enqueueActivity(job: ActivityJob): void {
    this.queue.push(job);
    this.pump();
  }

  private pump(): void {
    while (!this.closing && this.running < this.options.maxActivities && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      const p = this.runActivity(job).finally(() => {
        this.running--;
        this.inflight.delete(p);
        this.pump();
      });
      this.inflight.add(p);
    }
  }

  private async runActivity(job: ActivityJob): Promise<void> {
    const fn = this.functions.activities.get(job.name.toLowerCase());
    let event: HistoryEvent;
    let failedMeta: Meta | null = null;
    try {
      if (job.name === httpActivityName) {
        const response = await performDurableHttp(JSON.parse(job.input ?? '{}') as DurableHttpRequest);
        event = historyEvent(EventType.TaskCompleted, Date.now(), {
          TaskScheduledId: job.seq,
          Result: JSON.stringify(response),
        });
        this.completeActivity(job, event, null);
        return;
      }
      if (!fn)
        throw new HostError(
          'FunctionNotFound',
          `The function '${job.name}' doesn't exist, is disabled, or is not an activity function.`,
        );
      const data = job.input === null ? {} : { json: job.input };
      const inv = await this.invoker.invoke(fn, [{ name: fn.triggerName, data }, ...this.options.clientInputs(fn)], {
        instanceId: job.instanceId,
      });
      const result = inv.result === undefined ? 'null' : (JSON.stringify(inv.result) ?? 'null');
      event = historyEvent(EventType.TaskCompleted, Date.now(), { TaskScheduledId: job.seq, Result: result });
    } catch (err) {
      event = taskFailed(job.name, job.seq, err);
      this.logger.warn({ instanceId: job.instanceId, activity: job.name, err }, 'activity failed');
      if (job.meta?.retry) failedMeta = { retry: { ...job.meta.retry, failures: job.meta.retry.failures + 1 } };
    }
    this.completeActivity(job, event, failedMeta);
  }

  private completeActivity(job: ActivityJob, event: HistoryEvent, failedMeta: Meta | null): void {
    // The result is queued for the group commit and handed to the instance at once: the episode it
    // triggers is written in the same transaction (after it), and that episode's own side effects wait
    // for the commit, so a crash loses both or neither.
    const msg: InboxMessage = { rowId: 0, kind: 'event', generation: job.generation, event, meta: failedMeta };
    const inst = this.active.get(job.instanceId);
    const live = inst !== undefined && inst.row.generation === job.generation;
    this.commitLater(() => {
      this.store.deleteWorkItem(job.workItemId);
      if (live)
        msg.rowId = this.store.insertInbox(
          job.instanceId,
          job.generation,
          'event',
          JSON.stringify(event),
          failedMeta ? JSON.stringify(failedMeta) : null,
        );
    });
    if (live) {
      inst.inbox.push(msg);
      this.kick(inst);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Status

  getRow(id: string): InstanceRow | undefined {
    return this.store.getInstance(id);
  }

  historyOf(id: string): HistoryEvent[] {
    return this.store.history(id).map((t) => JSON.parse(t) as HistoryEvent);
  }
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

type ReplayEvent = Record<string, unknown> & { EventType: number };

/**
 * The form of an event the replay engine gets: without the fields it never reads (it reads Timestamp
 * only on OrchestratorStarted and EventId only on EventSent).
 * Events other than OrchestratorStarted then carry no Timestamp, so the library never mutates them
 * and they can be shared between episodes.
 */
function replayObject(e: HistoryEvent): ReplayEvent | undefined {
  if (notReplayed.has(e.EventType)) return undefined;
  const ts = e.Timestamp as unknown;
  if (e.EventType === EventType.OrchestratorStarted)
    return { EventType: e.EventType, Timestamp: ts instanceof Date ? ts.toISOString() : ts };
  if (e.EventType === EventType.EventSent) return { ...e };
  // IsPlayed stays (as false): the library copies it into context.df.isReplaying, which must be a boolean.
  const { EventId: _id, Timestamp: _at, ...rest } = e;
  return { ...rest, IsPlayed: false } as ReplayEvent;
}

function appendEvents(inst: Instance, texts: string[]): void {
  inst.historyLength += texts.length;
  for (const t of texts) {
    const r = replayObject(JSON.parse(t) as HistoryEvent);
    if (r) inst.replay.push(r);
  }
}

function toJob(w: WorkItemRow): ActivityJob {
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

function executionStarted(
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

function childInstanceId(row: InstanceRow, seq: number): string {
  return row.generation === 0 ? `${row.id}:${seq}` : `${row.id}:${row.generation}:${seq}`;
}

function normalizeRetry(o: RetryOptions | undefined): RetryOptions {
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

/** The TaskFailed event for a thrown activity error, with FailureDetails when the app registered an exception properties provider (protocol doc §5.2). */
function taskFailed(name: string, seq: number, err: unknown): HistoryEvent {
  const message = errorMessage(err);
  // Details carry the error's name and message, not its stack: the orchestrator shows them to users.
  const details = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const fields: Record<string, unknown> = {
    TaskScheduledId: seq,
    Reason: `Activity function '${name}' failed: ${message}`,
    Details: details,
  };
  if (message.startsWith('{')) {
    try {
      const p = JSON.parse(message) as {
        errorType?: string;
        errorMessage?: string;
        stackTrace?: string;
        isNonRetriable?: boolean;
        properties?: unknown;
      };
      if (typeof p.errorType === 'string') {
        fields.Reason = `Activity function '${name}' failed: ${p.errorType}: ${p.errorMessage ?? ''}`;
        fields.FailureDetails = {
          ErrorType: p.errorType,
          ErrorMessage: p.errorMessage ?? '',
          StackTrace: p.stackTrace,
          IsNonRetriable: Boolean(p.isNonRetriable),
          Properties: p.properties ?? null,
        };
      }
    } catch {
      /* a plain message that happens to start with "{" */
    }
  }
  return historyEvent(EventType.TaskFailed, Date.now(), fields);
}

/**
 * The message of a failed episode (the user's error from OrchestrationFailureError, or the raw
 * rejection) and, when the orchestrator let a TaskFailedError escape, its FailureDetails (PascalCase).
 */
function orchestratorError(err: unknown): { message: string; failureDetails?: unknown } {
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
