// One stack per data folder: two stacks on one folder put two hosts on one SQLite file and two
// emulators on one set of group records, which corrupts both. The lock file <data>/stack.lock names
// its holder (pid and process start time, so a reused pid is not mistaken for it, and the API port);
// a lock whose holder is gone is stale and taken over — after the components it recorded are gone too
// (they stop on their own when their stack dies: local/kit/exit-with-parent.mjs).
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive, waitFor } from '../kit';

export interface LockHolder {
  pid: number;
  /** /proc/<pid>/stat start time: with the pid, identifies one process. */
  startTime: string;
  apiPort: number;
  startedAt: string;
  /** The components' pids, recorded as they start (a successor waits for them to be gone). */
  components: Record<string, number>;
}

export class DataFolderInUse extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `the data folder ${dataDir} is in use by another stack: pid ${holder.pid}, API on port ${holder.apiPort} ` +
        `(started ${holder.startedAt}). Stop that stack (Ctrl-C in its terminal, or kill ${holder.pid}), ` +
        `or give this one another --data folder.`,
    );
    this.name = 'DataFolderInUse';
  }
}

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function holderAlive(h: LockHolder): boolean {
  if (!pidAlive(h.pid)) return false;
  const t = startTimeOf(h.pid);
  return t === undefined || t === h.startTime;
}

export function readLock(dataDir: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'stack.lock'), 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

export class DataLock {
  private constructor(
    private readonly file: string,
    private readonly holder: LockHolder,
  ) {}

  /**
   * Takes the folder's lock for this process, or throws DataFolderInUse naming the live holder. A
   * stale lock's components are waited for (deadline `staleWaitMs`) before it is taken over: longer
   * than an orphaned component's own forced exit (30 s, local/kit/exit-with-parent.mjs), so a
   * component whose shutdown hangs is gone before the successor gives up.
   */
  static async acquire(dataDir: string, apiPort: number, staleWaitMs = 45_000): Promise<DataLock> {
    const file = join(dataDir, 'stack.lock');
    const holder: LockHolder = {
      pid: process.pid,
      startTime: startTimeOf(process.pid) ?? '',
      apiPort,
      startedAt: new Date().toISOString(),
      components: {},
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      // Written aside, then linked into place: link fails if a lock exists, so two starters never both win.
      const mine = `${file}.${process.pid}`;
      writeFileSync(mine, JSON.stringify(holder));
      try {
        linkSync(mine, file);
        return new DataLock(file, holder);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        rmSync(mine, { force: true });
      }
      const other = readLock(dataDir);
      if (other && holderAlive(other)) throw new DataFolderInUse(dataDir, other);
      if (other) {
        const left = Object.entries(other.components).filter(([, pid]) => pidAlive(pid));
        if (left.length)
          await waitFor(
            `the components of the previous stack on ${dataDir} (${left.map(([n, p]) => `${n} pid ${p}`).join(', ')}) to exit`,
            () => left.every(([, pid]) => !pidAlive(pid)),
            { timeoutMs: staleWaitMs, intervalMs: 100 },
          );
      }
      // Stale: move it aside (atomic; a concurrent taker then finds nothing to move and retries).
      try {
        renameSync(file, `${file}.stale`);
      } catch {
        // someone else took it over first: retry
      }
    }
    const other = readLock(dataDir);
    if (other) throw new DataFolderInUse(dataDir, other);
    throw new Error(`could not lock the data folder ${dataDir}`);
  }

  /** Records a component's pid in the lock (a successor waits for it after a crash of this stack). */
  recordComponent(name: string, pid: number | undefined): void {
    if (pid === undefined) delete this.holder.components[name];
    else this.holder.components[name] = pid;
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.holder));
    renameSync(`${this.file}.tmp`, this.file);
  }

  release(): void {
    const current = readLock(join(this.file, '..'));
    if (current?.pid === this.holder.pid && current.startTime === this.holder.startTime)
      rmSync(this.file, { force: true });
  }
}
