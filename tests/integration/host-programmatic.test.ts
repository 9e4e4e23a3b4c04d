// startHost in-process: the interface benchmarks (and local/stack) use. Also checks that a second
// start in the same process reloads the app and resumes from the same data folder.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startHost } from '../../local/functions-host/index';

const appDir = join(__dirname, '..', 'fixtures', 'durable-app');
const dataDir = mkdtempSync(join(tmpdir(), 'host-prog-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));
const logger = pino({ level: 'silent' });

async function waitStatus(base: string, id: string): Promise<{ runtimeStatus: string; output: unknown }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await fetch(`${base}/runtime/webhooks/durabletask/instances/${id}`);
    if (res.status === 200) return (await res.json()) as { runtimeStatus: string; output: unknown };
    assert.ok(Date.now() < deadline, `${id} did not finish`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('startHost serves the app, close() stops it, a second start resumes waiting instances', async () => {
  const first = await startHost({ appDir, dataDir, port: 0, logger, maxActivities: 2 });
  assert.match(first.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(first.functions.orchestrationTrigger?.includes('Approval'));
  assert.equal(process.env.WEBSITE_HOSTNAME, first.baseUrl.replace('http://', ''));
  const started = await fetch(`${first.baseUrl}/api/orchestrators/Approval/prog-1`, {
    method: 'POST',
    body: JSON.stringify({ timeoutMs: 600_000 }),
  });
  assert.equal(started.status, 202);
  // Wait until the instance is waiting for its event (its first activity is done), then stop.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await fetch(`${first.baseUrl}/runtime/webhooks/durabletask/instances/prog-1?showHistory=true`);
    const body = (await res.json()) as { historyEvents: { EventType: string }[] };
    if (body.historyEvents.some((e) => e.EventType === 'TimerCreated')) break;
    assert.ok(Date.now() < deadline, 'instance did not reach its wait');
    await new Promise((r) => setTimeout(r, 20));
  }
  await first.close();
  await assert.rejects(fetch(`${first.baseUrl}/api/plain`), 'the first host no longer listens');

  const second = await startHost({ appDir, dataDir, port: 0, logger });
  try {
    assert.equal((await fetch(`${second.baseUrl}/api/plain`)).status, 200, 'the app was loaded again');
    const raised = await fetch(`${second.baseUrl}/runtime/webhooks/durabletask/instances/prog-1/raiseEvent/Approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '"after restart"',
    });
    assert.equal(raised.status, 202);
    assert.deepEqual((await waitStatus(second.baseUrl, 'prog-1')).output, { approved: 'after restart' });
  } finally {
    await second.close();
  }
});
