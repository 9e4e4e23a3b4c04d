// Configuration from the environment (fails fast naming the variable), artifact names, and logs
// that never carry the token.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { contentTypeOf, isSafeArtifactName } from '../../batch-image/src/agent/artifacts';
import { createTokenCheck } from '../../batch-image/src/agent/auth';
import { ConfigError, loadConfig } from '../../batch-image/src/agent/config';
import { createLogger } from '../../batch-image/src/agent/log';

const dir = mkdtempSync(join(tmpdir(), 'agent-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('defaults', () => {
  const c = loadConfig({ JOB_TOKEN: 't', RESULT_DIR: join(dir, 'r1') });
  assert.equal(c.port, 8080);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.mode, 'model');
  assert.equal(c.jobId, undefined);
  assert.equal(c.callbackUrl, undefined);
  assert.equal(c.maxBodyBytes, 8 * 1024 * 1024);
  assert.equal(c.callback.finalAttempts, 8);
  assert.equal(c.resultDir, join(dir, 'r1'));
});

test('AGENT_COMMAND implies command mode; everything else as given', () => {
  const c = loadConfig({
    JOB_TOKEN: 't',
    PORT: '9000',
    HOST: '127.0.0.5',
    JOB_ID: 'job-9',
    CALLBACK_URL: 'https://ctl.example/api/callbacks/jobs/job-9',
    AGENT_COMMAND: '["python","main.py","--fast"]',
    RESULT_DIR: join(dir, 'r2'),
  });
  assert.equal(c.port, 9000);
  assert.equal(c.host, '127.0.0.5');
  assert.equal(c.jobId, 'job-9');
  assert.equal(c.callbackUrl?.href, 'https://ctl.example/api/callbacks/jobs/job-9');
  assert.deepEqual(c.defaultCommand, ['python', 'main.py', '--fast']);
  assert.equal(c.mode, 'command');
});

test('bad settings fail at once, naming every variable, without echoing the token or callback URL', () => {
  const env = {
    JOB_TOKEN: '',
    PORT: '70000',
    CALLBACK_URL: 'ftp://secret@host/x',
    AGENT_COMMAND: '"python"',
    AGENT_MODE: 'batch',
    AGENT_CALLBACK_ATTEMPTS: 'many',
    RESULT_DIR: join(dir, 'r3'),
  };
  assert.throws(
    () => loadConfig(env),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      for (const name of [
        'JOB_TOKEN',
        'PORT',
        'CALLBACK_URL',
        'AGENT_COMMAND',
        'AGENT_MODE',
        'AGENT_CALLBACK_ATTEMPTS',
      ])
        assert.match(err.message, new RegExp(name));
      assert.doesNotMatch(err.message, /secret@host/);
      return true;
    },
  );
  assert.throws(
    () => loadConfig({ JOB_TOKEN: 't', AGENT_MODE: 'model', AGENT_COMMAND: '["x"]' }),
    /AGENT_COMMAND is set but AGENT_MODE is 'model'/,
  );
  assert.throws(() => loadConfig({ JOB_TOKEN: 't', AGENT_COMMAND: '[""]' }), /AGENT_COMMAND/);
});

test('start mode, array task and startup tuning: defaults, values, and every bad one named', () => {
  const d = loadConfig({ JOB_TOKEN: 't', RESULT_DIR: join(dir, 'r4') });
  assert.equal(d.startMode, 'push');
  assert.equal(d.task, undefined);
  assert.deepEqual(d.startup, {
    readyDeadlineMs: 120_000,
    pullDeadlineMs: 600_000,
    baseDelayMs: 250,
    maxDelayMs: 5_000,
    heartbeatIntervalMs: 0,
    uploadTimeoutMs: 300_000,
    uploadBudgetMs: 900_000,
  });
  const p = loadConfig({
    JOB_TOKEN: 't',
    RESULT_DIR: join(dir, 'r4'),
    AGENT_START_MODE: 'pull',
    CALLBACK_URL: 'https://ctl.example/api/callbacks/tenants/t/jobs/j',
    JOB_ID: 'j',
    ACI_BATCH_TASK_INDEX: '0',
    ACI_BATCH_TASK_COUNT: '1',
  });
  assert.equal(p.startMode, 'pull');
  assert.equal(p.startup.heartbeatIntervalMs, 15_000, 'pull mode beats by default: nobody can poll it');
  assert.deepEqual(p.task, { index: 0, count: 1 });
  const bad: [Record<string, string>, RegExp][] = [
    [{ AGENT_START_MODE: 'poll' }, /AGENT_START_MODE must be 'push' or 'pull'/],
    [{ AGENT_START_MODE: 'pull' }, /needs CALLBACK_URL.*needs JOB_ID/],
    [{ ACI_BATCH_TASK_INDEX: '2' }, /ACI_BATCH_TASK_COUNT is required/],
    [{ ACI_BATCH_TASK_COUNT: '2' }, /ACI_BATCH_TASK_INDEX is required/],
    [{ ACI_BATCH_TASK_INDEX: '2', ACI_BATCH_TASK_COUNT: '2' }, /must be below ACI_BATCH_TASK_COUNT \(got 2 of 2\)/],
    [
      { ACI_BATCH_TASK_INDEX: '-1', ACI_BATCH_TASK_COUNT: 'x' },
      /ACI_BATCH_TASK_COUNT must be.*ACI_BATCH_TASK_INDEX must be/,
    ],
    [{ AGENT_HEARTBEAT_INTERVAL_MS: '-5' }, /AGENT_HEARTBEAT_INTERVAL_MS must be an integer/],
  ];
  for (const [env, message] of bad)
    assert.throws(
      () => loadConfig({ JOB_TOKEN: 't', RESULT_DIR: join(dir, 'r4'), ...env }),
      message,
      JSON.stringify(env),
    );
});

test('logs: one JSON line each, token scrubbed wherever it appears, secret-named fields redacted', () => {
  const lines: string[] = [];
  const log = createLogger({ secrets: ['s3cr"et'], write: (l) => lines.push(l) }).child({ jobId: 'j' });
  log.info('hello', { n: 1 });
  log.error('failed', {
    err: new Error('request with s3cr"et failed'),
    authorization: 'Bearer abc',
    nested: { token: 'abc' },
  });
  log.debug('hidden at info level');
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
  const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(first?.msg, 'hello');
  assert.equal(first?.jobId, 'j');
  assert.equal(first?.level, 'info');
  assert.ok(!lines.join('').includes('s3cr'), lines.join(''));
  assert.ok(!lines.join('').includes('abc'));
  assert.deepEqual(second?.err, { name: 'Error', message: 'request with [REDACTED] failed' });
});

test('token check', () => {
  const ok = createTokenCheck('abc');
  assert.equal(ok('Bearer abc'), true);
  assert.equal(ok('Bearer abd'), false);
  assert.equal(ok('Bearer ab'), false);
  assert.equal(ok(undefined), false);
  assert.equal(ok('abc'), false);
});

test('artifact names: no separators, no leading dot, no traversal', () => {
  for (const good of ['chart.svg', 'result.json', 'a', 'Report_2024-01.csv', 'x..y'])
    assert.equal(isSafeArtifactName(good), true, good);
  for (const bad of ['', '.', '..', '../x', 'a/b', 'a\\b', '.env', 'a b', 'é.txt', 'x\u0000', 'a'.repeat(256)])
    assert.equal(isSafeArtifactName(bad), false, JSON.stringify(bad));
  assert.equal(contentTypeOf('chart.SVG'), 'image/svg+xml');
  assert.equal(contentTypeOf('data.bin'), 'application/octet-stream');
});
