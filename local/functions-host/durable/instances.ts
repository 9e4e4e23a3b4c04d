// The instance table and message loop: the unfinished instances in memory, their inboxes, and the
// loop that runs one instance's episodes one at a time (control messages — terminate, suspend,
// resume — are applied here; events go to an episode).
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import type { Episodes } from './episodes';
import type { GroupCommit } from './group-commit';
import { historyEvent, type HistoryEvent } from './history';
import {
  appendEvents,
  EventType,
  executionStarted,
  terminalStatuses,
  type Instance,
  type InboxMessage,
  type Meta,
  type RetryState,
} from './model';
import type { InstanceRow, Store } from './store';
import type { DurableTimers } from './timers';

export class Instances {
  readonly active = new Map<string, Instance>();
  readonly inflight = new Set<Promise<unknown>>();
  closing = false;
  /** Set once by the engine (the episode runner needs this table, and this table runs episodes). */
  episodes!: Episodes;

  constructor(
    private readonly store: Store,
    private readonly commits: GroupCommit,
    private readonly timers: DurableTimers,
    private readonly logger: Logger,
  ) {}

  /** Tracks a running episode or activity so that close() can wait for it; returns the untrack. */
  track(p: Promise<unknown>): () => void {
    this.inflight.add(p);
    return () => this.inflight.delete(p);
  }

  load(row: InstanceRow): Instance {
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

  /** Inside a transaction: instance row + its ExecutionStarted message. */
  createTx(p: {
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
  afterCreate(id: string): void {
    const row = this.store.getInstance(id);
    if (!row) return;
    this.active.delete(id);
    this.kick(this.load(row));
  }

  forget(id: string): void {
    this.active.delete(id);
    this.timers.forget(id);
  }

  /** Persists a message for an instance and wakes it. */
  deliver(
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
   * A completion (activity result, timer firing) for an instance's generation: queued for the group
   * commit together with `cleanup` and handed to the instance at once. The episode it triggers is
   * written in the same transaction (after it), and that episode's own side effects wait for the
   * commit, so a crash loses both or neither. A completion for a finished generation is only cleaned up.
   */
  complete(id: string, generation: number, event: HistoryEvent, metaText: string | null, cleanup: () => void): void {
    const inst = this.active.get(id);
    const live = inst !== undefined && inst.row.generation === generation;
    const msg: InboxMessage = {
      rowId: 0,
      kind: 'event',
      generation,
      event,
      meta: metaText ? (JSON.parse(metaText) as Meta) : null,
    };
    this.commits.later(() => {
      cleanup();
      if (live) msg.rowId = this.store.insertInbox(id, generation, 'event', JSON.stringify(event), metaText);
    });
    if (live) {
      inst.inbox.push(msg);
      this.kick(inst);
    }
  }

  /**
   * Runs the instance after the current I/O phase: requests that arrive together (say, a burst of
   * raiseEvent calls) are then applied in one episode instead of one replay each.
   */
  kickSoon(inst: Instance): void {
    if (inst.kickScheduled) return;
    inst.kickScheduled = true;
    setImmediate(() => {
      inst.kickScheduled = false;
      this.kick(inst);
    });
  }

  kick(inst: Instance): void {
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
        this.commits.later(() => this.store.deleteInboxRow(first.rowId));
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
            this.commits.later(() => this.store.deleteInboxRow(m.rowId));
            continue;
          }
          batch.push(inst.inbox.shift()!);
        }
      }
      if (batch.length === 0) continue;
      try {
        await this.episodes.run(inst, batch);
      } catch (err) {
        // A bug or an unserializable value (say, a BigInt output) must not wedge the instance.
        if (this.active.get(inst.row.id) !== inst || terminalStatuses.has(inst.row.status)) throw err;
        const message = `Orchestrator function '${inst.row.name}' failed: the host could not process its result: ${errorMessage(err)}`;
        this.logger.error({ instanceId: inst.row.id, err }, message);
        const ev = historyEvent(EventType.ExecutionCompleted, Date.now(), {
          OrchestrationStatus: 'Failed',
          Result: message,
        });
        this.episodes.finish(inst, [ev], 'Failed', JSON.stringify(message), batch, { failed: true, reason: message });
      }
    }
  }

  private applyControl(inst: Instance, msg: InboxMessage): void {
    const row = inst.row;
    const now = Date.now();
    if (msg.kind === 'terminate') {
      const reason = msg.reason ?? '';
      const ev = historyEvent(EventType.ExecutionTerminated, now, { Input: reason });
      this.episodes.finish(inst, [ev], 'Terminated', JSON.stringify(reason), [msg], {
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
    this.commits.later(() => {
      this.store.appendHistory(row.id, idx, events);
      this.store.deleteInboxRow(msg.rowId);
      this.store.updateInstance(updated);
    });
    appendEvents(inst, events);
    row.status = status;
    row.updated_at = now;
  }
}
