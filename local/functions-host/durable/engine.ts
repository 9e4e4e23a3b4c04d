// The durable backend: runs orchestrator episodes through durable-functions' own replay code
// (schema V2), executes the actions they return (activities with retries, timers, external events,
// sub-orchestrations, continueAsNew) and persists every transition in one SQLite transaction.
// Episodes of one instance are serialized; activities run concurrently up to `maxActivities`.
// This file is instance control (what the Durable client and HTTP API call) and recovery; the parts
// are the instance table and message loop (instances.ts), episodes (episodes.ts, planned purely in
// episode-planner.ts), timers (timers.ts), the activity pump (activity-pump.ts) and the group
// commit (group-commit.ts).
import { randomUUID } from 'node:crypto';
import { HostError } from '../errors';
import type { Invoker } from '../invoker';
import type { Logger } from '../logger';
import { ActivityPump } from './activity-pump';
import { Episodes } from './episodes';
import { GroupCommit } from './group-commit';
import { historyEvent, type HistoryEvent } from './history';
import { Instances } from './instances';
import {
  EventType,
  terminalStatuses,
  toJob,
  validateInstanceId,
  type DurableFunctions,
  type EngineOptions,
} from './model';
import type { InstanceRow, Store } from './store';
import { DurableTimers } from './timers';

export { terminalStatuses, validateInstanceId, type DurableFunctions, type EngineOptions } from './model';

/** The statuses purge by filter may delete (see purgeWhere). */
const purgeableStatuses = ['Completed', 'Failed', 'Terminated'];

export class DurableEngine {
  private readonly commits: GroupCommit;
  private readonly timers: DurableTimers;
  private readonly pump: ActivityPump;
  private readonly instances: Instances;

  constructor(
    readonly store: Store,
    invoker: Invoker,
    private readonly functions: DurableFunctions,
    logger: Logger,
    options: EngineOptions,
  ) {
    this.commits = new GroupCommit(store, logger, options.onFatal);
    this.timers = new DurableTimers(store, this.commits, (id, generation, event, metaText, cleanup) =>
      this.instances.complete(id, generation, event, metaText, cleanup),
    );
    this.instances = new Instances(store, this.commits, this.timers, logger);
    this.pump = new ActivityPump(
      invoker,
      functions,
      logger,
      options,
      (p) => this.instances.track(p),
      (job, event, failedMeta) =>
        this.instances.complete(
          job.instanceId,
          job.generation,
          event,
          failedMeta ? JSON.stringify(failedMeta) : null,
          () => this.store.deleteWorkItem(job.workItemId),
        ),
    );
    this.instances.episodes = new Episodes(
      store,
      this.commits,
      this.instances,
      this.timers,
      this.pump,
      invoker,
      functions,
      logger,
      options,
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Recovery

  /** Reloads every unfinished instance, re-queues work items and re-arms timers (overdue fire now). */
  recover(): { instances: number; workItems: number; timers: number } {
    const active = this.instances.active;
    for (const row of this.store.activeInstances()) this.instances.load(row);
    let workItems = 0;
    for (const w of this.store.workItems()) {
      const inst = active.get(w.instance_id);
      if (!inst || inst.row.generation !== w.generation) {
        this.store.deleteWorkItem(w.id);
        continue;
      }
      this.pump.enqueue(toJob(w));
      workItems++;
    }
    let timers = 0;
    for (const t of this.store.timers()) {
      const inst = active.get(t.instance_id);
      if (!inst || inst.row.generation !== t.generation) {
        this.store.deleteTimer(t.instance_id, t.generation, t.seq);
        continue;
      }
      this.timers.arm(t.instance_id, t.generation, t.seq, t.fire_at, t.meta);
      timers++;
    }
    for (const inst of active.values()) this.instances.kick(inst);
    return { instances: active.size, workItems, timers };
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
      this.instances.createTx({ id, name: fn.metadata.name, inputText, version, parent: undefined });
    });
    this.instances.afterCreate(id);
    return id;
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
    this.instances.deliver(id, null, 'event', event, null);
    return true;
  }

  control(id: string, kind: 'terminate' | 'suspend' | 'resume', reason: string | undefined): true | false | 'gone' {
    this.flushWrites();
    const row = this.store.getInstance(id);
    if (!row) return false;
    if (terminalStatuses.has(row.status)) return 'gone';
    const rowId = this.store.insertInbox(id, null, kind, JSON.stringify({ reason }), null);
    const inst = this.instances.active.get(id);
    if (inst) {
      inst.inbox.push({ rowId, kind, generation: null, event: null, reason, meta: null });
      this.instances.kickSoon(inst);
    }
    return true;
  }

  purge(id: string): number {
    this.flushWrites();
    const n = this.store.tx(() => this.store.purge(id));
    this.instances.forget(id);
    return n;
  }

  /**
   * Purges finished instances only: the extension documents that purge needs Completed, Terminated or Failed
   * (MicrosoftDocs/azure-docs, articles/azure-functions/durable/durable-functions-instance-management.md, "Purge
   * instance history"), and DTFx intersects the runtimeStatus filter with those (Azure/durabletask,
   * AzureTableTrackingStore.PurgeInstanceHistoryAsync). A running instance and its queued work are never dropped.
   */
  purgeWhere(filter: { from?: number; to?: number; statuses?: string[] }): number {
    this.flushWrites();
    const statuses = filter.statuses ? filter.statuses.filter((s) => purgeableStatuses.includes(s)) : purgeableStatuses;
    if (statuses.length === 0) return 0;
    let deleted = 0;
    for (;;) {
      const rows = this.store.query({ ...filter, statuses, limit: 500 });
      if (rows.length === 0) return deleted;
      this.store.tx(() => {
        for (const r of rows) deleted += this.store.purge(r.id);
      });
      for (const r of rows) this.instances.forget(r.id);
    }
  }

  /** True when no episode or activity is running and nothing is queued. */
  isIdle(): boolean {
    return this.pump.idle && this.commits.pending === 0 && [...this.instances.active.values()].every((i) => !i.busy);
  }

  async close(): Promise<void> {
    this.instances.closing = true;
    this.timers.close();
    this.pump.close(); // unstarted work items stay in the store and run after a restart
    const deadline = Date.now() + 10_000;
    const inflight = this.instances.inflight;
    while (inflight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, 100))]);
    }
    this.flushWrites();
  }

  /** Writes every queued transition now (before a client operation reads the store). */
  flushWrites(): void {
    this.commits.flush();
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
