// The emulator's runtime pieces on their own: the OOM counter it trusts (not failcnt, not exit 137),
// the per-group uid leases and private folders.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Cgroups } from '../../local/azure-emulator/cgroups';
import { GroupSandboxes } from '../../local/azure-emulator/container-groups/sandbox';
import type { GroupRecord } from '../../local/azure-emulator/container-groups';
import { UID_BASE, UID_COUNT, UidPool } from '../../local/azure-emulator/uid-pool';
import { removeDir, tempDir } from '../fixtures/emulator/harness';

describe('emulator OOM counter', () => {
  it('counts only the kernel oom_kill counter: a memory.failcnt (limit touched, reclaimed) is no OOM kill', () => {
    const dir = tempDir('emu-oom-');
    try {
      const mem = join(dir, 'memory', 'aci-emulator', 'inst', 'g', 'c');
      mkdirSync(mem, { recursive: true });
      // A cgroup that hit its limit 12 times, the kernel reclaimed page cache, nothing was killed.
      writeFileSync(join(mem, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n');
      writeFileSync(join(mem, 'memory.failcnt'), '12\n');
      const cg = new Cgroups('inst', pino({ level: 'silent' }), true, dir);
      assert.equal(cg.oomKills({ dirs: { memory: mem } }), 0);
      writeFileSync(join(mem, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
      assert.equal(cg.oomKills({ dirs: { memory: mem } }), 2);
      // A kernel without the counter (< 4.13) cannot tell: no OOM kill is claimed, whatever failcnt says.
      writeFileSync(join(mem, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\n');
      assert.equal(cg.oomKills({ dirs: { memory: mem } }), 0);
      // cgroup v2 names it in memory.events.
      writeFileSync(join(mem, 'memory.events'), 'low 0\nhigh 0\nmax 40\noom 1\noom_kill 1\n');
      assert.equal(cg.oomKills({ dirs: { memory: mem } }), 1);
    } finally {
      removeDir(dir);
    }
  });
});

describe('emulator uid pool', () => {
  it('gives each group its own uid in the unprivileged range, shared safely between emulators', () => {
    const a = new UidPool('aaaaaaaa00000001');
    const b = new UidPool('aaaaaaaa00000002');
    const got: number[] = [];
    try {
      for (let i = 0; i < 5; i++) got.push(a.allocate(), b.allocate());
      assert.equal(new Set(got).size, got.length, 'no uid handed out twice');
      for (const u of got) assert.ok(u >= UID_BASE && u < UID_BASE + UID_COUNT, `${u} in range`);
      // A lease held by a live emulator (this process) under another owner cannot be re-claimed.
      assert.equal(b.reclaim(got[0] as number), false);
      assert.equal(a.reclaim(got[0] as number), true, 'its own lease (a restart of the same data folder)');
      assert.equal(a.reclaim(1000), false, 'a uid outside the range is never used');
    } finally {
      a.releaseAll();
      b.releaseAll();
    }
    const c = new UidPool('aaaaaaaa00000003');
    try {
      assert.equal(c.reclaim(got[0] as number), true, 'released leases are free again');
    } finally {
      c.releaseAll();
    }
  });
});

describe('emulator group sandboxes', () => {
  it('gives a group a private folder owned by its own uid, kept across restarts, removed with the group', () => {
    const root = tempDir('emu-box-');
    const users = typeof process.getuid === 'function' && process.getuid() === 0;
    const pool = new UidPool('bbbbbbbb00000001');
    const boxes = new GroupSandboxes({
      uidPool: pool,
      isolation: { users, namespaces: false },
      workRoot: join(root, 'work'),
      log: pino({ level: 'silent' }),
    });
    const g = { key: 'k1', name: 'g1' } as GroupRecord;
    try {
      const box = boxes.prepare(g);
      assert.equal(statSync(box.workDir).mode & 0o777, 0o700);
      assert.equal(statSync(join(root, 'work')).mode & 0o777, 0o711, 'enterable, not listable');
      if (users) {
        assert.ok(g.uid && box.runAs?.uid === g.uid && box.runAs.gid === g.uid);
        assert.equal(statSync(box.workDir).uid, g.uid, 'owned by the group');
        assert.equal(boxes.prepare(g).runAs?.uid, g.uid, 'the same uid for a restart');
      } else {
        assert.equal(box.runAs, undefined, 'not root: no uid switch');
      }
      const stale = join(root, 'work', 'gone');
      mkdirSync(stale);
      boxes.reap(new Set(['k1']));
      assert.equal(existsSync(stale), false, 'a folder no record names is removed');
      assert.equal(existsSync(box.workDir), true);
      boxes.release(g);
      assert.equal(existsSync(box.workDir), false);
      boxes.releaseAll();
      assert.equal(existsSync(join(root, 'work')), false, 'the folders go at shutdown');
      if (users) {
        const other = new UidPool('bbbbbbbb00000002');
        assert.equal(other.reclaim(g.uid as number), true, 'uid lease freed');
        other.releaseAll();
      }
    } finally {
      pool.releaseAll();
      removeDir(root);
    }
  });
});

describe('emulator isolation fallback', () => {
  it("runs groups as the emulator's own user, with a warning, where it is not root", () => {
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    const probe = join(__dirname, '../fixtures/emulator/isolation-probe.ts');
    // As root: the probe runs as 'nobody' (65534), as an emulator started by an ordinary user would.
    const cmd = root
      ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath]
      : [process.execPath];
    const r = spawnSync(cmd[0] as string, [...cmd.slice(1), '--import', 'tsx', probe], {
      cwd: join(__dirname, '../..'),
      env: { ...process.env, HOME: '/tmp', TMPDIR: '/tmp' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim()), { users: false, namespaces: false });
    assert.match(r.stderr, /not running as root: container processes run as the emulator's own user/);
  });
});
