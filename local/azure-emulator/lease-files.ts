// Machine-wide leases as files in one folder, one file per leased name (a loopback address, a uid),
// each naming the owning emulator's pid and id: two emulators on one machine (parallel test files)
// never hold the same name, an emulator re-takes its own leases after a restart, and the leases of a
// dead emulator can be taken over. Used by ip-pool.ts and uid-pool.ts.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from './process-runner';

export class LeaseFiles {
  /**
   * @param dir the folder of lease files (created)
   * @param owner this emulator's id (its data folder's): its own leases are always re-taken
   * @param privateFiles folder 0700 and files 0600 (names other users must not learn, such as uids)
   */
  constructor(
    private readonly dir: string,
    private readonly owner: string,
    private readonly privateFiles = false,
  ) {
    mkdirSync(dir, { recursive: true, ...(privateFiles ? { mode: 0o700 } : {}) });
  }

  /** Takes the lease of `name`: a free one, our own, or (with takeOverDead) a dead emulator's. */
  take(name: string, takeOverDead: boolean): boolean {
    const file = join(this.dir, name);
    const content = `${process.pid} ${this.owner}\n`;
    const mode = this.privateFiles ? { mode: 0o600 } : {};
    try {
      const fd = openSync(file, 'wx', mode.mode);
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
        // Our own earlier run (same data folder) or a dead emulator: take it over.
        writeFileSync(file, content, mode);
        return true;
      }
      return false;
    }
  }

  /** Gives the lease of `name` back (idempotent). */
  drop(name: string): void {
    try {
      unlinkSync(join(this.dir, name));
    } catch {
      // already gone
    }
  }
}
