// Log tail (issue 10 item 6): with 60 MB of output the logs API returns the END of the log — ACI keeps
// the last 4 MB of a running container (MicrosoftDocs/azure-docs
// articles/container-instances/container-instances-resource-and-quota-limits.md: "Container instance
// log size - running instance | 4 MB") — in one unbroken stretch, with the very last line in it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { removeDir, scenario, startCli, tempDir, type RunningEmulator } from '../fixtures/emulator/harness';

describe('azure emulator: log tail of a 60 MB log', () => {
  const data = tempDir('emu-logs-');
  let emu: RunningEmulator;

  before(async () => {
    emu = await startCli(data, ['--provisioning-delay-ms', '0']);
  });

  after(async () => {
    assert.equal(await emu?.stop('SIGTERM'), 0);
    removeDir(data);
  });

  it('returns the last 4 MiB, ending with the last line, without gaps', async () => {
    const o = await scenario(emu.ready, 'logTail', 180000);
    assert.equal(o.state, 'Succeeded');
    assert.match(String(o.lastLine), /^the last line of the log after \d+ lines$/);
    assert.equal(o.tail1, `${o.lastLine}\n`);
    assert.equal(o.lastKept, o.total, 'the flood line just before the last line is there');
    assert.equal(o.gaps, 0, 'no stretch of the kept part is missing');
    const bytes = o.bytes as number;
    assert.ok(bytes <= 4 * 1024 * 1024 && bytes > 3.9 * 1024 * 1024, `kept ${bytes} bytes`);
  });
});
