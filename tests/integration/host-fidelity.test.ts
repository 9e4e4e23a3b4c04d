// Where the local functions host must behave like Azure (issue 11 rows 8 and 9, issue 10 finding 7): the
// instance row after continueAsNew, purge by filter, and requests Node's HTTP parser refuses. Real CLI, real HTTP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnHost, type SpawnedHost } from '../../local/functions-host/spawn-host';

const appDir = join(__dirname, '..', 'fixtures', 'host-fidelity-app');
let dataDir: string;
let host: SpawnedHost;
let webhook: string;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'host-fidelity-'));
  host = await spawnHost({ appDir, dataDir, readyTimeoutMs: 60_000 });
  webhook = `${host.baseUrl}/runtime/webhooks/durabletask`;
});

after(async () => {
  const code = await host?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  assert.equal(code, 0, 'SIGTERM stops the host with exit code 0');
});

interface Status {
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  createdTime: string;
}

async function start(name: string, id: string, input?: unknown): Promise<void> {
  const res = await fetch(`${webhook}/orchestrators/${name}/${id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: input === undefined ? '' : JSON.stringify(input),
  });
  assert.equal(res.status, 202, await res.text());
}

async function status(id: string): Promise<{ code: number; body?: Status }> {
  const res = await fetch(`${webhook}/instances/${encodeURIComponent(id)}`);
  return res.status === 404 ? { code: 404 } : { code: res.status, body: (await res.json()) as Status };
}

/** Polls the instance until `ok` holds; deadline 60 s (a loaded 2-core machine). */
async function until(id: string, what: string, ok: (s: Status) => boolean): Promise<Status> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await status(id);
    if (s.body && ok(s.body)) return s.body;
    if (Date.now() > deadline) throw new Error(`${id}: ${what} not reached within 60 s; last ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const raise = (id: string, event: string, body: unknown): Promise<Response> =>
  fetch(`${webhook}/instances/${id}/raiseEvent/${event}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

// Source: Azure/durabletask, src/DurableTask.AzureStorage/Tracking/AzureTableTrackingStore.cs, UpdateStateAsync: every
// episode writes the instance row's CustomStatus from the (new) runtime state, and an ExecutionStarted among the new
// events (the next generation after continueAsNew) sets CreatedTime to that event's timestamp.
test('continueAsNew resets createdTime and customStatus, as the Azure Storage tracking store does', async () => {
  await start('StatusThenContinue', 'can-1', { generation: 0 });
  const first = await until('can-1', 'custom status of generation 0', (s) => s.customStatus === 'generation-0');
  const second = await until(
    'can-1',
    'generation 1',
    (s) => (s.input as { generation?: number } | null)?.generation === 1,
  );
  assert.equal(second.runtimeStatus, 'Running');
  assert.equal(second.customStatus, null, 'the new generation has not set a custom status');
  assert.ok(
    Date.parse(second.createdTime) > Date.parse(first.createdTime),
    `createdTime moves to the new generation's start: ${first.createdTime} -> ${second.createdTime}`,
  );
  assert.equal((await raise('can-1', 'Go', 'now')).status, 202);
  const done = await until('can-1', 'completion', (s) => s.runtimeStatus === 'Completed');
  assert.deepEqual(done.output, { generation: 1, go: 'now' });
  assert.equal(done.createdTime, second.createdTime);
  assert.equal(done.customStatus, null);
});

