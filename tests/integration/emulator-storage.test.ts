// The controller writes results to Blob Storage with its managed identity. Locally that is Azurite
// serving HTTPS with the emulator's certificate and checking tokens (--oauth basic): this proves the
// emulator's MI tokens and CA bundle work for @azure/storage-blob as they do for ARM.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  clientEnv,
  REPO,
  removeDir,
  runScript,
  startCli,
  tempDir,
  waitUntil,
  type RunningEmulator,
} from '../fixtures/emulator/harness';
import { connect } from 'node:net';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

describe('azure emulator: managed identity tokens for Blob Storage (Azurite)', () => {
  const data = tempDir('emu-blob-');
  const azuriteDir = tempDir('emu-azurite-');
  let emu: RunningEmulator;
  let azurite: ChildProcess;
  let port: number;

  before(async () => {
    emu = await startCli(data, ['--provisioning-delay-ms', '0']);
    port = await freePort();
    azurite = spawn(
      process.execPath,
      [
        join(REPO, 'node_modules/azurite/dist/src/blob/main.js'),
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        String(port),
        '--location',
        azuriteDir,
        '--oauth',
        'basic',
        '--cert',
        emu.ready.tlsCertFile,
        '--key',
        emu.ready.tlsKeyFile,
        '--silent',
        '--disableTelemetry',
        '--skipApiVersionCheck',
      ],
      { stdio: 'ignore' },
    );
    await waitUntil('azurite listening', () => portOpen(port), 20000);
  });

  after(async () => {
    if (azurite && azurite.exitCode === null) {
      const gone = new Promise((r) => azurite.once('exit', r));
      azurite.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (azurite.exitCode === null) azurite.kill('SIGKILL');
    }
    await emu?.stop();
    removeDir(data);
    removeDir(azuriteDir);
  });

  it('creates a container and round-trips a blob with ManagedIdentityCredential over HTTPS', async () => {
    const o = await runScript('blob-scenario.ts', [], {
      ...clientEnv(emu.ready),
      BLOB_ENDPOINT: `https://127.0.0.1:${port}/devstoreaccount1`,
    });
    assert.deepEqual(o, { roundTrip: true, names: ['job-1/result.json'], anonymous: 403, wrongAudience: 403 });
  });
});
