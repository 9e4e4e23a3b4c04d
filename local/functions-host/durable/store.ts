// The durable store: one SQLite file (WAL) holding instances, history, pending messages (inbox),
// activity work items and timers. Every state transition the engine makes is one transaction over
// these tables, so a SIGKILL at any moment leaves a state the engine can resume from.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface InstanceRow {
  id: string;
  name: string;
  status: string;
  input: string | null;
  output: string | null;
  custom_status: string | null;
  created_at: number;
  updated_at: number;
  parent_id: string | null;
  parent_seq: number | null;
  parent_gen: number | null;
  parent_retry: string | null;
  version: string | null;
  generation: number;
  next_seq: number;
}

export interface InboxRow {
  id: number;
  instance_id: string;
  generation: number | null;
  kind: string;
  event: string | null;
  meta: string | null;
}
export interface WorkItemRow {
  id: number;
  instance_id: string;
  generation: number;
  seq: number;
  name: string;
  input: string | null;
  meta: string | null;
}
export interface TimerRow {
  instance_id: string;
  generation: number;
  seq: number;
  fire_at: number;
  meta: string | null;
}
export interface ActionRow {
  idx: number;
  sig: string;
  seq: number;
}

const schema = `
CREATE TABLE IF NOT EXISTS instances(
  id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, input TEXT, output TEXT, custom_status TEXT,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  parent_id TEXT, parent_seq INTEGER, parent_gen INTEGER, parent_retry TEXT,
  version TEXT, generation INTEGER NOT NULL DEFAULT 0, next_seq INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS instances_created ON instances(created_at, id);
CREATE INDEX IF NOT EXISTS instances_status ON instances(status);
CREATE TABLE IF NOT EXISTS history(instance_id TEXT NOT NULL, idx INTEGER NOT NULL, event TEXT NOT NULL, PRIMARY KEY(instance_id, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS actions(instance_id TEXT NOT NULL, idx INTEGER NOT NULL, sig TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(instance_id, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox(id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, generation INTEGER, kind TEXT NOT NULL, event TEXT, meta TEXT);
CREATE INDEX IF NOT EXISTS inbox_instance ON inbox(instance_id, id);
CREATE TABLE IF NOT EXISTS work_items(id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, generation INTEGER NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL, input TEXT, meta TEXT);
CREATE INDEX IF NOT EXISTS work_items_instance ON work_items(instance_id);
CREATE TABLE IF NOT EXISTS timers(instance_id TEXT NOT NULL, generation INTEGER NOT NULL, seq INTEGER NOT NULL, fire_at INTEGER NOT NULL, meta TEXT, PRIMARY KEY(instance_id, generation, seq)) WITHOUT ROWID;
`;

export const activeStatuses = ['Pending', 'Running', 'Suspended', 'ContinuedAsNew'];

