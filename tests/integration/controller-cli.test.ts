// `npm start` as a user meets it: the CLI prints the API URL, the tenants and a curl example; the
// example, run as printed by a shell, submits a job that succeeds; Ctrl-C stops everything, exits 0
// and leaves no process and no container group behind.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ApiClient } from '../../local/stack/api-client';
import { descendantsOf, stillAlive, type ProcInfo } from '../../local/stack/processes';
import { freePort, REPO_ROOT } from '../../local/stack/stack';
import { waitFor } from '../fixtures/stack/harness';

const dataDir = mkdtempSync(join(tmpdir(), 'aci-batch-it-cli-'));
let cliPid: number | undefined;

after(() => {
  // Only if the test failed half-way: the CLI's own shutdown is what the test checks.
  if (cliPid !== undefined) {
    try {
      process.kill(cliPid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test('npm start prints a working curl example and Ctrl-C leaves nothing behind', async () => {
  const port = await freePort();
  const cli = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO_ROOT, 'local/stack/cli.ts'),
      '--data',
      dataDir,
      '--port',
      String(port),
      '--provisioning-delay-ms',
      '100',
      '--poll-interval-seconds',
      '0.5',
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  cliPid = cli.pid;
  let out = '';
  let err = '';
  cli.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  cli.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    cli.once('exit', (code, signal) => r({ code, signal })),
  );

  await waitFor(
    'the CLI to print that the stack is up',
    async () => (out.includes('Ctrl-C stops everything') ? true : undefined),
    120_000,
    async () => `stdout:\n${out}\nstderr:\n${err}`,
  );
  const api = `http://127.0.0.1:${port}/api`;
  assert.match(out, new RegExp(`API\\s+${api.replace(/[.:/]/g, '\\$&')}`), out);
  assert.match(out, /contoso\s.*key: contoso-local-key/, out);
  assert.match(out, /fabrikam\s.*key: fabrikam-local-key/, out);

  // The printed example, run by a shell exactly as printed.
  const lines = out.split('\n');
  const start = lines.findIndex((l) => /^\s*curl -s -X POST /.test(l));
  assert.ok(start >= 0, `a curl POST example is printed:\n${out}`);
  const example: string[] = [];
  for (let i = start; i < lines.length; i++) {
    example.push(lines[i]!);
    if (!lines[i]!.trimEnd().endsWith('\\')) break;
  }
  const curl = spawnSync('sh', ['-c', example.join('\n')], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(curl.status, 0, `curl failed: ${curl.stderr}`);
  const answer = JSON.parse(curl.stdout) as { id?: string; state?: string };
  assert.ok(answer.id, `the example submits a job: ${curl.stdout}`);
  const client = new ApiClient(api, 'contoso', 'contoso-local-key');
  const final = await client.waitForEnd(answer.id, 120_000);
  assert.equal(final.state, 'succeeded', JSON.stringify(final));
  assert.equal(final.container.state, 'deleted');

  // A second job left running when the user presses Ctrl-C: its group must not survive.
  const running = await client.submitOk({ image: 'contoso/custom-model:1.0', command: ['sleep', '60'] });
  await waitFor(
    'the second job to run',
    async () => ((await client.status(running.id)).state === 'running' ? true : undefined),
    60_000,
    async () => JSON.stringify(await client.status(running.id)),
  );

  const below: ProcInfo[] = descendantsOf([cli.pid!]);
  assert.ok(
    below.some((p) => p.command.includes('batch-image/dist/agent/main.js')),
    `the job's container process is among the CLI's descendants: ${below.map((p) => p.command).join('; ')}`,
  );
  cli.kill('SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const end = await Promise.race([
    exited,
    new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 60_000))),
  ]);
  clearTimeout(timer);
  assert.ok(end, `the CLI stops within 60 s after Ctrl-C\nstderr:\n${err}`);
  cliPid = undefined;
  assert.deepEqual(end, { code: 0, signal: null }, `exit status\nstderr:\n${err}`);
  assert.match(err, /deleting 1 container group\(s\) left behind: acib-contoso-/, err);
  assert.match(err, /stopped: no process and no container group left\./, err);
  assert.deepEqual(
    stillAlive(below).map((p) => `${p.pid} ${p.command}`),
    [],
    'no process the stack started is alive',
  );
});
