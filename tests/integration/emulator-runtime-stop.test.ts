// Stop gives a container's command its grace period: SIGTERM, up to --stop-grace-ms, then SIGKILL —
// as ACI stops containers (docker stop semantics). The wrapper that joins the cgroups must not die on
// the SIGTERM itself, or the emulator takes the container for gone and SIGKILLs the command at once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { removeDir, scenario, startCli, tempDir, type RunningEmulator } from '../fixtures/emulator/harness';

describe('azure emulator: graceful stop', () => {
  const data = tempDir('emu-stop-');
  let emu: RunningEmulator;

  before(async () => {
    emu = await startCli(data, ['--provisioning-delay-ms', '0', '--stop-grace-ms', '5000']);
  });

  after(async () => {
    assert.equal(await emu?.stop('SIGTERM'), 0);
    removeDir(data);
  });

  it('lets a command that handles SIGTERM finish its clean-up before the group is stopped', async () => {
    const o = await scenario(emu.ready, 'graceful', 60000);
    assert.match(String(o.logs), /got SIGTERM\ncleaned up\n/);
  });
});