export class Store {
  readonly db: Database.Database;
  readonly path: string;
  private readonly s;
  private readonly runInTx: Database.Transaction<(fn: () => unknown) => unknown>;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, 'durable.sqlite');
    this.db = new Database(this.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(schema);
    this.runInTx = this.db.transaction((fn: () => unknown) => fn());
    const d = this.db;
    this.s = {
      getInstance: d.prepare<[string], InstanceRow>('SELECT * FROM instances WHERE id = ?'),
      insertInstance:
        d.prepare(`INSERT OR REPLACE INTO instances(id, name, status, input, output, custom_status, created_at, updated_at, parent_id, parent_seq, parent_gen, parent_retry, version, generation, next_seq)
        VALUES(@id, @name, @status, @input, @output, @custom_status, @created_at, @updated_at, @parent_id, @parent_seq, @parent_gen, @parent_retry, @version, @generation, @next_seq)`),
      updateInstance: d.prepare(
        `UPDATE instances SET status=@status, input=@input, output=@output, custom_status=@custom_status, created_at=@created_at, updated_at=@updated_at, generation=@generation, next_seq=@next_seq WHERE id=@id`,
      ),
      deleteInstance: d.prepare('DELETE FROM instances WHERE id = ?'),
      activeInstances: d.prepare<[], InstanceRow>(
        `SELECT * FROM instances WHERE status IN (${activeStatuses.map((s) => `'${s}'`).join(',')})`,
      ),
      history: d.prepare<[string], { event: string }>('SELECT event FROM history WHERE instance_id = ? ORDER BY idx'),
      insertHistory: d.prepare('INSERT INTO history(instance_id, idx, event) VALUES(?, ?, ?)'),
      deleteHistory: d.prepare('DELETE FROM history WHERE instance_id = ?'),
      actions: d.prepare<[string], ActionRow>('SELECT idx, sig, seq FROM actions WHERE instance_id = ? ORDER BY idx'),
      insertAction: d.prepare('INSERT INTO actions(instance_id, idx, sig, seq) VALUES(?, ?, ?, ?)'),
      deleteActions: d.prepare('DELETE FROM actions WHERE instance_id = ?'),
      inbox: d.prepare<[string], InboxRow>('SELECT * FROM inbox WHERE instance_id = ? ORDER BY id'),
      insertInbox: d.prepare('INSERT INTO inbox(instance_id, generation, kind, event, meta) VALUES(?, ?, ?, ?, ?)'),
      deleteInboxRow: d.prepare('DELETE FROM inbox WHERE id = ?'),
      deleteInbox: d.prepare('DELETE FROM inbox WHERE instance_id = ?'),
      deleteInboxExceptEvents: d.prepare(
        `DELETE FROM inbox WHERE instance_id = ? AND NOT (kind = 'event' AND generation IS NULL)`,
      ),
      workItems: d.prepare<[], WorkItemRow>('SELECT * FROM work_items ORDER BY id'),
      insertWorkItem: d.prepare(
        'INSERT INTO work_items(instance_id, generation, seq, name, input, meta) VALUES(?, ?, ?, ?, ?, ?)',
      ),
      deleteWorkItem: d.prepare('DELETE FROM work_items WHERE id = ?'),
      deleteWorkItems: d.prepare('DELETE FROM work_items WHERE instance_id = ?'),
      timers: d.prepare<[], TimerRow>('SELECT * FROM timers'),
      insertTimer: d.prepare(
        'INSERT OR REPLACE INTO timers(instance_id, generation, seq, fire_at, meta) VALUES(?, ?, ?, ?, ?)',
      ),
      deleteTimer: d.prepare('DELETE FROM timers WHERE instance_id = ? AND generation = ? AND seq = ?'),
      deleteTimers: d.prepare('DELETE FROM timers WHERE instance_id = ?'),
    };
  }

  /** Runs `fn` in one IMMEDIATE transaction (one wrapper for all calls: creating one per call is not free). */
  tx<T>(fn: () => T): T {
    return this.runInTx.immediate(fn) as T;
  }

  getInstance(id: string): InstanceRow | undefined {
    return this.s.getInstance.get(id);
  }
  insertInstance(row: InstanceRow): void {
    this.s.insertInstance.run(row);
  }
  updateInstance(row: InstanceRow): void {
    this.s.updateInstance.run(row);
  }
  activeInstances(): InstanceRow[] {
    return this.s.activeInstances.all();
  }
  history(id: string): string[] {
    return this.s.history.all(id).map((r) => r.event);
  }
  appendHistory(id: string, startIdx: number, events: string[]): void {
    for (let i = 0; i < events.length; i++) this.s.insertHistory.run(id, startIdx + i, events[i]);
  }
  actions(id: string): ActionRow[] {
    return this.s.actions.all(id);
  }
  insertAction(id: string, idx: number, sig: string, seq: number): void {
    this.s.insertAction.run(id, idx, sig, seq);
  }
  inbox(id: string): InboxRow[] {
    return this.s.inbox.all(id);
  }
  insertInbox(id: string, generation: number | null, kind: string, event: string | null, meta: string | null): number {
    return Number(this.s.insertInbox.run(id, generation, kind, event, meta).lastInsertRowid);
  }
  deleteInboxRow(rowId: number): void {
    this.s.deleteInboxRow.run(rowId);
  }
  workItems(): WorkItemRow[] {
    return this.s.workItems.all();
  }
  insertWorkItem(w: Omit<WorkItemRow, 'id'>): number {
    return Number(
      this.s.insertWorkItem.run(w.instance_id, w.generation, w.seq, w.name, w.input, w.meta).lastInsertRowid,
    );
  }
  deleteWorkItem(id: number): void {
    this.s.deleteWorkItem.run(id);
  }
  timers(): TimerRow[] {
    return this.s.timers.all();
  }
  insertTimer(t: TimerRow): void {
    this.s.insertTimer.run(t.instance_id, t.generation, t.seq, t.fire_at, t.meta);
  }
  deleteTimer(id: string, generation: number, seq: number): void {
    this.s.deleteTimer.run(id, generation, seq);
  }

  /** Drops what a finished (or restarted) generation left behind. */
  clearPending(id: string, keepEvents: boolean): void {
    this.s.deleteWorkItems.run(id);
    this.s.deleteTimers.run(id);
    if (keepEvents) this.s.deleteInboxExceptEvents.run(id);
    else this.s.deleteInbox.run(id);
  }
  resetGeneration(id: string): void {
    this.s.deleteHistory.run(id);
    this.s.deleteActions.run(id);
  }
  purge(id: string): number {
    this.clearPending(id, false);
    this.resetGeneration(id);
    return this.s.deleteInstance.run(id).changes;
  }

  query(filter: {
    from?: number;
    to?: number;
    statuses?: string[];
    prefix?: string;
    after?: { c: number; id: string };
    limit: number;
  }): InstanceRow[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.from !== undefined) {
      where.push('created_at >= ?');
      args.push(filter.from);
    }
    if (filter.to !== undefined) {
      where.push('created_at <= ?');
      args.push(filter.to);
    }
    if (filter.statuses && filter.statuses.length > 0) {
      where.push(`status IN (${filter.statuses.map(() => '?').join(',')})`);
      args.push(...filter.statuses);
    }
    if (filter.prefix) {
      where.push('substr(id, 1, ?) = ?');
      args.push(filter.prefix.length, filter.prefix);
    }
    if (filter.after) {
      where.push('(created_at > ? OR (created_at = ? AND id > ?))');
      args.push(filter.after.c, filter.after.c, filter.after.id);
    }
    const sql = `SELECT * FROM instances ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at, id LIMIT ?`;
    return this.db.prepare<(string | number)[], InstanceRow>(sql).all(...args, filter.limit);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
