// Issue 10 finding 2, end to end: `npm start` SIGKILLed about a second after ten acknowledged submissions
// (the CLI alone, then the CLI and every process under it at once), then started again on the same data folder.
// Every acknowledged job must reach a terminal state, none may fail because its input or its queue entry was
// lost, and after a normal stop no container group or process is left.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { groupAlive, pidAlive, sleep, waitFor } from '../../local/kit';
import { ApiClient, TERMINAL, type JobStatusView } from '../../local/stack/api-client';
import { generateRegimeSeries } from '../../local/stack/demo-data';
import { descendantsOf, listProcesses, stillAlive, type ProcInfo } from '../../local/stack/processes';
import { freePort, portIsFree, REPO_ROOT } from '../../local/stack/stack';

const JOBS = 10;
const UP_LINE = 'Ctrl-C stops everything';

interface Cli {
  child: ChildProcess;
  io: { out: string; err: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start` as a child process: the same command line the npm script runs, on our data folder and port. */
function startCli(dataDir: string, port: number): Cli {
  const child = spawn(
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
    { cwd: REPO_ROOT, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const io = { out: '', err: '' };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (io.out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (io.err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  return { child, io, exited };
}

async function waitUp(cli: Cli, what: string): Promise<void> {
  await waitFor(
    what,
    () => {
      if (cli.child.exitCode !== null) throw new Error(`npm start exited ${cli.child.exitCode}:\n${cli.io.err}`);
      return cli.io.out.includes(UP_LINE) ? true : undefined;
    },
    { timeoutMs: 240_000, intervalMs: 250, explain: () => `stdout:\n${cli.io.out}\nstderr:\n${cli.io.err}` },
  );
}

/** The input the CLI's own curl example sends: a small two-regime series, quick for the model. */
function exampleInput(seed: number): Record<string, unknown> {
  const s = generateRegimeSeries({ n: 40, mu: [0, 2], sigma2: [0.1, 0.1], stay: [0.9, 0.9], seed });
  return { y: s.y.map((v) => Math.round(v * 100) / 100), k: 2, switchingVariance: true, trend: 'c' };
}

/** A failure that means accepted work was lost in the crash (the input blob or the queue entry). */
function lostWork(s: JobStatusView): boolean {
  if (s.state !== 'failed' || !s.error) return false;
  return s.error.code === 'InputMissing' || /queue entry|input.*(missing|not found)/i.test(s.error.message);
}

/**
 * `cli`: SIGKILL of npm start only; its components notice through their lifeline and exit by themselves.
 * `power-cut`: SIGKILL of npm start and of every process under it at the same moment (host, Azurite, emulator,
 * containers), so nothing gets to save or shut down: what Azurite acknowledged must already be on disk.
 */
async function crashAndRecover(t: TestContext, mode: 'cli' | 'power-cut'): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'aci-batch-it-crash-recovery-'));
  const port = await freePort();
  const api = `http://127.0.0.1:${port}/api`;
  const client = new ApiClient(api, 'contoso', 'contoso-local-key', 60_000);
  const seen: ProcInfo[] = []; // every process either stack ran, checked dead at the end
  const remember = (root: number | undefined): void => {
    if (root !== undefined) for (const p of descendantsOf([root])) if (!seen.some((s) => s.pid === p.pid)) seen.push(p);
  };
  let cli: Cli | undefined;
  try {
    cli = startCli(dataDir, port);
    await waitUp(cli, 'the first stack to be up');

    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const r = await client.submit({ input: exampleInput(100 + i) });
      assert.equal(r.status, 202, `submission ${i}: ${r.status} ${r.text}`);
      ids.push(r.body.id);
    }
    const acked = Date.now();
    const before = await Promise.all(
      ids.map((id) =>
        client.status(id).then(
          (s) => s.state,
          () => 'unknown',
        ),
      ),
    );
    await sleep(Math.max(0, 1000 - (Date.now() - acked)));
    remember(cli.child.pid);
    const victims = mode === 'power-cut' ? descendantsOf([cli.child.pid!]) : [];
    cli.child.kill('SIGKILL');
    for (const p of stillAlive(victims)) killIfAlive(p.pid);
    t.diagnostic(
      `${mode}: SIGKILL about 1 s after ${JOBS} 202s (${victims.length} processes under the CLI too); states just before: ${before.join(', ')}`,
    );
    await cli.exited;
    remember(cli.child.pid);
    // The restart needs the API port back (the stack's components exit with it: stack-lifecycle.test.ts).
    await waitFor(
      'the API port to be free after the SIGKILL',
      async () => ((await portIsFree(port)) ? true : undefined),
      {
        timeoutMs: 90_000,
        intervalMs: 250,
        explain: () =>
          `still alive: ${JSON.stringify(stillAlive(seen).map((p) => `${p.pid} ${p.command.slice(0, 120)}`))}`,
      },
    );

    cli = startCli(dataDir, port);
    await waitUp(cli, 'the restarted stack to be up');

    const finals = new Map<string, JobStatusView>();
    await waitFor(
      `all ${JOBS} acknowledged jobs to reach a terminal state with their container group deleted`,
      async () => {
        remember(cli!.child.pid);
        for (const id of ids) {
          if (finals.has(id)) continue;
          const s = await client.status(id);
          // A finished job's group is deleted by the controller (onComplete/onFailure): wait for that too
          // ('none': the job ended before any group was created).
          if (TERMINAL.includes(s.state) && ['deleted', 'none'].includes(s.container.state)) finals.set(id, s);
        }
        return finals.size === ids.length ? true : undefined;
      },
      {
        timeoutMs: 600_000,
        intervalMs: 1000,
        retryErrors: true,
        explain: async () => {
          const rows = await Promise.all(
            ids.map(async (id) => {
              const s = await client.status(id).catch((err: Error) => ({ id, error: err.message }));
              return JSON.stringify(s);
            }),
          );
          return `${rows.join('\n')}\nstack stderr (last 4000 chars):\n${cli!.io.err.slice(-4000)}\nlogs: ${dataDir}/logs`;
        },
      },
    );
    const summary = [...finals.values()].map(
      (s) => `${s.id}: ${s.state}${s.error ? ` ${s.error.code}: ${s.error.message}` : ''}`,
    );
    for (const line of summary) t.diagnostic(line);
    const lost = [...finals.values()].filter(lostWork);
    assert.deepEqual(
      lost.map((s) => `${s.id}: ${s.error?.code}: ${s.error?.message}`),
      [],
      `jobs failed for lost input or queue entry:\n${summary.join('\n')}\n(logs in ${dataDir}/logs)`,
    );

    // A normal stop: exit 0, no group the jobs left, no process either stack started still alive.
    remember(cli.child.pid);
    cli.child.kill('SIGINT');
    const end = await Promise.race([cli.exited, sleep(120_000).then(() => undefined)]);
    assert.ok(end, `the restarted stack stops within 120 s after Ctrl-C\nstderr:\n${cli.io.err.slice(-4000)}`);
    assert.deepEqual(end, { code: 0, signal: null }, `exit status\nstderr:\n${cli.io.err.slice(-4000)}`);
    assert.match(cli.io.err, /stopped: no process and no container group left\./);
    assert.doesNotMatch(
      cli.io.err,
      /container group\(s\) that were still there/,
      'every finished job had its group deleted by the controller',
    );
    await waitFor(
      'every process either stack started to be gone',
      () => (stillAlive(seen).length === 0 ? true : undefined),
      {
        timeoutMs: 30_000,
        intervalMs: 250,
        explain: () => JSON.stringify(stillAlive(seen).map((p) => `${p.pid} ${p.command.slice(0, 160)}`)),
      },
    );
    cli = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  } finally {
    // Only when the test failed half-way: stop whatever is left, keep the data folder (logs) for reading.
    if (cli) {
      remember(cli.child.pid);
      if (pidAlive(cli.child.pid!)) cli.child.kill('SIGKILL');
    }
    // A process in this test's own group (the CLI is not detached) is killed alone, never the group.
    const ownGroup = listProcesses().find((p) => p.pid === process.pid)?.pgid;
    for (const p of stillAlive(seen)) {
      if (p.pgid !== ownGroup && groupAlive(p.pgid)) killIfAlive(-p.pgid);
      else killIfAlive(p.pid);
    }
  }
}

test('SIGKILL of npm start 1 s after ten 202s, then a restart on the same data: every acknowledged job ends, none lost', (t) =>
  crashAndRecover(t, 'cli'));

test('the same with every process of the stack SIGKILLed at once (a power cut): none lost either', (t) =>
  crashAndRecover(t, 'power-cut'));

/** SIGKILL, where a process that exited between the look and the kill (ESRCH) is what was wanted. */
function killIfAlive(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}
