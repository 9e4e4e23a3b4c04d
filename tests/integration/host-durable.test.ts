// The fixture app on the real host CLI (child process), driven as a user would: over HTTP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnHost, type SpawnedHost } from '../../local/functions-host/spawn-host';

const appDir = join(__dirname, '..', 'fixtures', 'durable-app');
let dataDir: string;
let host: SpawnedHost;
let base: string;
let webhook: string;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'host-durable-'));
  host = await spawnHost({ appDir, dataDir, maxActivities: 8 });
  base = host.baseUrl;
  webhook = `${base}/runtime/webhooks/durabletask`;
});

after(async () => {
  const code = await host?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  assert.equal(code, 0, 'SIGTERM stops the host with exit code 0');
});

interface Status {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  historyEvents?: { EventType: string }[];
}

async function start(
  name: string,
  input?: unknown,
  id?: string,
): Promise<{ id: string; statusQueryGetUri: string; sendEventPostUri: string; res: Response }> {
  const res = await fetch(`${base}/api/orchestrators/${name}${id ? `/${id}` : ''}`, {
    method: 'POST',
    body: input === undefined ? '' : JSON.stringify(input),
  });
  assert.equal(res.status, 202, await res.clone().text());
  const body = (await res.json()) as { id: string; statusQueryGetUri: string; sendEventPostUri: string };
  return { ...body, res };
}

