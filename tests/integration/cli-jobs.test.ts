// The aci-batch CLI as a user runs it (the built binary, in a child process) against the whole local
// stack: `submit --wait --json` of the README's job exits 0 and its last line is the final status;
// a failing job exits 1 with its error; `logs -f` started while a job runs prints the log once and
// ends when the job ends; a wrong key exits 4; artifacts work or say they are not available (5); a job
// array's tasks are listed by `tasks`, counted by `status` and left out of `list` unless asked for.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT } from '../../local/stack/stack';
import { KEYS, startTestStack, stopAndCheck, waitForStatus, type TestStack } from '../fixtures/stack/harness';

const BIN = join(REPO_ROOT, 'cli/bin/aci-batch.js');
/** The README's curl example's input (60 observations; the model needs at least 30 for k = 2). */
const README_INPUT = {
  y: [
    -0.45, -0.26, 0.11, 0.18, -0.53, 1.37, 1.98, -0.29, 0.13, 0.58, 0.15, -0.01, 2.52, 1.75, 2.64, 0.95, 1.76, 1.63,
    1.5, 2.87, 1.35, 2.66, 2.78, 1.55, 1.01, 1.76, 1.19, 0.08, -0.26, -0.13, -0.39, 1.88, 2.52, 1, 2.85, 3.26, 1.47,
    2.48, 0.97, 1.58, 1.58, 1.29, 1.61, 2.2, 1.46, -0.32, -0.48, -0.44, 0.11, 0.19, -0.17, 0.35, -0.37, 0.3, 0.05, 0.15,
    -0.19, 1.72, 2.01, 1.87,
  ],
  k: 2,
  switchingVariance: true,
  trend: 'c',
};

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

let ts: TestStack | undefined;
const work = mkdtempSync(join(tmpdir(), 'aci-batch-it-cli-jobs-'));
const children = new Set<number>();

