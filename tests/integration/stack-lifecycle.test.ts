// The stack's lifecycle under crashes (issue 10, items 2 and 3): every component exits with the
// process running the stack, even when that process is SIGKILLed; a data folder belongs to one stack;
// a host that dies alone is restarted and the job in flight still succeeds; an emulator that dies
// alone leaves container processes and cgroups that stop() finds and removes; and a blob write that
// Azurite acknowledged survives a SIGKILL of the whole stack a second later.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { groupAlive, pidAlive, sleep, waitFor } from '../../local/kit';
import { requestJson } from '../../local/stack/http-json';
import { descendantsOf, stillAlive } from '../../local/stack/processes';
import { freePort, portIsFree, REPO_ROOT, startStack, type Stack } from '../../local/stack/stack';
import { startTestStack, stopAndCheck, waitForEnd, waitForStatus, type TestStack } from '../fixtures/stack/harness';

const cliArgs = (dataDir: string, port: number): string[] => [
  '--import',
  'tsx',
  join(REPO_ROOT, 'local/stack/cli.ts'),
  '--data',
  dataDir,
  '--port',
  String(port),
  '--provisioning-delay-ms',
  '100',
];

function runCli(dataDir: string, port: number) {
  const cli = spawn(process.execPath, cliArgs(dataDir, port), {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const io = { out: '', err: '' };
  cli.stdout.setEncoding('utf8').on('data', (d: string) => (io.out += d));
  cli.stderr.setEncoding('utf8').on('data', (d: string) => (io.err += d));
  const exited = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
  return { cli, io, exited };
}

test('SIGKILL of npm start: the host, Azurite and the emulator exit with it and the API port is free again', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'aci-batch-it-sigkill-'));
  const port = await freePort();
  const { cli, io } = runCli(dataDir, port);
  try {
    await waitFor(
      'the stack to be up',
      () => {
        if (cli.exitCode !== null) throw new Error(`npm start exited ${cli.exitCode}:\n${io.err}`);
        return io.out.includes('Ctrl-C stops everything');
      },
      {
        timeoutMs: 150_000,
        intervalMs: 200,
        explain: () => `stdout:\n${io.out}\nstderr:\n${io.err}`,
      },
    );
    const components = descendantsOf([cli.pid!]);
    assert.ok(components.length >= 3, `the CLI runs its components: ${JSON.stringify(components)}`);
    cli.kill('SIGKILL');
    await waitFor(
      'every process the stack started to exit and the API port to be free',
      async () => stillAlive(components).length === 0 && (await portIsFree(port)),
      {
        timeoutMs: 45_000,
        intervalMs: 200,
        explain: () => `still alive: ${JSON.stringify(stillAlive(components))}`,
      },
    );
  } finally {
    for (const p of descendantsOf([cli.pid!])) if (groupAlive(p.pgid)) process.kill(-p.pgid, 'SIGKILL');
    if (pidAlive(cli.pid!)) cli.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

describe('one stack, its components killed one at a time', () => {
  let t: TestStack;
  before(async () => {
    t = await startTestStack('lifecycle');
  });
  after(async () => {
    // The last test stops the stack itself (its emulator is dead by then).
    if (t?.stack.pids().emulator !== undefined) await stopAndCheck(t);
  });

  test('a second stack on the same data folder is refused, naming the holder', async () => {
    const port = await freePort();
    const { cli, io, exited } = runCli(t.dataDir, port);
    const code = await Promise.race([exited, sleep(60_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      // It started instead of refusing: stop it and whatever it started.
      for (const p of descendantsOf([cli.pid!])) if (groupAlive(p.pgid)) process.kill(-p.pgid, 'SIGKILL');
      cli.kill('SIGKILL');
    }
    assert.equal(code, 1, `the second stack exits 1:\n${io.err}`);
    const apiPort = new URL(t.stack.apiBaseUrl).port;
    assert.match(
      io.err,
      new RegExp(
        `could not start: the data folder .* is in use by another stack: pid ${process.pid}, API on port ${apiPort}`,
      ),
    );
    assert.ok(await portIsFree(port), 'and it started nothing');
    const health = await requestJson(`${t.stack.apiBaseUrl}/health`);
    assert.equal(health.status, 200, 'the first stack is untouched');
  });

  test('the host SIGKILLed alone: the stack restarts it and the job in flight succeeds', async () => {
    const { id } = await t.contoso.submitOk({
      image: 'test/sleep:1.0',
      env: { SLEEP_MS: '6000', RESULT_MARKER: 'restarted' },
      cpu: 0.5,
      memoryGb: 0.5,
    });
    await waitForStatus(t, t.contoso, id, 'running', (s) => s.state === 'running');
    const oldHost = t.stack.pids().host!;
    process.kill(-oldHost, 'SIGKILL'); // a crash, not the stack's own killHost()
    const newHost = await waitFor(
      'the stack to start the host again',
      () => {
        const pid = t.stack.pids().host;
        return pid !== undefined && pid !== oldHost ? pid : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    await waitFor(
      'the restarted host to answer',
      async () => (await requestJson(`${t.stack.apiBaseUrl}/health`)).status === 200,
      {
        timeoutMs: 60_000,
        intervalMs: 200,
        retryErrors: true,
      },
    );
    assert.ok(pidAlive(newHost));
    const final = await waitForEnd(t, t.contoso, id, 90_000);
    assert.equal(final.state, 'succeeded', await t.explain(t.contoso, id));
    const r = await t.contoso.result(id);
    assert.equal((r.body as { marker?: string }).marker, 'restarted');
  });

  test('the emulator SIGKILLed alone: stop() finds and removes the container processes and cgroups it left', async () => {
    const { id } = await t.contoso.submitOk({
      image: 'test/sleep:1.0',
      env: { SLEEP_MS: '120000' },
      cpu: 0.5,
      memoryGb: 0.5,
    });
    const running = await waitForStatus(t, t.contoso, id, 'running', (s) => s.state === 'running');
    const groups = (
      await t.stack.admin<{ groups?: Array<Record<string, unknown>> } | Array<Record<string, unknown>>>('/groups')
    ).body;
    const list = Array.isArray(groups) ? groups : (groups.groups ?? []);
    const group = list.find((g) => g.name === running.container.name) as
      { containers: Array<{ pid: number | null; cgroup: Record<string, string> | null }> } | undefined;
    const pids = (group?.containers ?? []).map((c) => c.pid).filter((p): p is number => typeof p === 'number');
    assert.ok(pids.length > 0, `the job's container runs: ${JSON.stringify(list)}`);
    const cgroupDirs = (group?.containers ?? []).flatMap((c) => Object.values(c.cgroup ?? {}));

    process.kill(t.stack.pids().emulator!, 'SIGKILL'); // the emulator only: its containers live on
    await waitFor('the emulator to be gone', () => t.stack.pids().emulator === undefined, { timeoutMs: 10_000 });
    assert.ok(pids.every(pidAlive), 'its container processes outlive it');

    const report = await t.stack.stop();
    assert.ok(report.leftoverGroups.includes(running.container.name), JSON.stringify(report));
    for (const pid of pids)
      assert.ok(
        report.strayProcesses.some((s) => s.startsWith(`pid ${pid} `)),
        `the container process ${pid} is reported: ${JSON.stringify(report)}`,
      );
    for (const d of cgroupDirs)
      assert.ok(
        report.leftoverCgroups.some((c) => d.startsWith(c)),
        `cgroup ${d} reported`,
      );
    assert.ok(
      pids.every((p) => !pidAlive(p)),
      'and killed',
    );
    rmSync(t.dataDir, { recursive: true, force: true });
  });
});

/** A managed-identity token for Azurite, as the app gets it (App Service protocol). */
async function storageToken(stack: Stack): Promise<string> {
  const u = new URL(stack.emulator.identityEndpoint);
  u.searchParams.set('api-version', '2019-08-01');
  u.searchParams.set('resource', 'https://storage.azure.com');
  u.searchParams.set('client_id', stack.publicSettings.AZURE_CLIENT_ID ?? '');
  const r = await requestJson<{ access_token: string }>(u.toString(), {
    headers: { 'X-IDENTITY-HEADER': stack.emulator.identityHeader },
  });
  assert.equal(r.status, 200, r.text);
  return r.body.access_token;
}

async function blob(stack: Stack, method: 'PUT' | 'GET', path: string, body?: string) {
  const ca = (await import('node:fs')).readFileSync(stack.emulator.caBundle, 'utf8');
  return requestJson(`${stack.blobEndpoint}/${path}`, {
    method,
    ca,
    headers: {
      authorization: `Bearer ${await storageToken(stack)}`,
      'x-ms-version': '2021-08-06',
      ...(body !== undefined && !path.includes('restype=container') ? { 'x-ms-blob-type': 'BlockBlob' } : {}),
      'content-type': 'text/plain',
    },
    ...(body !== undefined ? { rawBody: body } : {}),
  });
}

test('blob writes Azurite acknowledged survive a SIGKILL of the whole stack one second later', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'aci-batch-it-durable-'));
  let stack: Stack | undefined;
  try {
    stack = await startStack({ dataDir, provisioningDelayMs: 100, readyTimeoutMs: 120_000 });
    assert.equal((await blob(stack, 'PUT', 'durability?restype=container', '')).status, 201);
    const names = Array.from({ length: 8 }, (_, i) => `acked-${i}.txt`);
    for (const n of names) {
      const r = await blob(stack, 'PUT', `durability/${n}`, `content of ${n}`);
      assert.equal(r.status, 201, `${n}: ${r.text}`);
    }
    await sleep(1000);
    // Every component at once, as a power cut of the stack would (the test process plays the CLI).
    const pids = stack.pids();
    for (const pid of [pids.host, pids.azurite, pids.emulator]) if (pid !== undefined) process.kill(-pid, 'SIGKILL');
    await stack.stop();

    stack = await startStack({ dataDir, provisioningDelayMs: 100, readyTimeoutMs: 120_000 });
    for (const n of names) {
      const r = await blob(stack, 'GET', `durability/${n}`);
      assert.equal(r.status, 200, `${n} is still there after the SIGKILL: ${r.status} ${r.text.slice(0, 300)}`);
      assert.equal(r.text, `content of ${n}`);
    }
  } finally {
    const strays = stack ? (await stack.stop()).strayProcesses : [];
    rmSync(dataDir, { recursive: true, force: true });
    assert.deepEqual(strays, []);
  }
});