/** Polls statusQueryGetUri (202 while running) until it answers 200; deadline 30 s. */
async function completion(statusUri: string, deadlineMs = 30_000): Promise<Status> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const res = await fetch(statusUri);
    if (res.status === 200) return (await res.json()) as Status;
    assert.equal(res.status, 202, `status endpoint answered ${res.status}`);
    if (Date.now() > deadline) throw new Error(`instance not finished within ${deadlineMs} ms: ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const status = (id: string, qs = ''): Promise<Response> => fetch(`${webhook}/instances/${encodeURIComponent(id)}${qs}`);

test('function chaining through the async HTTP API: 202, Location, then polled to completion', async () => {
  const s = await start('HelloSequence');
  assert.ok(s.statusQueryGetUri.startsWith(`${webhook}/instances/${s.id}`), 'check-status URLs point at this host');
  assert.equal(s.res.headers.get('location'), s.statusQueryGetUri);
  const done = await completion(s.statusQueryGetUri);
  assert.equal(done.runtimeStatus, 'Completed');
  assert.deepEqual(done.output, ['Hello Tokyo!', 'Hello Seattle!', 'Hello London!']);
});

test('fan-out/fan-in over 100 activities', async () => {
  const s = await start('FanOutFanIn', 100);
  const done = await completion(s.statusQueryGetUri);
  assert.equal(done.runtimeStatus, 'Completed');
  assert.equal(done.output, (100 * 101 * 201) / 6);
});

test('monitor: timer loop until the condition holds, with custom status', async () => {
  const s = await start('Monitor', { key: 'mon-1', target: 4, intervalMs: 30 });
  const done = await completion(s.statusQueryGetUri);
  assert.deepEqual(done.output, { checks: 4 });
  assert.deepEqual(done.customStatus, { count: 4 });
});

test('human interaction: the event wins and the 10-minute timer is cancelled, so the instance completes at once', async () => {
  const s = await start('Approval', { timeoutMs: 600_000 });
  const raise = await fetch(s.sendEventPostUri.replace('{eventName}', 'Approve'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ by: 'bob' }),
  });
  assert.equal(raise.status, 202);
  const done = await completion(s.statusQueryGetUri, 20_000);
  assert.deepEqual(done.output, { approved: { by: 'bob' } });
  // Raising to a finished instance is 410 Gone.
  const late = await fetch(s.sendEventPostUri.replace('{eventName}', 'Approve'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '1',
  });
  assert.equal(late.status, 410);
});

test('human interaction: the timer wins when no event comes', async () => {
  const s = await start('Approval', { timeoutMs: 200 });
  const done = await completion(s.statusQueryGetUri);
  assert.deepEqual(done.output, { timedOut: true });
});

test('sub-orchestrations: results, an explicit child id, and a failing child caught by the parent', async () => {
  const s = await start('Parent', undefined, 'parent-1');
  const done = await completion(s.statusQueryGetUri);
  const out = done.output as { hello: string[]; sum: number; childError: string };
  assert.deepEqual(out.hello, ['Hello Tokyo!', 'Hello Seattle!', 'Hello London!']);
  assert.equal(out.sum, 1 + 4 + 9 + 16);
  assert.match(out.childError, /Orchestrator function 'ChildFails' failed: child broke/);
  const child = await status('parent-1-fan');
  assert.equal(child.status, 200);
  assert.equal(((await child.json()) as Status).runtimeStatus, 'Completed');
});

test('eternal orchestration with continueAsNew', async () => {
  const s = await start('Eternal', { n: 0, max: 6 });
  const done = await completion(s.statusQueryGetUri);
  assert.deepEqual(done.output, { finalN: 6 });
  assert.deepEqual(done.input, { n: 6, max: 6 }, 'the status shows the last generation input');
});

test('activity retry: fails twice, then succeeds on the third attempt', async () => {
  const s = await start('RetryThenSucceed', { key: 'retry-ok' });
  const done = await completion(s.statusQueryGetUri);
  assert.deepEqual(done.output, { succeededOnAttempt: 3 });
  const h = (await (await status(s.id, '?showHistory=true')).json()) as Status;
  const types = h.historyEvents!.map((e) => e.EventType);
  assert.equal(types.filter((t) => t === 'TaskFailed').length, 2);
  assert.equal(types.filter((t) => t === 'TimerFired').length, 2);
});

test('activity retry: gives up after maxNumberOfAttempts and the orchestrator catches the error', async () => {
  const s = await start('RetryThenGiveUp', { key: 'retry-give-up' });
  const done = await completion(s.statusQueryGetUri);
  const out = done.output as { gaveUp: boolean; message: string };
  assert.equal(out.gaveUp, true);
  assert.match(out.message, /Activity function 'Flaky' failed: flaky failure #3/);
});

test('a non-deterministic orchestrator fails with an error naming the step and the difference', async () => {
  const s = await start('NonDeterministic');
  const done = await completion(s.statusQueryGetUri);
  assert.equal(done.runtimeStatus, 'Failed');
  assert.match(String(done.output), /Non-deterministic/);
  assert.match(String(done.output), /step 1/);
  assert.match(String(done.output), /CallActivity 'StepA'.*CallActivity 'StepB'/);
});

test('entities are refused with a clear error', async () => {
  const s = await start('UsesEntity');
  const done = await completion(s.statusQueryGetUri);
  assert.equal(done.runtimeStatus, 'Failed');
  assert.match(String(done.output), /entities are not supported by the local host/);
  const res = await fetch(`${webhook}/entities/Counter/k`);
  assert.equal(res.status, 404);
});

test('durable client in RPC mode: getStatus, raiseEvent, terminate, getStatusBy, purgeInstanceHistory', async () => {
  const from = Date.now() - 1000;
  const a = await start('Approval', { timeoutMs: 600_000 }, 'client-a');
  const b = await start('Approval', { timeoutMs: 600_000 }, 'client-b');
  const st = (await (await fetch(`${base}/api/client/status/client-a`)).json()) as Status;
  assert.equal(st.instanceId, 'client-a');
  assert.equal(st.name, 'Approval');
  assert.equal(
    (await fetch(`${base}/api/client/raise/client-a?event=Approve`, { method: 'POST', body: '"yes"' })).status,
    202,
  );
  assert.deepEqual((await completion(a.statusQueryGetUri)).output, { approved: 'yes' });
  assert.equal((await fetch(`${base}/api/client/terminate/client-b?reason=enough`, { method: 'POST' })).status, 202);
  const term = await completion(b.statusQueryGetUri);
  assert.equal(term.runtimeStatus, 'Terminated');
  assert.equal(term.output, 'enough');
  const listed = (await (await fetch(`${base}/api/client/query?from=${from}&status=Terminated`)).json()) as {
    instanceId: string;
  }[];
  assert.ok(listed.some((s) => s.instanceId === 'client-b'));
  assert.ok(!listed.some((s) => s.instanceId === 'client-a'));
  assert.deepEqual(await (await fetch(`${base}/api/client/purge/client-b`, { method: 'DELETE' })).json(), {
    instancesDeleted: 1,
  });
  assert.equal((await status('client-b')).status, 404);
  // The client reports a missing instance as an error, which the app turns into a 500 here.
  const missing = await fetch(`${base}/api/client/status/client-b`);
  assert.equal(missing.status, 500);
  assert.match(await missing.text(), /404/);
});

test('suspend buffers events until resume', async () => {
  const s = await start('Approval', { timeoutMs: 600_000 }, 'susp-1');
  assert.equal((await fetch(`${webhook}/instances/susp-1/suspend?reason=hold`, { method: 'POST' })).status, 202);
  const deadline = Date.now() + 10_000;
  while (((await (await status('susp-1')).json()) as Status).runtimeStatus !== 'Suspended') {
    assert.ok(Date.now() < deadline, 'instance did not become Suspended');
    await new Promise((r) => setTimeout(r, 20));
  }
  await fetch(`${webhook}/instances/susp-1/raiseEvent/Approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '42',
  });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(
    ((await (await status('susp-1')).json()) as Status).runtimeStatus,
    'Suspended',
    'no progress while suspended',
  );
  assert.equal((await fetch(`${webhook}/instances/susp-1/resume?reason=go`, { method: 'POST' })).status, 202);
  assert.deepEqual((await completion(s.statusQueryGetUri)).output, { approved: 42 });
});

