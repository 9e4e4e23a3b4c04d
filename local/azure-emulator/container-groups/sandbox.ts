// A group's private place on this machine: its own uid (leased, see uid-pool.ts) and a private working
// folder owned by that uid (mode 0700, under a root-owned 0711 parent), so one tenant's command reads
// neither another group's processes, environment or files nor the emulator's data folder (0700). In a
// container the image's filesystem and /tmp are private; here the working folder is HOME and TMPDIR.
// Without root, groups share the emulator's user: the folder is still per group, nothing more.
import { chmodSync, chownSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log';
import type { IsolationSupport, RunAs } from '../process-runner';
import type { UidPool } from '../uid-pool';
import type { GroupRecord } from './model';

export interface SandboxOptions {
  uidPool: UidPool;
  isolation: IsolationSupport;
  /** parent of the groups' working folders (outside the emulator's private data folder) */
  workRoot: string;
  log: Logger;
}

export interface Sandbox {
  runAs?: RunAs;
  namespaces: boolean;
  workDir: string;
}

export class GroupSandboxes {
  constructor(private readonly o: SandboxOptions) {
    // 0711: a uid may enter its own folder, but not list who else has one.
    mkdirSync(o.workRoot, { recursive: true, mode: 0o711 });
    chmodSync(o.workRoot, 0o711);
  }

  private workDir(g: GroupRecord): string {
    return join(this.o.workRoot, g.key);
  }

  /** The uid (leased once per group, kept across restarts) and the private folder, created if missing. */
  prepare(g: GroupRecord): Sandbox {
    if (this.o.isolation.users && g.uid === undefined) g.uid = this.o.uidPool.allocate();
    const workDir = this.workDir(g);
    mkdirSync(workDir, { recursive: true, mode: 0o700 });
    chmodSync(workDir, 0o700);
    if (g.uid === undefined || !this.o.isolation.users) return { namespaces: false, workDir };
    chownSync(workDir, g.uid, g.uid);
    return { runAs: { uid: g.uid, gid: g.uid }, namespaces: this.o.isolation.namespaces, workDir };
  }

  /** After an emulator restart: keep the recorded uid (re-adopted processes run as it) or take a new one. */
  reclaim(g: GroupRecord): void {
    if (g.uid === undefined || !this.o.isolation.users) return;
    if (this.o.uidPool.reclaim(g.uid)) return;
    this.o.log.warn(
      { group: g.name, uid: g.uid },
      'recorded uid is leased by another emulator: the group gets a new one',
    );
    g.uid = undefined;
  }

  /** The group is gone: its folder and its uid too. */
  release(g: GroupRecord): void {
    rmSync(this.workDir(g), { recursive: true, force: true });
    if (g.uid !== undefined) this.o.uidPool.release(g.uid);
  }

  /** Folders of groups no record names any more (deleted while no emulator ran). */
  reap(keys: Set<string>): void {
    for (const key of readdirSync(this.o.workRoot)) {
      if (!keys.has(key)) rmSync(join(this.o.workRoot, key), { recursive: true, force: true });
    }
  }

  /**
   * Emulator shutdown (every process is stopped by then): uid leases and working folders go. A group
   * the next run starts again gets a fresh folder, as a restarted container gets a fresh writable layer.
   */
  releaseAll(): void {
    this.o.uidPool.releaseAll();
    rmSync(this.o.workRoot, { recursive: true, force: true });
  }
}