/** Runs the CLI binary with a deadline; the connection comes from ACI_BATCH_* as a user sets it. */
function cli(args: string[], opts: { tenant?: 'contoso' | 'fabrikam'; key?: string; timeoutMs?: number } = {}) {
  const tenant = opts.tenant ?? 'contoso';
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: work,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      ACI_BATCH_API: ts!.stack.apiBaseUrl,
      ACI_BATCH_TENANT: tenant,
      ACI_BATCH_KEY: opts.key ?? KEYS[tenant],
      // Never the developer's own profile file.
      ACI_BATCH_CONFIG: join(work, 'no-config.json'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const done = new Promise<CliRun>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `aci-batch ${args.join(' ')} did not end within ${timeoutMs / 1000} s\nstdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      children.delete(child.pid!);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, done };
}

const runCli = (args: string[], opts: Parameters<typeof cli>[1] = {}) => cli(args, opts).done;
const show = (r: CliRun) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

before(async () => {
  // The binary runs the compiled CLI: build it from the current source (npm test builds first too).
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(REPO_ROOT, 'cli')], {
    stdio: 'inherit',
  });
  assert.ok(existsSync(join(REPO_ROOT, 'cli/dist/main.js')), 'cli/dist/main.js is built');
  writeFileSync(join(work, 'input.json'), JSON.stringify(README_INPUT));
  ts = await startTestStack('cli-jobs');
});

after(async () => {
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await stopAndCheck(ts);
  rmSync(work, { recursive: true, force: true });
});

describe('aci-batch against the local stack', () => {
  let modelJob = '';

  test("submit --wait --json of the README's job exits 0; its last line is the final status", async () => {
    const r = await runCli(['submit', '--input', 'input.json', '--cpu', '1', '--memory', '1', '--wait', '--json']);
    assert.equal(r.code, 0, show(r));
    const lines = r.stdout.trim().split('\n');
    const first = JSON.parse(lines[0]!) as { id: string; state: string };
    const last = JSON.parse(lines[lines.length - 1]!) as { id: string; state: string; resources: { cpu: number } };
    assert.equal(first.state, 'queued', 'the first line is the submit answer');
    assert.equal(last.id, first.id);
    assert.equal(last.state, 'succeeded', show(r));
    assert.equal(last.resources.cpu, 1);
    assert.ok(lines.length >= 3, `status changes were printed on the way:\n${r.stdout}`);
    modelJob = last.id;

    const result = await runCli(['result', modelJob, '--json']);
    assert.equal(result.code, 0, show(result));
    const fit = JSON.parse(result.stdout) as { model: string; nobs: number };
    assert.deepEqual([fit.model, fit.nobs], ['markov-switching-regression', 60]);

    const status = await runCli(['status', modelJob]);
    assert.equal(status.code, 0, show(status));
    assert.match(status.stdout, /^State\s+succeeded$/m);

    const list = await runCli(['list']);
    assert.equal(list.code, 0, show(list));
    assert.ok(list.stdout.includes(modelJob), `the table lists the job:\n${list.stdout}`);
  });

  test('a failing job: submit --wait exits 1 and prints the error code', async () => {
    const r = await runCli(
      ['submit', '--image', 'test/sleep:1.0', '-e', 'SLEEP_MS=200', '-e', 'EXIT_CODE=3', '--wait'],
      { tenant: 'fabrikam' },
    );
    assert.equal(r.code, 1, show(r));
    assert.match(r.stdout, /^j-[a-z0-9]{20} failed: [A-Za-z]+: /m, show(r));
  });

  test('logs -f, started while the job runs, prints the log once and ends when the job ends', async () => {
    const submitted = await runCli(['submit', '--image', 'test/sleep:1.0', '-e', 'SLEEP_MS=4000', '--json']);
    assert.equal(submitted.code, 0, show(submitted));
    const id = (JSON.parse(submitted.stdout) as { id: string }).id;
    await waitForStatus(ts!, ts!.contoso, id, 'running', (s) => s.state === 'running', 60_000);
    const r = await runCli(['logs', '-f', id, '--interval', '0.3'], { timeoutMs: 90_000 });
    assert.equal(r.code, 0, show(r));
    const final = await ts!.contoso.status(id);
    assert.equal(final.state, 'succeeded', 'logs -f returned after the job ended');
    assert.equal(r.stdout.split(`sleep: job ${id} sleeping 4000 ms`).length - 1, 1, `printed once:\n${r.stdout}`);
    assert.equal(r.stdout.split('sleep: done').length - 1, 1, `the end of the log, once:\n${r.stdout}`);
    assert.match(r.stderr, new RegExp(`-- ${id} ended succeeded`));
  });

  test('a wrong key exits 4 with the API error code; a bad flag exits 2 before sending', async () => {
    const r = await runCli(['list'], { key: 'not-a-key' });
    assert.equal(r.code, 4, show(r));
    assert.match(r.stderr, /401 Unauthorized: /);
    const u = await runCli(['submit', '--cpu', 'lots']);
    assert.equal(u.code, 2, show(u));
    assert.match(u.stderr, /--cpu: "lots" must be a positive number/);
  });

  test('a job array: submit --array --wait exits 0; tasks lists each task; status shows the counts', async () => {
    const r = await runCli(
      [
        'submit',
        '--image',
        'test/sleep:1.0',
        '-e',
        'SLEEP_MS=200',
        '--array',
        '{"count": 3, "parallelism": 2}',
        '--wait',
        '--json',
      ],
      { timeoutMs: 180_000 },
    );
    assert.equal(r.code, 0, show(r));
    const id = (JSON.parse(r.stdout.trim().split('\n')[0]!) as { id: string }).id;
    const tasks = await runCli(['tasks', id]);
    assert.equal(tasks.code, 0, show(tasks));
    for (const i of [0, 1, 2]) assert.match(tasks.stdout, new RegExp(`\\b${i}\\b.*${id}-${i}.*succeeded`), show(tasks));
    assert.match(tasks.stdout, new RegExp(`3 tasks of ${id} \\(succeeded, parallelism 2\\): 3 succeeded$`, 'm'));
    const json = await runCli(['tasks', id, '--json']);
    const page = JSON.parse(json.stdout) as { tasks: { index: number }[]; notStarted: number };
    assert.deepEqual([page.tasks.map((t) => t.index), page.notStarted], [[0, 1, 2], 0]);
    const status = await runCli(['status', id]);
    assert.match(status.stdout, /^Tasks\s+3 \(parallelism 2\): 3 succeeded$/m, show(status));
    const list = await runCli(['list']);
    assert.ok(
      list.stdout.includes(id) && !list.stdout.includes(`${id}-0`),
      `tasks only under the parent:\n${list.stdout}`,
    );
    const all = await runCli(['list', '--include-tasks']);
    assert.ok(all.stdout.includes(`${id}-2`), `--include-tasks lists them:\n${all.stdout}`);
  });

  test("artifacts: the chart, or a clear 'not available' (exit 5) on a controller without the route", async () => {
    assert.ok(modelJob, 'the first test ran');
    const r = await runCli(['artifacts', modelJob]);
    if (r.code === 5) {
      assert.match(r.stderr, /artifacts is not available on this API \(404/, show(r));
      return;
    }
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /chart\.svg/);
    const get = await runCli(['artifacts', 'get', modelJob, 'chart.svg']);
    assert.equal(get.code, 0, show(get));
    assert.match(readFileSync(join(work, 'chart.svg'), 'utf8'), /<svg[\s>]/);
  });
});
