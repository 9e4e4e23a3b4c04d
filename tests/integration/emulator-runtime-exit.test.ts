// Exit classification (issue 10 item 5): OOMKilled comes from the kernel's OOM-kill counter of the
// container's memory cgroup, in both directions — the agent's child killed for memory while the agent
// lives on is an OOM kill (the container ends OOMKilled; the agent itself can read the counter at once);
// a plain SIGKILL (exit 137, no memory pressure) is not. Semantics as
// documented for containers (OpenShift "application memory sizing": "If one or more processes in a pod
// are OOM killed, when the pod subsequently exits, whether immediately or not, it will have phase
// Failed and reason OOMKilled"); ACI's instance view carries the reason in currentState.detailStatus.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { removeDir, scenario, startCli, tempDir, type RunningEmulator } from '../fixtures/emulator/harness';

const needsRoot = !process.getuid || process.getuid() !== 0 ? 'needs root for cgroups' : false;

describe('azure emulator: exit classification', { skip: needsRoot }, () => {
  const data = tempDir('emu-exit-');
  let emu: RunningEmulator;

  before(async () => {
    emu = await startCli(data, ['--provisioning-delay-ms', '0', '--stop-grace-ms', '300']);
  });

  after(async () => {
    assert.equal(await emu?.stop('SIGTERM'), 0);
    removeDir(data);
  });

  it('reports an OOM kill of a child process as OOMKilled when the container ends; the process inside can see it at once', async () => {
    assert.equal(emu.ready.cgroups, true, 'cgroups are writable here');
    const o = await scenario(emu.ready, 'oomChild', 90000);
    // The main process (the agent) tells an OOM kill from a plain SIGKILL by its own cgroup's counter.
    assert.match(String(o.childLine), /signal=SIGKILL oom_kill=[1-9]/, 'the kernel killed the child, counted');
    const w = o.whileRunning as { state: string; events: string[] };
    assert.equal(w.state, 'Running', 'the main process lives on');
    assert.ok(!w.events.includes('OOMKilled'), 'nothing is invented while it runs');
    assert.deepEqual(o.final, { exitCode: 1, detail: 'OOMKilled' }, 'the main exit code, the OOM reason');
    assert.ok((o.finalEvents as string[]).includes('Warning:OOMKilled'));
  });

  it('does not call a plain SIGKILL (exit 137 without memory pressure) OOMKilled', async () => {
    const o = await scenario(emu.ready, 'killNotOom', 90000);
    assert.ok(o.killedPid, 'found the command in the container cgroup');
    const k = o.killed as { exitCode: number; detail: string; events: string[] };
    assert.equal(k.exitCode, 137);
    assert.equal(k.detail, 'Error');
    assert.ok(!k.events.includes('OOMKilled'), `events: ${k.events.join(', ')}`);
  });
});
