// Container groups as real processes under cgroup limits: CPU quota, out-of-memory kills and
// restart policies, observed through the real ARM SDK.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { removeDir, scenario, startCli, tempDir, type RunningEmulator } from '../fixtures/emulator/harness';

describe('azure emulator: runtime (cgroups, restart policies)', () => {
  const data = tempDir('emu-run-');
  let emu: RunningEmulator;

  before(async () => {
    emu = await startCli(data, [
      '--provisioning-delay-ms',
      '0',
      '--restart-backoff-ms',
      '100',
      '--stop-grace-ms',
      '300',
    ]);
  });

  after(async () => {
    assert.equal(await emu?.stop('SIGTERM'), 0);
    removeDir(data);
  });

  it(
    'enforces the CPU request as a CFS quota (a busy loop in a 0.5-CPU group uses about half a core)',
    { skip: !process.getuid || process.getuid() !== 0 ? 'needs root for cgroups' : false },
    async (t) => {
      assert.equal(emu.ready.cgroups, true, 'cgroups are writable here');
      const o = await scenario(emu.ready, 'cpu');
      const cores = o.cores as number;
      assert.equal(o.quotaUs, 50000, 'quota = 0.5 × the 100 ms period');
      // The quota caps the loop at half a core however idle the machine is.
      assert.ok(cores > 0 && cores < 0.7, `measured ${cores} cores`);
      const load = loadavg()[0] ?? 0;
      if (load < cpus().length) {
        // With CPU to spare the loop gets its half core, and the kernel has to throttle it (it wants a whole one).
        assert.ok(cores > 0.3, `measured ${cores} cores at load ${load}`);
        assert.ok((o.throttled as number) > 0, `throttled in ${o.throttled} of ${o.periods} periods`);
      } else {
        // On an overloaded shared machine the loop may get less than its quota: only the cap is checkable.
        t.diagnostic(
          `load ${load} ≥ ${cpus().length} cores: measured ${cores.toFixed(2)} cores, throttled in ${o.throttled}/${o.periods} periods; floor not checked`,
        );
      }
      const cg = o.cgroup as Record<string, string>;
      assert.ok(cg.cpu && cg.memory && cg.cpuacct);
      assert.equal(existsSync(cg.cpu), false, 'the cgroup is removed with the group');
    },
  );

  it(
    'kills a container that exceeds its memory: exit code 137, OOMKilled',
    { skip: !process.getuid || process.getuid() !== 0 ? 'needs root for cgroups' : false },
    async () => {
      const o = await scenario(emu.ready, 'oom');
      const oom = o.oom as { state: string; exitCode: number; detail: string; events: string[] };
      assert.equal(oom.state, 'Failed');
      assert.equal(oom.exitCode, 137);
      assert.equal(oom.detail, 'OOMKilled');
      assert.ok(oom.events.includes('OOMKilled'));
      assert.doesNotMatch(String(o.logs), /without being killed/);
      assert.deepEqual(o.roomy, { state: 'Succeeded', exitCode: 0 }, 'the same program fits in 1 GB');
    },
  );

  it(
    'ends every process a container left behind when its main process exits, as a container does',
    { skip: !process.getuid || process.getuid() !== 0 ? 'needs root for cgroups' : false },
    async () => {
      const o = await scenario(emu.ready, 'orphans');
      assert.equal(o.state, 'Succeeded');
      assert.equal(o.orphanPrinted, true, 'the grandchild was started');
      assert.equal(o.orphanAlive, false, 'the detached grandchild (own process group) was killed with the container');
    },
  );

  it('keeps logs with ACI limits: tail, and only the last 16 KiB of a stopped group', async () => {
    const o = await scenario(emu.ready, 'logLimits');
    assert.equal(o.fullLines, 5001, '5000 lines + stderr line');
    assert.equal(o.tail3, 'line 4999 of 5000\nline 5000 of 5000\nabout to exit\n');
    assert.ok(
      (o.stoppedBytes as number) <= 16 * 1024 && (o.stoppedBytes as number) > 15 * 1024,
      `kept ${o.stoppedBytes} bytes`,
    );
    assert.equal(o.stoppedLast, 'about to exit');
    assert.match(String(o.stoppedFirst), /^line \d+ of 5000$/, 'cut at a line boundary');
  });

  it('honours restartPolicy Never / OnFailure / Always with restartCount and exit codes', async () => {
    const o = await scenario(emu.ready, 'policies');
    const v = (k: string) =>
      o[k] as {
        state: string;
        provisioningState: string;
        restartCount: number;
        current: string;
        exitCode: number;
        detail: string;
        previous?: string;
        finishTimeIsDate: boolean;
      };
    assert.deepEqual(
      { ...v('neverOk') },
      {
        state: 'Succeeded',
        provisioningState: 'Succeeded',
        restartCount: 0,
        current: 'Terminated',
        exitCode: 0,
        detail: 'Completed',
        finishTimeIsDate: true,
      },
    );
    assert.equal(v('neverFail').state, 'Failed');
    assert.equal(v('neverFail').exitCode, 3);
    assert.equal(v('neverFail').detail, 'Error');
    assert.equal(
      v('neverFail').provisioningState,
      'Succeeded',
      'provisioningState stays Succeeded after the container exits',
    );
    assert.equal(v('onFailureOk').state, 'Succeeded');
    assert.equal(v('onFailureOk').restartCount, 0);
    assert.equal(v('onFailureFail').state, 'Running');
    assert.ok(v('onFailureFail').restartCount >= 2);
    assert.equal(v('onFailureFail').previous, 'Terminated');
    assert.equal(v('onFailureFail').exitCode, 3, 'previousState keeps the exit code');
    assert.ok(v('alwaysOk').restartCount >= 2, 'Always restarts even after exit 0');
    assert.equal(v('alwaysOk').exitCode, 0);
    assert.equal(v('neverOkAfterStop').state, 'Succeeded', 'stop does not change an ended group');
    assert.equal(v('alwaysAfterStop').state, 'Stopped');
    assert.equal(v('alwaysAfterStop').provisioningState, 'Succeeded');
  });
});
