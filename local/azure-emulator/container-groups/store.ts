// The group store: records and operations in memory, written to <data>/groups/<key>/group.json and
// <data>/operations.json (batched: a burst of changes is one write), read back by the next run.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { groupKey, now, type GroupRecord, type ManagerOptions, type Operation } from './model';

export class GroupStore {
  readonly groups = new Map<string, GroupRecord>();
  readonly operations = new Map<string, Operation>();
  private readonly saveQueue = new Set<string>();
  private saveTimer?: NodeJS.Timeout;
  private opsTimer?: NodeJS.Timeout;
  private opsDirty = false;
  readonly groupsDir: string;

  constructor(private readonly o: ManagerOptions) {
    this.groupsDir = join(o.dataDir, 'groups');
    mkdirSync(this.groupsDir, { recursive: true });
  }

  // ---------------------------------------------------------------- files
  dir(g: GroupRecord | string): string {
    return join(this.groupsDir, typeof g === 'string' ? g : g.key);
  }
  rawFile(g: GroupRecord, c: string): string {
    return join(this.dir(g), `${c}.out`);
  }
  logFile(g: GroupRecord, c: string): string {
    return join(this.dir(g), `${c}.log`);
  }
  exitFile(g: GroupRecord, c: string): string {
    return join(this.dir(g), `${c}.exit`);
  }

  // ---------------------------------------------------------------- persistence
  save(g: GroupRecord): void {
    this.saveQueue.add(g.key);
    if (!this.saveTimer) {
      this.saveTimer = setTimeout(() => this.flush(), 20);
    }
  }

  /** Forget a record's pending write (the record is being removed). */
  unqueue(key: string): void {
    this.saveQueue.delete(key);
  }

  flush(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    for (const key of this.saveQueue) {
      const g = this.groups.get(key);
      if (!g) continue;
      const d = this.dir(g);
      mkdirSync(d, { recursive: true, mode: 0o700 });
      // Secure values are kept (a later `start` must run the group again), so the file is private.
      writeFileSync(join(d, 'group.json.tmp'), JSON.stringify(g, null, 1), { mode: 0o600 });
      renameSync(join(d, 'group.json.tmp'), join(d, 'group.json'));
    }
    this.saveQueue.clear();
    if (this.opsDirty) this.flushOps();
  }

  /** Operations are written at most every 250 ms: under a burst of creates they change constantly. */
  private markOpsDirty(): void {
    this.opsDirty = true;
    if (!this.opsTimer) this.opsTimer = setTimeout(() => this.flushOps(), 250);
  }

  flushOps(): void {
    if (this.opsTimer) clearTimeout(this.opsTimer);
    this.opsTimer = undefined;
    this.opsDirty = false;
    // Unfinished operations, and the last 500 finished ones (a poller may still ask for them).
    const all = [...this.operations.values()];
    const finished = all.filter((o) => o.endTime);
    const keep = [...all.filter((o) => !o.endTime), ...finished.slice(-500)];
    writeFileSync(join(this.o.dataDir, 'operations.json.tmp'), JSON.stringify(keep));
    renameSync(join(this.o.dataDir, 'operations.json.tmp'), join(this.o.dataDir, 'operations.json'));
  }

  /** Load the operations and group records of an earlier run; returns the keys of the groups read. */
  load(): Set<string> {
    try {
      const ops = JSON.parse(readFileSync(join(this.o.dataDir, 'operations.json'), 'utf8')) as Operation[];
      for (const op of ops) this.operations.set(op.id, op);
    } catch {
      // first run
    }
    const keys = new Set<string>();
    for (const key of readdirSync(this.groupsDir)) {
      const file = join(this.groupsDir, key, 'group.json');
      if (!existsSync(file)) {
        rmSync(join(this.groupsDir, key), { recursive: true, force: true });
        continue;
      }
      let g: GroupRecord;
      try {
        g = JSON.parse(readFileSync(file, 'utf8')) as GroupRecord;
      } catch (err) {
        // A record cut short (disk full, killed mid-write): keep it for inspection, start without it.
        this.o.log.error({ file, err: String(err) }, 'unreadable container group record; moved aside');
        renameSync(file, `${file}.corrupt-${Date.now()}`);
        continue;
      }
      this.groups.set(g.key, g);
      keys.add(g.key);
    }
    return keys;
  }

  // ---------------------------------------------------------------- queries
  find(subscriptionId: string, resourceGroup: string, name: string): GroupRecord | undefined {
    const g = this.groups.get(groupKey(this.idOf(subscriptionId, resourceGroup, name)));
    return g;
  }

  idOf(subscriptionId: string, resourceGroup: string, name: string): string {
    return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerInstance/containerGroups/${name}`;
  }

  list(subscriptionId: string, resourceGroup?: string): GroupRecord[] {
    return [...this.groups.values()]
      .filter(
        (g) =>
          g.subscriptionId.toLowerCase() === subscriptionId.toLowerCase() &&
          (!resourceGroup || g.resourceGroup.toLowerCase() === resourceGroup.toLowerCase()),
      )
      .sort((a, b) => (a.id.toLowerCase() < b.id.toLowerCase() ? -1 : 1));
  }

  all(): GroupRecord[] {
    return [...this.groups.values()];
  }

  usage(subscriptionId: string): { groups: number; cores: number } {
    const list = this.list(subscriptionId);
    const active = list.filter((g) => g.state === 'Pending' || g.state === 'Running');
    return { groups: list.length, cores: Math.round(active.reduce((s, g) => s + g.spec.totalCpu, 0) * 1000) / 1000 };
  }

  // ---------------------------------------------------------------- operations
  newOperation(g: GroupRecord, kind: Operation['kind']): Operation {
    const op: Operation = {
      id: randomUUID(),
      subscriptionId: g.subscriptionId,
      location: this.o.location,
      groupId: g.id,
      kind,
      status: kind === 'delete' ? 'Deleting' : 'Pending',
      startTime: now(),
      events: [],
    };
    this.operations.set(op.id, op);
    this.markOpsDirty();
    if (this.operations.size > 5000) {
      const first = this.operations.keys().next().value;
      if (first) this.operations.delete(first);
    }
    return op;
  }

  finishOperation(op: Operation | undefined, error?: { code: string; message: string }): void {
    if (!op) return;
    op.status = error ? 'Failed' : 'Succeeded';
    op.endTime = now();
    if (error) op.error = error;
    this.markOpsDirty();
  }
}
