// The agent client and webhook delivery against real loopback HTTP servers: the agent contract's
// answers map to the right outcomes; only IP literals are called; the SSRF rule holds at send time.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createAgentClient } from '../../orchestration/src/agent/client';
import { postWebhook } from '../../orchestration/src/activities/webhook';
import { CodedError } from '../../orchestration/src/errors';

let server: Server;
let port = 0;
const seen: { method: string; url: string; auth: string | undefined; body: string }[] = [];
let startAnswer: { status: number; body: unknown } = { status: 202, body: {} };

function handler(req: IncomingMessage, res: ServerResponse): void {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (req.url === '/healthz') return send(200, { ok: true });
    if (req.url === '/start') return send(startAnswer.status, startAnswer.body);
    if (req.url === '/status')
      return send(200, {
        jobId: 'j-1',
        state: 'running',
        progress: 0.25,
        message: 'iter 5',
        startedAt: 'x',
        finishedAt: null,
      });
    if (req.url === '/result') return send(409, { error: { code: 'NotFinished', message: 'running' } });
    if (req.url === '/hook') return send(204, {});
    send(404, {});
  });
}

before(async () => {
  server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((r) => server.close(() => r())));

describe('agent client', () => {
  test('health, start with bearer token, status, result before the end', async () => {
    const agent = createAgentClient({ port, timeoutMs: 2000 });
    assert.equal(await agent.healthy('127.0.0.1'), true);
    startAnswer = { status: 202, body: { accepted: true } };
    assert.deepEqual(await agent.start('127.0.0.1', 'tok', { jobId: 'j-1', input: { k: 2 } }), { ok: true });
    const start = seen.find((s) => s.url === '/start')!;
    assert.equal(start.auth, 'Bearer tok');
    assert.deepEqual(JSON.parse(start.body), { jobId: 'j-1', input: { k: 2 } });
    const st = await agent.status('127.0.0.1', 'tok');
    assert.deepEqual(st, {
      reachable: true,
      state: 'running',
      progress: 0.25,
      message: 'iter 5',
      exitCode: null,
      error: null,
    });
    assert.equal(await agent.result('127.0.0.1', 'tok'), undefined);
  });

  test("the model's 400 becomes InvalidInput with its field details; 409 is AgentBusy", async () => {
    const agent = createAgentClient({ port, timeoutMs: 2000 });
    startAnswer = {
      status: 400,
      body: {
        error: { code: 'InvalidInput', message: 'bad input', details: [{ field: 'input.k', message: 'must be 2..4' }] },
      },
    };
    assert.deepEqual(await agent.start('127.0.0.1', 't', { jobId: 'j-1' }), {
      ok: false,
      code: 'InvalidInput',
      message: 'bad input',
      details: [{ field: 'input.k', message: 'must be 2..4' }],
    });
    startAnswer = { status: 409, body: { error: { code: 'AgentBusy', message: 'busy' } } };
    assert.equal(((await agent.start('127.0.0.1', 't', { jobId: 'j-1' })) as { code: string }).code, 'AgentBusy');
  });

  test('only IP literals; an unreachable agent is reported, not thrown (status) or retryable (start)', async () => {
    const agent = createAgentClient({ port: 1, timeoutMs: 500 });
    await assert.rejects(
      agent.start('evil.example.com', 't', { jobId: 'j' }),
      (e: unknown) => e instanceof CodedError && e.code === 'AgentUnreachable',
    );
    assert.equal((await agent.status('127.0.0.1', 't')).reachable, false);
    await assert.rejects(
      agent.start('127.0.0.1', 't', { jobId: 'j' }),
      (e: unknown) => e instanceof CodedError && e.retryable,
    );
    assert.equal(await agent.healthy('localhost'), false);
  });
});

describe('webhook delivery (SSRF rule at send time)', () => {
  test('loopback is refused unless the tenant allows private targets', async () => {
    const denied = await postWebhook(`http://127.0.0.1:${port}/hook`, { a: 1 }, false);
    assert.deepEqual(denied.delivered, false);
    assert.equal(denied.delivered === false && denied.permanent, true);
    const byName = await postWebhook(`http://localhost:${port}/hook`, { a: 1 }, false);
    assert.equal(byName.delivered, false);
    const before = seen.filter((s) => s.url === '/hook').length;
    assert.equal(before, 0, 'nothing reached the server');
    const allowed = await postWebhook(`http://127.0.0.1:${port}/hook`, { a: 1 }, true);
    assert.deepEqual(allowed, { delivered: true, status: 204 });
    assert.equal(seen.filter((s) => s.url === '/hook').length, 1);
  });

  test('a 4xx is permanent, an unreachable target is not', async () => {
    const notFound = await postWebhook(`http://127.0.0.1:${port}/nothing`, {}, true);
    assert.equal(notFound.delivered === false && notFound.permanent, true);
    const down = await postWebhook('http://127.0.0.1:1/hook', {}, true, 500);
    assert.equal(down.delivered === false && down.permanent, false);
  });
});
