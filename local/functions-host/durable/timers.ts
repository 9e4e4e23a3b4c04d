// Durable timers: one Node timer per pending durable timer (longer than setTimeout's 24.8-day limit
// by re-arming), keyed by instance, generation and sequence number; firing hands a TimerFired event
// to the engine, canceling deletes the stored timer in the next group commit.
import { historyEvent, type HistoryEvent } from './history';
import type { GroupCommit } from './group-commit';
import { EventType } from './model';
import type { Store } from './store';

const maxTimeout = 2 ** 31 - 1;

export class DurableTimers {
  private readonly handles = new Map<string, NodeJS.Timeout>();
  private closing = false;

  constructor(
    private readonly store: Store,
    private readonly commits: GroupCommit,
    /** Delivers a TimerFired event; `cleanup` deletes the stored timer in the same transaction. */
    private readonly fired: (
      id: string,
      generation: number,
      event: HistoryEvent,
      metaText: string | null,
      cleanup: () => void,
    ) => void,
  ) {}

  private key(id: string, generation: number, seq: number): string {
    return `${id}\u0000${generation}\u0000${seq}`;
  }

  arm(id: string, generation: number, seq: number, fireAt: number, metaText: string | null): void {
    if (this.closing) return;
    const key = this.key(id, generation, seq);
    const old = this.handles.get(key);
    if (old) clearTimeout(old);
    const delay = Math.max(0, fireAt - Date.now());
    const handle = setTimeout(
      () => {
        this.handles.delete(key);
        if (delay >= maxTimeout) {
          this.arm(id, generation, seq, fireAt, metaText);
          return;
        }
        this.fire(id, generation, seq, fireAt, metaText);
      },
      Math.min(delay, maxTimeout),
    );
    this.handles.set(key, handle);
  }

  private fire(id: string, generation: number, seq: number, fireAt: number, metaText: string | null): void {
    if (this.closing) return;
    const event = historyEvent(EventType.TimerFired, Date.now(), {
      TimerId: seq,
      FireAt: new Date(fireAt).toISOString(),
    });
    this.fired(id, generation, event, metaText, () => this.store.deleteTimer(id, generation, seq));
  }

  cancel(id: string, generation: number, seq: number): void {
    const key = this.key(id, generation, seq);
    const handle = this.handles.get(key);
    if (handle) {
      clearTimeout(handle);
      this.handles.delete(key);
    }
    this.commits.later(() => this.store.deleteTimer(id, generation, seq));
  }

  /** Drops the in-memory timers of an instance (purged, finished or continued as new). */
  forget(id: string): void {
    for (const [key, handle] of this.handles) {
      if (key.startsWith(`${id}\u0000`)) {
        clearTimeout(handle);
        this.handles.delete(key);
      }
    }
  }

  close(): void {
    this.closing = true;
    for (const handle of this.handles.values()) clearTimeout(handle);
    this.handles.clear();
  }
}
