// The agent as a real process in command mode: the contract the controller codes against.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURES, startAgentProcess, TOKEN, type AgentProcess } from '../fixtures/agent/agent-process';
import { waitFor } from '../fixtures/agent/wait';

const WORK = ['node', join(FIXTURES, 'work.mjs')];

async function finished(agent: AgentProcess): Promise<Record<string, unknown>> {
  return waitFor('the job to finish', async () => {
    const s = await agent.call('GET', '/status');
    return ['succeeded', 'failed', 'canceled'].includes(s.body.state) ? (s.body as Record<string, unknown>) : undefined;
  });
}

describe('agent command mode: a job from start to result', () => {
  let agent: AgentProcess;
  before(async () => {
    agent = await startAgentProcess({ host: '127.0.0.21', env: { JOB_ID: 'job-1', AGENT_MODE: 'command' } });
  });
  after(() => agent.stop());

  test('healthz answers without a token; everything else needs the right one', async () => {
    const health = await agent.call('GET', '/healthz', undefined, null);
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    for (const [method, path] of [
      ['GET', '/status'],
      ['POST', '/start'],
      ['POST', '/cancel'],
      ['GET', '/result'],
      ['GET', '/artifacts/x.txt'],
      ['GET', '/nowhere'],
    ]) {
      for (const token of [null, 'wrong-token', TOKEN + 'x', '']) {
        const r = await agent.call(method as string, path as string, undefined, token);
        assert.equal(r.status, 401, `${method} ${path} with token ${String(token)}`);
        assert.equal(r.body.error.code, 'Unauthorized');
      }
    }
    const idle = await agent.call('GET', '/status');
    assert.equal(idle.status, 200);
    assert.equal(idle.body.state, 'idle');
  });

  test('before a job: cancel and result are 409 with their own codes', async () => {
    assert.equal((await agent.call('POST', '/cancel')).body.error.code, 'NotRunning');
    const result = await agent.call('GET', '/result');
    assert.equal(result.status, 409);
    assert.equal(result.body.error.code, 'NotFinished');
  });

  test('bad start requests are 400 naming every bad field at once', async () => {
    const r = await agent.call('POST', '/start', {
      jobId: 'job-2',
      command: ['node', 7],
      env: { 'BAD-NAME': 'x', N: 1 },
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'InvalidInput');
    assert.deepEqual(
      r.body.error.details.map((d: { field: string }) => d.field),
      ['jobId', 'command[1]', 'env.BAD-NAME', 'env.N'],
    );
    const noCommand = await agent.call('POST', '/start', { jobId: 'job-1' });
    assert.equal(noCommand.status, 400);
    assert.deepEqual(
      noCommand.body.error.details.map((d: { field: string }) => d.field),
      ['command'],
    );
    const notJson = await agent.call('POST', '/start', '{"jobId":');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error.code, 'InvalidJson');
    assert.equal((await agent.call('GET', '/status')).body.state, 'idle', 'a refused start starts nothing');
  });

  test('start → running (idempotent, 409 for another job) → succeeded with result and artifacts', async () => {
    const body = {
      jobId: 'job-1',
      command: WORK,
      env: { GREETING: 'hello' },
      input: { values: [1, 2, 3.5], waitForGo: true },
    };
    const started = await agent.call('POST', '/start', body);
    assert.equal(started.status, 202);
    assert.equal(started.body.jobId, 'job-1');
    assert.equal(started.body.state, 'running');

    const again = await agent.call('POST', '/start', body);
    assert.equal(again.status, 202, 'the same jobId again is accepted');
    assert.equal(again.body.state, 'running');
    assert.equal(again.body.startedAt, started.body.startedAt, 'and does not start a second run');

    const other = await agent.call('POST', '/start', { ...body, jobId: 'job-2' });
    assert.equal(other.status, 400, 'JOB_ID is set: another jobId is a bad field');
    assert.equal(other.body.error.details[0].field, 'jobId');

    const running = await waitFor('progress from the command', async () => {
      const s = await agent.call('GET', '/status');
      return s.body.progress === 0.25 ? s.body : undefined;
    });
    assert.equal(running.state, 'running');
    assert.equal(running.message, 'loaded input');
    assert.equal((await agent.call('GET', '/result')).body.error.code, 'NotFinished');

    writeFileSync(join(agent.resultDir, 'go'), '');
    const status = await finished(agent);
    assert.equal(status.state, 'succeeded');
    assert.equal(status.exitCode, 0);
    assert.equal(status.progress, 1);
    assert.ok(typeof status.startedAt === 'string' && typeof status.finishedAt === 'string');
    assert.ok(Date.parse(status.finishedAt) >= Date.parse(status.startedAt));

    const result = await agent.call('GET', '/result');
    assert.equal(result.status, 200);
    assert.equal(result.body.jobId, 'job-1');
    assert.equal(result.body.state, 'succeeded');
    assert.deepEqual(result.body.result, { sum: 6.5, greeting: 'hello', sawToken: false, jobId: 'job-1', exitCode: 0 });
    const names = result.body.artifacts.map((a: { name: string }) => a.name);
    assert.deepEqual(names, ['go', 'report.csv', 'result.json']);
    const csv = result.body.artifacts.find((a: { name: string }) => a.name === 'report.csv');
    assert.equal(csv.contentType, 'text/csv; charset=utf-8');

    const file = await agent.call('GET', '/artifacts/report.csv');
    assert.equal(file.status, 200);
    assert.equal(file.body, 'name,value\nsum,6.5\n');
    assert.equal(Number(file.headers.get('content-length')), csv.bytes);
    for (const bad of ['..%2F..%2Fetc%2Fpasswd', '%2E%2E', '.hidden', 'missing.txt']) {
      const r = await agent.call('GET', `/artifacts/${bad}`);
      assert.equal(r.status, 404, bad);
      assert.equal(r.body.error.code, 'NotFound');
    }

    assert.equal((await agent.call('POST', '/cancel')).body.error.code, 'AlreadyFinished');
    const late = await agent.call('POST', '/start', body);
    assert.equal(late.status, 202, 'a retried start after the end answers with the final state');
    assert.equal(late.body.state, 'succeeded');

    const out = agent.output();
    assert.match(out, /^work: started$/m, "the command's stdout is passed through unprefixed");
    assert.match(out, /^work: a line on stderr$/m, 'and so is its stderr');
    assert.ok(!out.includes(TOKEN), 'the token never appears in the output');
  });
});

