// Crash safety: SIGKILL the real host process mid fan-out and while a timer is pending, start it
// again on the same data folder, and check every instance carries on to the correct result.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnHost, type SpawnedHost } from '../../local/functions-host/spawn-host';
import { waitFor as kitWaitFor } from '../../local/kit';

const waitFor = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> =>
  kitWaitFor(what, fn, { timeoutMs, intervalMs: 25 });

const appDir = join(__dirname, '..', 'fixtures', 'durable-app');
const tmp = mkdtempSync(join(tmpdir(), 'host-crash-'));
const dataDir = join(tmp, 'data');
const log = join(tmp, 'activities.log');
const hosts: SpawnedHost[] = [];

after(async () => {
  for (const h of hosts) await h.kill();
  rmSync(tmp, { recursive: true, force: true });
});

const lines = (): string[] =>
  existsSync(log)
    ? readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l.length > 0)
    : [];

test('SIGKILL mid fan-out and with a timer pending: after a restart every instance finishes correctly', async () => {
  const n = 60;
  const maxActivities = 4;
  let host = await spawnHost({ appDir, dataDir, maxActivities });
  hosts.push(host);
  const post = (name: string, id: string, input: unknown): Promise<Response> =>
    fetch(`${host.baseUrl}/api/orchestrators/${name}/${id}`, { method: 'POST', body: JSON.stringify(input) });
  assert.equal((await post('CrashFanOut', 'fan', { n, ms: 60, log })).status, 202);
  // A timer that is due while the host is down must fire at once after the restart.
  assert.equal((await post('Approval', 'timer', { timeoutMs: 1500 })).status, 202);
  await waitFor('some activities to finish', () =>
    lines().filter((l) => l.startsWith('done')).length >= 12 ? true : undefined,
  );
  await host.kill();
  const before = lines();
  const doneBefore = before.filter((l) => l.startsWith('done')).length;
  assert.ok(doneBefore < n, 'the host was killed before the fan-out finished');
  await new Promise((r) => setTimeout(r, 1600)); // let the Approval timer become overdue

  host = await spawnHost({ appDir, dataDir, maxActivities });
  hosts.push(host);
  const status = async (id: string): Promise<{ runtimeStatus: string; output: unknown } | undefined> => {
    const res = await fetch(`${host.baseUrl}/runtime/webhooks/durabletask/instances/${id}`);
    const body = (await res.json()) as { runtimeStatus: string; output: unknown };
    return res.status === 200 ? body : undefined;
  };
  const fan = await waitFor('the fan-out to complete after restart', () => status('fan'));
  assert.equal(fan.runtimeStatus, 'Completed');
  assert.equal(fan.output, (n * (n + 1) * (2 * n + 1)) / 6);
  const timer = await waitFor('the overdue timer to fire', () => status('timer'), 10_000);
  assert.deepEqual(timer.output, { timedOut: true });

  const all = lines();
  const done = new Map<string, number>();
  for (const l of all.filter((x) => x.startsWith('done'))) done.set(l, (done.get(l) ?? 0) + 1);
  for (let i = 1; i <= n; i++) assert.ok(done.has(`done ${i}`), `activity ${i} ran to completion`);
  // At-least-once: only activities in flight (or finished but not yet committed) at the kill run again.
  const starts = all.filter((l) => l.startsWith('start')).length;
  assert.ok(starts - n <= 2 * maxActivities, `re-runs after restart (${starts - n}) are bounded by what was in flight`);
  assert.ok(starts >= n);
  await host.stop();
});

test('repeated SIGKILLs during a sequential chain: it completes, and each kill re-runs at most the step in flight', async () => {
  const n = 40;
  const chainLog = join(tmp, 'chain.log');
  const chainData = join(tmp, 'chain-data');
  const read = (): string[] =>
    existsSync(chainLog)
      ? readFileSync(chainLog, 'utf8')
          .split('\n')
          .filter((l) => l.length > 0)
      : [];
  let host = await spawnHost({ appDir, dataDir: chainData });
  hosts.push(host);
  const res = await fetch(`${host.baseUrl}/api/orchestrators/CrashChain/chain`, {
    method: 'POST',
    body: JSON.stringify({ n, ms: 25, log: chainLog }),
  });
  assert.equal(res.status, 202);
  const kills = 3;
  for (let k = 0; k < kills; k++) {
    const target = (k + 1) * 8;
    await waitFor(`step ${target}`, () =>
      read().filter((l) => l.startsWith('done')).length >= target ? true : undefined,
    );
    await host.kill();
    host = await spawnHost({ appDir, dataDir: chainData });
    hosts.push(host);
  }
  const done = await waitFor('the chain to complete', async () => {
    const r = await fetch(`${host.baseUrl}/runtime/webhooks/durabletask/instances/chain`);
    return r.status === 200 ? ((await r.json()) as { runtimeStatus: string; output: unknown }) : undefined;
  });
  assert.equal(done.runtimeStatus, 'Completed');
  assert.equal(done.output, (n * (n + 1) * (2 * n + 1)) / 6);
  const starts = read().filter((l) => l.startsWith('start')).length;
  assert.ok(starts - n <= kills, `re-runs (${starts - n}) are at most one per kill`);
  await host.stop();
});
