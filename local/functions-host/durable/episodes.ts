// One episode of an instance: replay the orchestrator through durable-functions' own code, plan what
// its actions mean (episode-planner.ts, pure), and write the outcome — still running, completed,
// failed, continued as new — with its side effects in one group commit.
import type { Invoker } from '../invoker';
import type { Logger } from '../logger';
import type { ActivityPump } from './activity-pump';
import { freshEvents, planEpisode, type EpisodePlan, type OrchestratorState } from './episode-planner';
import type { GroupCommit } from './group-commit';
import { historyEvent, type HistoryEvent } from './history';
import type { Instances } from './instances';
import {
  appendEvents,
  EventType,
  executionStarted,
  orchestratorError,
  replayObject,
  terminalStatuses,
  type DurableFunctions,
  type EngineOptions,
  type Instance,
  type InboxMessage,
  type Meta,
  type ReplayEvent,
  type RetryState,
} from './model';
import type { InstanceRow, Store } from './store';
import type { DurableTimers } from './timers';

export interface Outcome {
  failed: boolean;
  result?: string;
  reason?: string;
  details?: string;
  failureDetails?: unknown;
}

export class Episodes {
  constructor(
    private readonly store: Store,
    private readonly commits: GroupCommit,
    private readonly instances: Instances,
    private readonly timers: DurableTimers,
    private readonly pump: ActivityPump,
    private readonly invoker: Invoker,
    private readonly functions: DurableFunctions,
    private readonly logger: Logger,
    private readonly options: EngineOptions,
  ) {}

  async run(inst: Instance, batch: InboxMessage[]): Promise<void> {
    const row = inst.row;
    const now = Date.now();
    const fresh = freshEvents(batch, now);
    const consumed = batch; // row ids are read at commit time: a message may still be waiting for its own

    const fn = this.functions.orchestrators.get(row.name.toLowerCase());
    const outcome: { state?: OrchestratorState; failure?: string; failureDetails?: unknown } = {};
    if (!fn) {
      outcome.failure = `The orchestrator function '${row.name}' doesn't exist in this app.`;
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
        outcome.state = inv.result as OrchestratorState | undefined;
        if (!outcome.state || typeof outcome.state !== 'object')
          outcome.failure =
            'the orchestrator returned no state (is it registered with df.app.orchestration and written as a generator function?)';
      } catch (err) {
        const e = orchestratorError(err);
        outcome.failure = e.message;
        outcome.failureDetails = e.failureDetails;
      }
      if (this.instances.active.get(row.id) !== inst) return; // purged while running
    }

    const plan = planEpisode({
      row,
      known: inst.actions,
      batch,
      fresh,
      now,
      outcome,
      hasOrchestrator: (name) => this.functions.orchestrators.has(name.toLowerCase()),
    });
    for (const i of plan.canceledTimers) {
      const had = inst.actions[i]!;
      had.canceled = true;
      this.timers.cancel(row.id, row.generation, had.seq);
    }
    const { end, customStatus, completed } = plan;
    if (end.kind === 'failed') {
      this.logger.warn({ instanceId: row.id, orchestrator: row.name }, end.message);
      this.finish(
        inst,
        [...fresh, completed, end.event],
        'Failed',
        JSON.stringify(end.message),
        consumed,
        { failed: true, reason: end.message, details: end.failure, failureDetails: end.failureDetails },
        customStatus,
      );
    } else if (end.kind === 'continueAsNew') {
      // The finished generation's history is discarded with it; the new one starts from ExecutionStarted.
      this.continueAsNew(inst, consumed, end.inputText);
    } else if (end.kind === 'completed') {
      this.finish(
        inst,
        [...fresh, ...plan.post, completed, end.event],
        'Completed',
        end.outputText,
        consumed,
        { failed: false, result: end.outputText },
        customStatus,
      );
    } else this.commitRunning(inst, consumed, fresh, plan, now);
  }

  /** Still running: persist the episode and its side effects in one transaction. */
  private commitRunning(
    inst: Instance,
    consumed: InboxMessage[],
    fresh: HistoryEvent[],
    plan: EpisodePlan,
    now: number,
  ): void {
    const row = inst.row;
    const { work, timers, newActions, customStatus } = plan;
    const selfMessages = [...plan.selfMessages];
    const events = [...fresh, ...plan.post, plan.completed].map((e) => JSON.stringify(e));
    const baseIdx = inst.actions.length;
    const updated: InstanceRow = {
      ...row,
      status: 'Running',
      custom_status: customStatus,
      updated_at: now,
      next_seq: plan.nextSeq,
    };
    const starts: typeof plan.children = [];
    for (const c of plan.children) {
      const existing = this.instances.active.get(c.id)?.row ?? this.store.getInstance(c.id);
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
    this.commits.later(
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
          this.instances.createTx({
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
          this.pump.enqueue({
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
          this.timers.arm(row.id, generation, t.seq, t.fireAt, t.meta ? JSON.stringify(t.meta) : null);
        for (const c of starts) this.instances.afterCreate(c.id);
      },
    );
    appendEvents(inst, events);
    inst.actions.push(...newActions);
    Object.assign(row, updated);
    inst.inbox.push(...selfInbox);
  }

  private continueAsNew(inst: Instance, consumed: InboxMessage[], inputText: string | null): void {
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
    // Azure Storage backend (Azure/durabletask, AzureTableTrackingStore.UpdateStateAsync): the instance row takes
    // CreatedTime from the new generation's ExecutionStarted and CustomStatus from the new runtime state, which
    // has none yet. So both reset here, whatever the finished generation had.
    const updated: InstanceRow = {
      ...row,
      status: 'Running',
      input: inputText,
      output: null,
      custom_status: null,
      created_at: now,
      updated_at: now,
      generation,
      next_seq: 0,
    };
    const startedMsg: InboxMessage = { rowId: 0, kind: 'event', generation, event: started, meta: null };
    this.commits.later(() => {
      for (const m of consumed) this.store.deleteInboxRow(m.rowId);
      this.store.resetGeneration(row.id);
      // External events that arrived meanwhile are kept for the new generation; completions are not.
      this.store.clearPending(row.id, true);
      startedMsg.rowId = this.store.insertInbox(row.id, generation, 'event', JSON.stringify(started), null);
      this.store.updateInstance(updated);
    });
    this.timers.forget(row.id);
    Object.assign(row, updated);
    inst.historyLength = 0;
    inst.replay = [];
    inst.actions = [];
    inst.inbox = [startedMsg, ...inst.inbox.filter((m) => m.kind !== 'event' || m.generation === null)];
  }

  /** Ends an instance (Completed, Failed, Terminated) and notifies its parent, in one transaction. */
  finish(
    inst: Instance,
    events: HistoryEvent[],
    status: string,
    outputText: string,
    consumed: InboxMessage[],
    outcome: Outcome,
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
    this.commits.later(
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
        const parent = parentMsg && parentRow ? this.instances.active.get(row.parent_id!) : undefined;
        if (parent && parentMsg) {
          parent.inbox.push({
            rowId: parentRow,
            kind: 'event',
            generation: row.parent_gen,
            event: parentMsg.event,
            meta: parentMsg.meta,
          });
          this.instances.kick(parent);
        }
      },
    );
    appendEvents(inst, texts);
    Object.assign(row, updated);
    inst.inbox = [];
    this.instances.forget(row.id);
    this.logger.debug({ instanceId: row.id, status }, 'orchestration finished');
  }
}