test('unknown instance ids: 404 with a JSON error for status, raiseEvent, terminate, purge', async () => {
  for (const [method, path] of [
    ['GET', ''],
    ['POST', '/raiseEvent/x'],
    ['POST', '/terminate'],
    ['DELETE', ''],
  ] as const) {
    const res = await fetch(`${webhook}/instances/no-such-id${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: method === 'POST' ? '1' : undefined,
    });
    assert.equal(res.status, 404, `${method} ${path}`);
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'InstanceNotFound');
  }
  const bad = await fetch(`${webhook}/orchestrators/NoSuchOrchestrator`, { method: 'POST' });
  assert.equal(bad.status, 400);
});

test('query with filters and continuation tokens pages through every instance once', async () => {
  const seen: string[] = [];
  let token: string | null = null;
  for (let page = 0; page < 100; page++) {
    const res: Response = await fetch(`${webhook}/instances/?top=3&runtimeStatus=Completed,Failed`, {
      headers: token ? { 'x-ms-continuation-token': token } : {},
    });
    assert.equal(res.status, 200);
    const rows = (await res.json()) as Status[];
    for (const r of rows) {
      assert.ok(r.runtimeStatus === 'Completed' || r.runtimeStatus === 'Failed');
      seen.push(r.instanceId);
    }
    token = res.headers.get('x-ms-continuation-token');
    if (!token) break;
  }
  assert.equal(new Set(seen).size, seen.length, 'no instance appears twice');
  assert.ok(seen.includes('parent-1') && seen.includes('parent-1-fan'));
  // Children without an explicit id are named <parent>:<sequence number>.
  const prefixed = (await (await fetch(`${webhook}/instances/?instanceIdPrefix=parent-1`)).json()) as Status[];
  assert.deepEqual(prefixed.map((s) => s.instanceId).sort(), ['parent-1', 'parent-1-fan', 'parent-1:0', 'parent-1:2']);
});

test('FailureDetails: a coded activity error reaches the orchestrator as TaskFailedError, also through a sub-orchestration', async () => {
  const s = await start('CatchesCodedError');
  const done = await completion(s.statusQueryGetUri);
  assert.deepEqual(done.output, {
    caught: true,
    name: 'TaskFailedError',
    message: 'QuotaError: quota exhausted in westeurope',
    errorType: 'QuotaError',
    properties: { code: 'QuotaExceeded', retryable: true },
  });
  const p = await start('ParentOfCodedFailure');
  const parent = await completion(p.statusQueryGetUri);
  assert.deepEqual(parent.output, {
    caught: true,
    name: 'TaskFailedError',
    errorType: 'QuotaError',
    properties: { code: 'QuotaExceeded', retryable: true },
  });
});

test('callHttp: the host performs the request and completes the task with status, content and headers', async () => {
  const s = await start('CallsHttp', { url: `${base}/api/echo/7?via=durable` });
  const done = await completion(s.statusQueryGetUri);
  assert.equal(done.runtimeStatus, 'Completed', JSON.stringify(done.output));
  const out = done.output as {
    statusCode: number;
    echoed: { method: string; id: string; query: unknown; header: string; body: string };
  };
  assert.equal(out.statusCode, 201);
  assert.equal(out.echoed.method, 'POST');
  assert.equal(out.echoed.id, '7');
  assert.deepEqual(out.echoed.query, { via: 'durable' });
  assert.equal(out.echoed.header, 'from-orchestrator');
  assert.deepEqual(JSON.parse(out.echoed.body), { hello: 'world' });
});

test('sub-orchestration retry: two failed child attempts, then success', async () => {
  const s = await start('SubOrchestratorRetry', { key: 'sub-retry' });
  const done = await completion(s.statusQueryGetUri);
  assert.equal(done.runtimeStatus, 'Completed', JSON.stringify(done.output));
  assert.deepEqual(done.output, { childSucceededOnAttempt: 3 });
});

test('context.df.isReplaying is a boolean: false when the code first runs a step', async () => {
  // The final episode replays the first two steps (true) and runs the last one for real (false).
  const s = await start('ReplayFlags');
  const done = await completion(s.statusQueryGetUri);
  assert.deepEqual(done.output, [true, true, false]);
});
