// Unprivileged user ids for container groups: each group's processes run as a uid no other group
// (of this or any other emulator on the machine) holds, so one tenant's command cannot read another's
// /proc/<pid>/environ or files. Numeric ids without a passwd entry, as containers run an image's
// arbitrary `runAsUser`. Leases are files under the OS temp folder naming the owning emulator's pid
// (as for loopback addresses); a dead emulator's leases are taken over.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from './process-runner';

const LEASE_DIR = join(tmpdir(), 'aci-emulator-uid-leases');
/** Far above login users (1000+) and the usual subuid ranges' start (100000): 2,000,000 .. 2,059,999. */
export const UID_BASE = 2_000_000;
export const UID_COUNT = 60_000;

export class UidPool {
  private readonly mine = new Set<number>();
  private cursor: number;

  constructor(private readonly owner: string) {
    mkdirSync(LEASE_DIR, { recursive: true, mode: 0o700 });
    // Start where another emulator is unlikely to be: fewer lease files to step over.
    this.cursor = Number.parseInt(owner.slice(0, 8), 16) % UID_COUNT || 0;
  }

  private tryLease(uid: number, takeOverDead: boolean): boolean {
    const file = join(LEASE_DIR, String(uid));
    const content = `${process.pid} ${this.owner}\n`;
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, content);
      closeSync(fd);
      return true;
    } catch {
      let holder = '';
      try {
        holder = readFileSync(file, 'utf8');
      } catch {
        return false;
      }
      const [pid, owner] = holder.trim().split(' ');
      if (owner === this.owner || (takeOverDead && (!pid || !isAlive(Number(pid))))) {
        writeFileSync(file, content, { mode: 0o600 });
        return true;
      }
      return false;
    }
  }

  /** Keep the uid recorded for a group by an earlier run (its processes may still run as it). */
  reclaim(uid: number): boolean {
    if (this.mine.has(uid)) return true;
    if (uid < UID_BASE || uid >= UID_BASE + UID_COUNT || !this.tryLease(uid, true)) return false;
    this.mine.add(uid);
    return true;
  }

  allocate(): number {
    // Never-leased ids first; a dead emulator's only when none is left (it may re-adopt its groups).
    for (const takeOverDead of [false, true]) {
      for (let i = 0; i < UID_COUNT; i++) {
        const idx = (this.cursor + i) % UID_COUNT;
        const uid = UID_BASE + idx;
        if (this.mine.has(uid) || !this.tryLease(uid, takeOverDead)) continue;
        this.mine.add(uid);
        this.cursor = (idx + 1) % UID_COUNT;
        return uid;
      }
    }
    throw new Error('no free container uid left');
  }

  release(uid: number): void {
    if (!this.mine.delete(uid)) return;
    try {
      unlinkSync(join(LEASE_DIR, String(uid)));
    } catch {
      // already gone
    }
  }

  releaseAll(): void {
    for (const uid of [...this.mine]) this.release(uid);
  }
}
