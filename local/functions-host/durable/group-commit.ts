// Group commit: the transitions computed during one event-loop turn are written in one SQLite
// transaction, and their side effects (activities, timers, child starts, wake-ups) run only after it
// commits — so a crash loses a transition and its effects together, or neither.
import type { Logger } from '../logger';
import type { Store } from './store';

export class GroupCommit {
  private writes: (() => void)[] = [];
  private afterCommit: (() => void)[] = [];
  private flushScheduled = false;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly onFatal: (err: unknown) => void,
  ) {}

  get pending(): number {
    return this.writes.length;
  }

  later(write: () => void, after?: () => void): void {
    this.writes.push(write);
    if (after) this.afterCommit.push(after);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes every queued transition in one transaction, then runs their side effects. */
  flush(): void {
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
      this.onFatal(err);
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
}
