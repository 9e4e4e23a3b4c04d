// A container ends with its main process: what it left running (a detached grandchild in its own process
// group and session) is killed too — on a host without PID namespaces as well, where the emulator's
// cgroup sweep stands in for the kernel. The behaviour it copies: "If the 'init' process of a PID
// namespace terminates, the kernel terminates all of the processes in the namespace via a SIGKILL
// signal" (pid_namespaces(7)); a container's main process is that init.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, scenario, startCli, tempDir, type RunningEmulator } from '../fixtures/emulator/harness';

const root = typeof process.getuid === 'function' && process.getuid() === 0;

describe(
  'azure emulator: orphans of a container without PID namespaces (cgroup sweep)',
  { skip: !root ? 'needs root for cgroups' : false },
  () => {
    let data = '';
    let bin = '';
    let emu: RunningEmulator;

    before(async () => {
      data = tempDir('emu-orph-');
      bin = tempDir('emu-orph-bin-');
      // An `unshare` that fails, as on a host that refuses new PID namespaces: the emulator's probe runs the
      // real command and falls back to uid + cgroups.
      writeFileSync(join(bin, 'unshare'), '#!/bin/sh\necho "unshare: no PID namespaces on this host" >&2\nexit 1\n');
      chmodSync(join(bin, 'unshare'), 0o755);
      const path = process.env.PATH;
      process.env.PATH = `${bin}:${path ?? ''}`;
      try {
        emu = await startCli(data, ['--provisioning-delay-ms', '0', '--stop-grace-ms', '300']);
      } finally {
        process.env.PATH = path;
      }
    });

    after(async () => {
      assert.equal(await emu?.stop('SIGTERM'), 0);
      if (data) removeDir(data);
      if (bin) removeDir(bin);
    });

    it('kills the detached grandchild when the main process exits, then frees the emptied cgroups', async () => {
      assert.deepEqual(emu.ready.isolation, { users: true, namespaces: false }, 'the fallback path is the one tested');
      assert.equal(emu.ready.cgroups, true, 'cgroups are writable here');
      // A few rounds: freeing the cgroups right after the SIGKILL lost the race with the kernel often, not always.
      for (let round = 1; round <= 3; round++) {
        const o = await scenario(emu.ready, 'orphans');
        assert.equal(o.state, 'Succeeded');
        assert.equal(o.orphanPrinted, true, 'the grandchild was started');
        assert.equal(o.orphanAlive, false, 'the detached grandchild (own process group) was killed with the container');
      }
      // The exited container's cgroups are freed once its leftovers are gone, not while they are dying.
      const warnings = emu
        .stderr()
        .split('\n')
        .filter((l) => /could not remove cgroup|outlived their SIGKILL/.test(l));
      assert.deepEqual(warnings, [], 'no cgroup removal while its processes were still dying');
    });
  },
);