// Source: MicrosoftDocs/azure-docs, articles/azure-functions/durable/durable-functions-instance-management.md,
// "Purge instance history": the target instance's runtime status must be Completed, Terminated or Failed; and
// Azure/durabletask AzureTableTrackingStore.PurgeInstanceHistoryAsync keeps only those statuses of the filter.
test('purge by filter deletes finished instances only; a running one keeps its state and its work', async () => {
  const from = new Date().toISOString(); // after the instance of the test above was created
  await start('WaitForGo', 'purge-running');
  await start('Quick', 'purge-done');
  await start('WaitForGo', 'purge-terminated');
  await until('purge-done', 'completion', (s) => s.runtimeStatus === 'Completed');
  await until('purge-running', 'running', (s) => s.runtimeStatus === 'Running');
  await until('purge-terminated', 'running', (s) => s.runtimeStatus === 'Running');
  assert.equal(
    (await fetch(`${webhook}/instances/purge-terminated/terminate?reason=x`, { method: 'POST' })).status,
    202,
  );
  await until('purge-terminated', 'terminated', (s) => s.runtimeStatus === 'Terminated');

  // Asking for running instances purges nothing.
  const none = await fetch(`${webhook}/instances/?createdTimeFrom=${encodeURIComponent(from)}&runtimeStatus=Running`, {
    method: 'DELETE',
  });
  assert.equal(none.status, 404, await none.clone().text());
  assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'InstanceNotFound');

  // No status filter: only the finished ones go.
  const res = await fetch(`${webhook}/instances/?createdTimeFrom=${encodeURIComponent(from)}`, { method: 'DELETE' });
  assert.equal(res.status, 200, await res.clone().text());
  assert.deepEqual(await res.json(), { instancesDeleted: 2 });
  assert.equal((await status('purge-done')).code, 404);
  assert.equal((await status('purge-terminated')).code, 404);
  const running = await status('purge-running');
  assert.equal(running.code, 202);
  assert.equal(running.body!.runtimeStatus, 'Running');

  // Its pending work survived: the event is delivered and the instance completes.
  assert.equal((await raise('purge-running', 'Go', 1)).status, 202);
  const done = await until('purge-running', 'completion', (s) => s.runtimeStatus === 'Completed');
  assert.deepEqual(done.output, { go: 1 });
  const later = await fetch(
    `${webhook}/instances/?createdTimeFrom=${encodeURIComponent(from)}&runtimeStatus=Completed`,
    {
      method: 'DELETE',
    },
  );
  assert.deepEqual(await later.json(), { instancesDeleted: 1 });
});

/** Sends raw bytes and resolves with everything the server wrote before it closed the connection (deadline 30 s). */
function rawExchange(request: string): Promise<string> {
  const url = new URL(host.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within 30 s; got ${JSON.stringify(data.slice(0, 300))}`));
    }, 30_000);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', () => undefined); // the server may reset while we still write: the reply is what counts
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.write(request);
  });
}

function parseRaw(text: string): {
  status: number;
  headers: string;
  body: { error: { code: string; message: string } };
} {
  const split = text.indexOf('\r\n\r\n');
  assert.ok(split > 0, `a complete HTTP response: ${JSON.stringify(text.slice(0, 300))}`);
  const head = text.slice(0, split);
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]);
  return { status, headers: head.toLowerCase(), body: JSON.parse(text.slice(split + 4)) as never };
}

test('a header the HTTP parser refuses gets the JSON error shape (431), and the host keeps serving', async () => {
  const reply = parseRaw(
    await rawExchange(`GET /api/x HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`),
  );
  assert.equal(reply.status, 431);
  assert.match(reply.headers, /content-type: application\/json/);
  assert.match(reply.headers, /connection: close/);
  assert.equal(reply.body.error.code, 'HeadersTooLarge');
  assert.match(reply.body.error.message, /headers/);
  assert.equal((await fetch(`${host.baseUrl}/admin/host/status`)).status, 200, 'the host still answers');
});

test('a URL too long for the parser gets the JSON error shape too', async () => {
  const reply = parseRaw(await rawExchange(`GET /api/${'u'.repeat(64 * 1024)} HTTP/1.1\r\nHost: a\r\n\r\n`));
  assert.ok(reply.status === 431 || reply.status === 414, `status ${reply.status}`);
  assert.ok(['HeadersTooLarge', 'UriTooLong'].includes(reply.body.error.code), reply.body.error.code);
  assert.match(reply.body.error.message, /URL/);
});

test('a malformed request line gets a JSON 400', async () => {
  const reply = parseRaw(await rawExchange('NOT HTTP AT ALL\r\n\r\n'));
  assert.equal(reply.status, 400);
  assert.equal(reply.body.error.code, 'BadRequest');
});
