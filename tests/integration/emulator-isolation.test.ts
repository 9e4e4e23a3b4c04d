// Tenant isolation on one machine (issue 10 item 8): each group's processes run as their own
// unprivileged uid, in their own PID/mount namespace (a private /proc), in a private folder; one tenant's
// command can read neither another group's secure environment nor a 0600 secret of the stack nor the
// emulator's data folder; the admin API answers only with the token of the ready line.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { admin, removeDir, scenario, startCli, tempDir, type RunningEmulator } from '../fixtures/emulator/harness';

function get(url: string, ca: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('azure emulator: tenant isolation', () => {
  const data = tempDir('emu-iso-');
  let emu: RunningEmulator;
  let ca: string;

  before(async () => {
    emu = await startCli(data, ['--provisioning-delay-ms', '0', '--stop-grace-ms', '300']);
    ca = readFileSync(emu.ready.caCertFile, 'utf8');
  });

  after(async () => {
    assert.equal(await emu?.stop('SIGTERM'), 0);
    removeDir(data);
  });

  it('puts the admin API behind the bearer token of the ready line (also in a 0600 file)', async () => {
    const url = `${emu.ready.armEndpoint}/_emulator/faults`;
    const none = await get(url, ca);
    assert.equal(none.status, 401);
    assert.equal((JSON.parse(none.body) as { error: { code: string } }).error.code, 'Unauthorized');
    assert.equal((await get(url, ca, { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await get(url, ca, { authorization: `Bearer ${emu.ready.adminToken}` })).status, 200);
    const file = join(data, 'admin-token');
    assert.equal(readFileSync(file, 'utf8').trim(), emu.ready.adminToken);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(data).mode & 0o777, 0o700, 'the data folder is private');
    const faults = await admin<{ latencyMs: number }>(emu.ready, ca, 'faults');
    assert.equal(faults.latencyMs, 0, 'the harness passes the token');
  });

  it(
    "keeps a tenant's command away from another group's environment, the stack's secrets and the emulator's data",
    { skip: !process.getuid || process.getuid() !== 0 ? 'needs root to run groups as their own uid' : false },
    async () => {
      assert.deepEqual(emu.ready.isolation, { users: true, namespaces: true });
      const o = await scenario(emu.ready, 'isolation', 120000);
      assert.equal(o.hostSeesSecret, true, 'the secret is in the victim environment (the probe is not vacuous)');
      const probe = o.probe as {
        uid: number;
        pidsVisible: number;
        environsRead: number;
        secretFound: boolean;
        files: Record<string, string>;
      };
      assert.equal(probe.secretFound, false, "another group's secure value was read");
      assert.notEqual(probe.uid, 0, 'runs unprivileged');
      const uids = o.uids as Record<string, number>;
      assert.equal(probe.uid, uids.prober);
      assert.notEqual(uids.prober, uids.victim, 'each group has its own uid');
      assert.ok(probe.pidsVisible <= 3, `sees only its own namespace (${probe.pidsVisible} pids)`);
      assert.equal(probe.files[o.keyFile as string], 'EACCES', "the stack's 0600 key");
      assert.equal(probe.files[join(emu.ready.dataDir, 'admin-token')], 'EACCES', "the emulator's admin token");
    },
  );
});
