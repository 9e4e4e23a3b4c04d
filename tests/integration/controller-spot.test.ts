// Spot in pull mode on the real local stack (emulator + Azurite + the functions host running
// orchestration/, the real agent): the emulator gives Spot groups no IP (as ACI: no inbound
// connectivity for Spot), so the agent fetches its start from the controller and uploads its result
// and artifacts; an eviction injected through the emulator's admin API (containers killed, the group
// restarted by itself, an `Evicted` event: local/azure-emulator/README.md) is a retried attempt the
// status counts; a cancel reaches the agent only as the answer to its heartbeat, then the group goes.
// A tenant with network.mode "pull" (fabrikam here) runs its Regular jobs the same way.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateRegimeSeries, modelInput } from '../../local/stack/demo-data';
import { JOBS_RESOURCE_GROUP } from '../../local/stack/settings';
import {
  KEYS,
  startTestStack,
  stopAndCheck,
  TENANTS_FILE,
  waitForEnd,
  waitForGroupGone,
  waitForStatus,
  type TestStack,
} from '../fixtures/stack/harness';

let ts: TestStack | undefined;
const stack = (): TestStack => {
  assert.ok(ts, 'the stack did not start (see the before hook)');
  return ts;
};

// The stack's tenants, with fabrikam in pull mode (no IP, no inbound port for any of its groups).
const tenantsDir = mkdtempSync(join(tmpdir(), 'aci-batch-it-spot-tenants-'));

before(async () => {
  const file = JSON.parse(readFileSync(TENANTS_FILE, 'utf8')) as { tenants: { id: string; network?: unknown }[] };
  for (const t of file.tenants) if (t.id === 'fabrikam') t.network = { mode: 'pull' };
  const tenantsFile = join(tenantsDir, 'tenants.json');
  writeFileSync(tenantsFile, JSON.stringify(file));
  ts = await startTestStack('spot', { tenantsFile });
});

after(async () => {
  await stopAndCheck(ts);
  rmSync(tenantsDir, { recursive: true, force: true });
});

async function get(url: string, key: string) {
  const r = await fetch(url, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(30_000) });
  return { status: r.status, type: r.headers.get('content-type'), body: Buffer.from(await r.arrayBuffer()) };
}

type Final = Awaited<ReturnType<typeof waitForEnd>> & {
  result?: { urls: Record<string, string> } | null;
  evictions?: number;
  attempts: number;
};

/** The emulator's view of a job's group (ip null for Spot; `loopback` is only its lease). */
async function groupOf(t: TestStack, name: string): Promise<Record<string, unknown> | undefined> {
  return (await t.stack.listGroups()).find((g) => g.name === name);
}

describe('Spot in pull mode', { concurrency: true }, () => {
  test('runs end to end without an IP: succeeded, result and chart readable through the API', async () => {
    const t = stack();
    const series = generateRegimeSeries({ n: 150, mu: [0, 3], sigma2: [0.25, 0.5], stay: [0.95, 0.95], seed: 7 });
    const { id } = await t.contoso.submitOk({ input: modelInput(series, 2), priority: 'Spot' });
    const final = (await waitForEnd(t, t.contoso, id, 120_000)) as Final;
    assert.equal(final.state, 'succeeded', await t.explain(t.contoso, id));
    assert.equal(final.container.ip, null, 'the controller never had an address to call');
    assert.equal(final.container.state, 'deleted');
    await waitForGroupGone(t, final.container.name);
    const r = await t.contoso.result(id);
    assert.equal(r.status, 200, r.text);
    assert.equal((r.body as { nobs?: number }).nobs, series.y.length, r.text.slice(0, 300));
    const urls = final.result?.urls ?? {};
    assert.ok(urls['chart.svg'] && urls.result && urls.logs, `result.urls: ${JSON.stringify(urls)}`);
    const chart = await get(new URL(urls['chart.svg']!, t.stack.apiBaseUrl).toString(), KEYS.contoso);
    assert.equal(chart.status, 200);
    assert.equal(chart.type, 'image/svg+xml');
    assert.match(chart.body.toString('utf8'), /<svg[\s>]/);
    const logs = await t.contoso.logs(id);
    assert.match(logs.text, /start received/, 'the agent pulled its start');
  });

  test('a network.mode pull tenant runs a Regular job the same way: no IP, the agent pulls its start', async () => {
    const t = stack();
    const series = generateRegimeSeries({ n: 120, mu: [0, 2], sigma2: [0.3, 0.3], stay: [0.9, 0.9], seed: 8 });
    const { id } = await t.fabrikam.submitOk({ input: modelInput(series, 2) });
    const final = (await waitForEnd(t, t.fabrikam, id, 120_000)) as Final;
    assert.equal(final.state, 'succeeded', await t.explain(t.fabrikam, id));
    assert.equal(final.container.ip, null);
    const r = await t.fabrikam.result(id);
    assert.equal(r.status, 200, r.text);
    assert.match((await t.fabrikam.logs(id)).text, /start received/);
  });

  test('an injected eviction is retried and succeeds; the status counts the eviction', async () => {
    const t = stack();
    const { id } = await t.contoso.submitOk({
      image: 'test/sleep:1.0',
      env: { SLEEP_MS: '4000' },
      cpu: 0.5,
      memoryGb: 0.5,
      priority: 'Spot',
      onFailure: 'delete', // an eviction is retried whatever onFailure says
    });
    const running = await waitForStatus(t, t.contoso, id, 'running', (s) => s.state === 'running');
    const group = await groupOf(t, running.container.name);
    assert.equal(group?.ip ?? null, null, `a Spot group has no IP: ${JSON.stringify(group)}`);
    const evict = await t.stack.admin('/groups/evict', {
      method: 'POST',
      body: { resourceGroup: JOBS_RESOURCE_GROUP, name: running.container.name },
    });
    assert.equal(evict.status, 200, evict.text);
    const final = (await waitForEnd(t, t.contoso, id, 120_000)) as Final;
    assert.equal(final.state, 'succeeded', await t.explain(t.contoso, id));
    assert.equal(final.evictions, 1, JSON.stringify(final));
    assert.equal(final.attempts, 2);
    const r = await t.contoso.result(id);
    assert.equal(r.status, 200, r.text);
    await waitForGroupGone(t, final.container.name);
  });

  test('a cancel reaches the agent as the answer to its heartbeat, and the group is deleted', async () => {
    const t = stack();
    const { id } = await t.contoso.submitOk({
      image: 'test/sleep:1.0',
      env: { SLEEP_MS: '60000', AGENT_HEARTBEAT_INTERVAL_MS: '1000' },
      cpu: 0.5,
      memoryGb: 0.5,
      priority: 'Spot',
    });
    const running = await waitForStatus(t, t.contoso, id, 'running', (s) => s.state === 'running');
    const c = await t.contoso.cancel(id);
    assert.equal(c.status, 202, c.text);
    const final = await waitForEnd(t, t.contoso, id, 60_000);
    assert.equal(final.state, 'canceled', await t.explain(t.contoso, id));
    assert.equal(final.container.state, 'deleted');
    assert.doesNotMatch(final.message, /did not confirm/, 'the agent confirmed the cancel before the group went');
    await waitForGroupGone(t, running.container.name);
    const logs = await t.contoso.logs(id);
    assert.match(logs.text, /the controller asked to cancel \(callback answer\)/);
  });
});
