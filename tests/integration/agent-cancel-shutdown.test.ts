// Stopping work: POST /cancel and SIGTERM reach the command's whole process tree (SIGTERM first,
// SIGKILL when ignored), the state ends as canceled, and SIGTERM ends the agent with exit code 0.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURES, startAgentProcess, type AgentProcess } from '../fixtures/agent/agent-process';
import { startCallbackReceiver } from '../fixtures/agent/callback-receiver';
import { isAlive, waitFor } from '../fixtures/agent/wait';

const TREE = ['node', join(FIXTURES, 'tree.mjs')];

async function runningTree(agent: AgentProcess): Promise<{ child: number; grandchild: number }> {
  return waitFor('the command to record its pids', () => {
    try {
      return JSON.parse(readFileSync(join(agent.resultDir, 'pids.json'), 'utf8')) as {
        child: number;
        grandchild: number;
      };
    } catch {
      return undefined;
    }
  });
}

test('cancel stops the whole process tree and ends the job as canceled', async () => {
  const agent = await startAgentProcess({ host: '127.0.0.41', env: { AGENT_MODE: 'command' } });
  try {
    assert.equal((await agent.call('POST', '/start', { jobId: 'job-c', command: TREE })).status, 202);
    const pids = await runningTree(agent);
    assert.ok(isAlive(pids.child) && isAlive(pids.grandchild));

    const cancel = await agent.call('POST', '/cancel');
    assert.equal(cancel.status, 202);
    assert.equal(cancel.body.jobId, 'job-c');
    // The tree may already be gone by now (it stops at once on SIGTERM): then it is AlreadyFinished.
    const again = await agent.call('POST', '/cancel');
    assert.ok(again.status === 202 || again.body.error.code === 'AlreadyFinished', JSON.stringify(again.body));

    const status = await waitFor('the job to be canceled', async () => {
      const s = await agent.call('GET', '/status');
      return s.body.state === 'canceled' ? s.body : undefined;
    });
    assert.equal(status.error.code, 'Canceled');
    assert.equal(status.exitCode, 128 + 15, 'killed by SIGTERM');
    await waitFor('the grandchild to be gone', () => !isAlive(pids.grandchild));
    assert.ok(!isAlive(pids.child));

    const result = await agent.call('GET', '/result');
    assert.equal(result.status, 200);
    assert.equal(result.body.state, 'canceled');
    assert.equal(result.body.result.signal, 'SIGTERM');
    assert.equal((await agent.call('POST', '/cancel')).body.error.code, 'AlreadyFinished');
  } finally {
    await agent.stop();
  }
});

test('a tree that ignores SIGTERM is killed after the grace period', async () => {
  const agent = await startAgentProcess({
    host: '127.0.0.42',
    env: { AGENT_MODE: 'command', AGENT_CANCEL_GRACE_MS: '300' },
  });
  try {
    await agent.call('POST', '/start', { jobId: 'job-k', command: TREE, env: { IGNORE_TERM: '1' } });
    const pids = await runningTree(agent);
    await agent.call('POST', '/cancel');
    const status = await waitFor('the job to be canceled', async () => {
      const s = await agent.call('GET', '/status');
      return s.body.state === 'canceled' ? s.body : undefined;
    });
    assert.equal(status.exitCode, 128 + 9, 'killed by SIGKILL');
    assert.match(agent.output(), /tree: ignoring SIGTERM/, 'SIGTERM was sent first');
    await waitFor('the whole tree to be gone', () => !isAlive(pids.child) && !isAlive(pids.grandchild));
  } finally {
    await agent.stop();
  }
});

test('SIGTERM: the running command is stopped, the final callback says canceled, the agent exits 0', async () => {
  const receiver = await startCallbackReceiver();
  const agent = await startAgentProcess({
    host: '127.0.0.43',
    env: { AGENT_MODE: 'command', CALLBACK_URL: receiver.url },
  });
  try {
    await agent.call('POST', '/start', { jobId: 'job-t', command: TREE });
    const pids = await runningTree(agent);
    agent.proc.kill('SIGTERM');
    const exit = await agent.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    await waitFor('the tree to be gone', () => !isAlive(pids.child) && !isAlive(pids.grandchild));
    const final = receiver.received.find((r) => r.body.type !== 'progress' && r.body.type !== 'ready');
    assert.ok(final, 'the final callback was sent before exiting');
    assert.equal(final.body.type, 'canceled');
    assert.equal(final.body.state, 'canceled');
    assert.deepEqual((final.body.error as { code: string }).code, 'AgentShutdown');
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

test('SIGTERM when idle exits 0 at once, removing the temporary result folder it made', async () => {
  const agent = await startAgentProcess({ host: '127.0.0.44', env: { RESULT_DIR: '' } });
  try {
    const resultDir = agent.logs().find((l) => l.msg === 'listening')?.resultDir as string;
    assert.ok(existsSync(resultDir), 'without RESULT_DIR the agent makes a temporary folder');
    agent.proc.kill('SIGTERM');
    assert.deepEqual(await agent.exited, { code: 0, signal: null });
    assert.ok(agent.logs().some((l) => l.msg === 'stopped'));
    assert.ok(!existsSync(resultDir), 'and removes it when it stops');
  } finally {
    await agent.stop();
  }
});
