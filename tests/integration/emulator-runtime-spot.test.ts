// Spot groups (issue 12 item 4, emulator part): `priority: "Spot"` (api-version 2023-05-01; the SDK's
// sample "ContainerGroupsCreatePriority.json") gets no IP address, and the admin API injects an eviction:
// ACI restarts an evicted group by itself (MicrosoftDocs/azure-docs
// articles/container-instances/container-instances-spot-containers-overview.md, "Eviction policies";
// "Unsupported features": no public IP, no virtual network).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { removeDir, scenario, startCli, tempDir, type RunningEmulator } from '../fixtures/emulator/harness';

describe('azure emulator: Spot groups and evictions', () => {
  const data = tempDir('emu-spot-');
  let emu: RunningEmulator;

  before(async () => {
    emu = await startCli(data, ['--provisioning-delay-ms', '0', '--stop-grace-ms', '300']);
  });

  after(async () => {
    assert.equal(await emu?.stop('SIGTERM'), 0);
    removeDir(data);
  });

  it('gives a Spot group no address and restarts it after an injected eviction, as ACI does', async () => {
    const o = await scenario(emu.ready, 'spot', 90000);
    assert.equal(o.priority, 'Spot');
    assert.equal(o.ipAddress, null, 'ARM reports no ipAddress');
    assert.equal(o.adminIp, null, 'nor does the admin API');
    assert.equal((o.evictRegular as { error: { code: string } }).error.code, 'NotSpot');
    assert.equal((o.evictMissing as { error: { code: string } }).error.code, 'ResourceNotFound');
    assert.match(String((o.evict as { evicted: string }).evicted), /\/containerGroups\/spot$/);
    const a = o.after as {
      state: string;
      groupEvents: string[];
      restartCount: number;
      previous: { state: string; exitCode: number; detail: string };
      current: string;
    };
    assert.equal(a.state, 'Running', 'restarted by itself');
    assert.ok(a.groupEvents.includes('Warning:Evicted'), `events: ${a.groupEvents.join(', ')}`);
    assert.equal(a.restartCount, 1);
    assert.deepEqual(a.previous, { state: 'Terminated', exitCode: 137, detail: 'Evicted' });
    assert.equal(a.current, 'Running');
    assert.equal(o.newProcess, true, 'a fresh process: the work in flight is lost');
  });
});
