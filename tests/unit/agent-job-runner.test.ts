// The job state machine with real work: tenant commands as real child processes, and a work that
// ignores its abort signal (a model that hangs) to show cancel still ends the job.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { createCommandWork, readCommandResult } from '../../batch-image/src/agent/command-runner';
import { CancelRequest, JobRunner, type JobEvent, type Work } from '../../batch-image/src/agent/job-runner';
import { createLogger } from '../../batch-image/src/agent/log';
import { isAlive, waitFor } from '../fixtures/agent/wait';

const log = createLogger({ write: () => undefined });
const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'agent-unit-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function nodeCommand(script: string, opts: { env?: Record<string, string>; input?: unknown } = {}) {
  const resultDir = tempDir();
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  const work = createCommandWork({
    jobId: 'job-u',
    command: [process.execPath, '-e', script],
    env: opts.env ?? {},
    input: opts.input,
    resultDir,
    defaultGraceMs: 1000,
    log,
    stdout,
    stderr: stdout,
  });
  return { work, resultDir, output: () => out };
}

async function run(work: Work): Promise<{ runner: JobRunner; events: JobEvent[] }> {
  const runner = new JobRunner();
  const events: JobEvent[] = [];
  runner.onEvent((e) => events.push(e));
  assert.equal(
    runner.start('job-u', 'command', () => work),
    true,
  );
  await runner.whenSettled();
  return { runner, events };
}

test('a successful command: output passed through, progress markers read, result.json merged', async () => {
  const script = `
    const fs = require('node:fs');
    console.log('plain line');
    console.log('AGENT_PROGRESS ' + JSON.stringify({ progress: 0.4, message: 'forty' }));
    console.log('AGENT_PROGRESS not json');
    console.log('AGENT_PROGRESS ' + JSON.stringify({ progress: 0.2 }));
    const input = JSON.parse(fs.readFileSync(process.env.INPUT_FILE, 'utf8'));
    fs.writeFileSync(process.env.RESULT_DIR + '/result.json', JSON.stringify({ doubled: input.n * 2, exitCode: 99, env: process.env.MY_VAR, token: process.env.JOB_TOKEN ?? null, inputFile: process.env.INPUT_FILE }));`;
  process.env.JOB_TOKEN = 'agent-secret'; // the agent's own environment: must not reach the command
  const { work, output } = nodeCommand(script, { env: { MY_VAR: 'mine' }, input: { n: 21 } });
  try {
    const { runner, events } = await run(work);
    const s = runner.snapshot();
    assert.equal(s.state, 'succeeded');
    assert.equal(s.exitCode, 0);
    assert.equal(s.progress, 1);
    const { inputFile, ...rest } = runner.result as { inputFile: string };
    assert.deepEqual(
      rest,
      { doubled: 42, exitCode: 0, env: 'mine', token: null },
      "the agent's exit code wins over result.json's",
    );
    assert.ok(!existsSync(inputFile), 'the input file is removed once the command has ended');
    const progress = events.filter((e) => e.type === 'progress').map((e) => [e.status.progress, e.status.message]);
    assert.deepEqual(
      progress,
      [
        [0.4, 'forty'],
        [0.4, 'forty'],
      ],
      'progress never goes backwards; bad markers are ignored',
    );
    assert.deepEqual(events.map((e) => e.type).at(-1), 'completed');
    assert.match(output(), /^plain line\nAGENT_PROGRESS /);
  } finally {
    delete process.env.JOB_TOKEN;
  }
});

test('exit codes and signals map to failed with their codes', async () => {
  const cases: [string, number, string][] = [
    ['process.exit(4)', 4, 'CommandFailed'],
    ["process.kill(process.pid, 'SIGSEGV')", 128 + 11, 'CommandKilled'],
  ];
  for (const [script, exitCode, code] of cases) {
    const { runner, events } = await run(nodeCommand(script).work);
    const s = runner.snapshot();
    assert.equal(s.state, 'failed', script);
    assert.equal(s.exitCode, exitCode, script);
    assert.equal(s.error?.code, code, script);
    assert.equal(events.at(-1)?.type, 'failed');
  }
});

test('readCommandResult: absent, invalid, non-object and object result.json', () => {
  const dir = tempDir();
  assert.deepEqual(readCommandResult(dir, 0, null), { exitCode: 0 });
  writeFileSync(join(dir, 'result.json'), '{oops');
  assert.match(String(readCommandResult(dir, 1, null).resultError), /not valid JSON/);
  writeFileSync(join(dir, 'result.json'), '[1,2]');
  assert.deepEqual(readCommandResult(dir, 0, null), { exitCode: 0, value: [1, 2] });
  writeFileSync(join(dir, 'result.json'), '{"a":1,"signal":"x"}');
  assert.deepEqual(readCommandResult(dir, 137, 'SIGKILL'), { a: 1, signal: 'SIGKILL', exitCode: 137 });
});

