// Unprivileged user ids for container groups: each group's processes run as a uid no other group
// (of this or any other emulator on the machine) holds, so one tenant's command cannot read another's
// /proc/<pid>/environ or files. Numeric ids without a passwd entry, as containers run an image's
// arbitrary `runAsUser`. Leased machine-wide like loopback addresses (lease-files.ts), privately.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaseFiles } from './lease-files';

const LEASE_DIR = join(tmpdir(), 'aci-emulator-uid-leases');
/** Far above login users (1000+) and the usual subuid ranges' start (100000): 2,000,000 .. 2,059,999. */
export const UID_BASE = 2_000_000;
export const UID_COUNT = 60_000;

export class UidPool {
  private readonly mine = new Set<number>();
  private cursor: number;

  private readonly leases: LeaseFiles;

  constructor(owner: string) {
    this.leases = new LeaseFiles(LEASE_DIR, owner, true);
    // Start where another emulator is unlikely to be: fewer lease files to step over.
    this.cursor = Number.parseInt(owner.slice(0, 8), 16) % UID_COUNT || 0;
  }

  /** Keep the uid recorded for a group by an earlier run (its processes may still run as it). */
  reclaim(uid: number): boolean {
    if (this.mine.has(uid)) return true;
    if (uid < UID_BASE || uid >= UID_BASE + UID_COUNT || !this.leases.take(String(uid), true)) return false;
    this.mine.add(uid);
    return true;
  }

  allocate(): number {
    // Never-leased ids first; a dead emulator's only when none is left (it may re-adopt its groups).
    for (const takeOverDead of [false, true]) {
      for (let i = 0; i < UID_COUNT; i++) {
        const idx = (this.cursor + i) % UID_COUNT;
        const uid = UID_BASE + idx;
        if (this.mine.has(uid) || !this.leases.take(String(uid), takeOverDead)) continue;
        this.mine.add(uid);
        this.cursor = (idx + 1) % UID_COUNT;
        return uid;
      }
    }
    throw new Error('no free container uid left');
  }

  release(uid: number): void {
    if (this.mine.delete(uid)) this.leases.drop(String(uid));
  }

  releaseAll(): void {
    for (const uid of [...this.mine]) this.release(uid);
  }
}