describe('agent command mode: exit codes and defaults', () => {
  test('a non-zero exit is a failed job with its exit code; AGENT_COMMAND is the default command', async () => {
    const agent = await startAgentProcess({ host: '127.0.0.22', env: { AGENT_COMMAND: JSON.stringify(WORK) } });
    try {
      const started = await agent.call('POST', '/start', { jobId: 'any-id', input: { values: [2], exitCode: 3 } });
      assert.equal(started.status, 202);
      const other = await agent.call('POST', '/start', { jobId: 'another-id' });
      assert.equal(other.status, 409, 'no JOB_ID set: another jobId is a busy agent');
      assert.equal(other.body.error.code, 'AgentBusy');

      const status = await finished(agent);
      assert.equal(status.state, 'failed');
      assert.equal(status.exitCode, 3);
      assert.deepEqual(status.error, { code: 'CommandFailed', message: 'the command exited with code 3' });
      const result = await agent.call('GET', '/result');
      assert.equal(result.body.result.exitCode, 3);
      assert.equal(result.body.result.sum, 2, 'result.json is still reported for a failed command');
    } finally {
      await agent.stop();
    }
  });

  test('a command that cannot be started fails the job with a clear code', async () => {
    const agent = await startAgentProcess({ host: '127.0.0.23' });
    try {
      const started = await agent.call('POST', '/start', { jobId: 'j', command: ['/nonexistent/program', '--flag'] });
      assert.equal(
        started.status,
        202,
        'command in the request: command mode even though AGENT_MODE defaults to model',
      );
      const status = await finished(agent);
      assert.equal(status.state, 'failed');
      assert.equal((status.error as { code: string }).code, 'CommandSpawnFailed');
    } finally {
      await agent.stop();
    }
  });

  test("an array task's ACI_BATCH_TASK_INDEX and _COUNT reach the tenant's program", async () => {
    const agent = await startAgentProcess({
      host: '127.0.0.24',
      env: { ACI_BATCH_TASK_INDEX: '4', ACI_BATCH_TASK_COUNT: '9' },
    });
    try {
      const write =
        "require('fs').writeFileSync(process.env.RESULT_DIR + '/result.json', JSON.stringify({ index: process.env.ACI_BATCH_TASK_INDEX, count: process.env.ACI_BATCH_TASK_COUNT }))";
      await agent.call('POST', '/start', { jobId: 'j-task', command: ['node', '-e', write] });
      assert.equal((await finished(agent)).state, 'succeeded');
      const result = (await agent.call('GET', '/result')).body.result;
      assert.deepEqual(result, { index: '4', count: '9', exitCode: 0 });
    } finally {
      await agent.stop();
    }
  });
});