test('start is idempotent for the same job and refuses another; cancel ends as canceled', async () => {
  const { work, resultDir } = nodeCommand(
    `require('node:fs').writeFileSync(process.env.RESULT_DIR + '/up', ''); setInterval(() => {}, 1000);`,
  );
  const runner = new JobRunner();
  assert.throws(() => runner.cancel(new CancelRequest('Canceled', 'x', 10)), { code: 'NotRunning' });
  assert.equal(
    runner.start('job-u', 'command', () => work),
    true,
  );
  assert.equal(
    runner.start('job-u', 'command', () => assert.fail('must not build a second work')),
    false,
  );
  assert.throws(() => runner.start('other', 'command', () => work), { code: 'AgentBusy', status: 409 });
  await waitFor('the command to run', () => {
    try {
      return readFileSync(join(resultDir, 'up')) !== undefined;
    } catch {
      return false;
    }
  });
  const during = runner.cancel(new CancelRequest('Canceled', 'canceled by test', 5_000));
  assert.equal(during.state, 'running');
  assert.equal(during.message, 'canceling: canceled by test');
  await runner.whenSettled();
  const s = runner.snapshot();
  assert.equal(s.state, 'canceled');
  assert.deepEqual(s.error, { code: 'Canceled', message: 'canceled by test' });
  assert.throws(() => runner.cancel(new CancelRequest('Canceled', 'again', 10)), { code: 'AlreadyFinished' });
});

test('a work that ignores its abort signal is still canceled after the grace period', async () => {
  let release: (() => void) | undefined;
  const stubborn: Work = {
    run: (ctx) =>
      new Promise((resolve) => {
        ctx.onProgress(0.3, 'working');
        release = () => resolve({ ok: true, message: 'finished anyway', result: { late: true } });
      }),
  };
  const runner = new JobRunner();
  const events: JobEvent[] = [];
  runner.onEvent((e) => events.push(e));
  runner.start('job-s', 'model', () => stubborn);
  runner.cancel(new CancelRequest('AgentShutdown', 'shutting down', 10));
  await waitFor('the cancel guard to end the job', () => runner.isFinished(), 10_000);
  assert.equal(runner.snapshot().state, 'canceled');
  assert.equal(runner.snapshot().progress, 0.3);
  assert.equal(runner.snapshot().error?.code, 'AgentShutdown');
  release?.();
  await runner.whenSettled();
  assert.equal(runner.snapshot().state, 'canceled', 'a late outcome does not change a final state');
  assert.equal(runner.result, null);
  assert.deepEqual(
    events.map((e) => e.type),
    ['progress', 'canceled'],
  );
});

test('a work that throws fails the job with WorkFailed', async () => {
  const runner = new JobRunner();
  runner.start('job-t', 'model', () => ({ run: () => Promise.reject(new Error('boom')) }));
  await runner.whenSettled();
  assert.equal(runner.snapshot().state, 'failed');
  assert.deepEqual(runner.snapshot().error, { code: 'WorkFailed', message: 'boom' });
});

test('messages are capped so that a huge error text cannot bloat status or callbacks', async () => {
  const runner = new JobRunner();
  runner.start('job-h', 'model', () => ({
    run: async (ctx) => {
      ctx.onProgress(0.1, 'p'.repeat(5_000));
      assert.equal(runner.snapshot().message.length, 1000);
      throw new Error('e'.repeat(10_000));
    },
  }));
  await runner.whenSettled();
  const s = runner.snapshot();
  assert.equal(s.state, 'failed');
  assert.equal(s.message.length, 1000);
  assert.equal(s.error?.message.length, 1000);
});

test('cancel: a leftover that ignores SIGTERM and holds no pipe is killed after its parent exits', async () => {
  const resultDir = tempDir();
  const work = createCommandWork({
    jobId: 'job-l',
    command: [process.execPath, join(__dirname, '../fixtures/agent/tree.mjs')],
    env: { IGNORE_TERM: 'grandchild' },
    input: undefined,
    resultDir,
    defaultGraceMs: 60_000, // the leader dies on SIGTERM: this escalation is never reached
    log,
    stdout: new PassThrough().resume(),
  });
  const runner = new JobRunner();
  runner.start('job-l', 'command', () => work);
  const pids = await waitFor('the tree to record its pids', () => {
    try {
      return JSON.parse(readFileSync(join(resultDir, 'pids.json'), 'utf8')) as { child: number; grandchild: number };
    } catch {
      return undefined;
    }
  });
  try {
    runner.cancel(new CancelRequest('Canceled', 'stop', 60_000));
    await runner.whenSettled();
    assert.equal(runner.snapshot().state, 'canceled');
    assert.equal(runner.snapshot().exitCode, 128 + 15);
    await waitFor('the leftover grandchild to be killed', () => !isAlive(pids.grandchild), 10_000);
  } finally {
    for (const pid of [pids.child, pids.grandchild]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone, as expected
      }
    }
  }
});
