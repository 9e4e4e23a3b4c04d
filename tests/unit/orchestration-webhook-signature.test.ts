// Webhooks are signed (issue 10 item 9): the NotifyWebhook activity delivers to a loopback receiver
// that verifies X-AciBatch-Signature exactly as the README tells a tenant to (recompute
// HMAC-SHA256(secret, "<t>.<raw body>"), compare in constant time, bound t) with the secret the
// tenant reads from GET /api/tenants/{t}/webhook-secret. A tampered body, another tenant's secret
// and a stale timestamp are refused. The payload's result links are API links, not Blob URLs.
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { handle } from '../../orchestration/src/api/http';
import { createWebhookSecret } from '../../orchestration/src/api/webhook-secret';
import { notifyActivities } from '../../orchestration/src/activities/notify';
import type { ActivityDeps } from '../../orchestration/src/activities/deps';
import type { JobStatus, NotifyRequest } from '../../orchestration/src/contracts';
import { signWebhook, verifyWebhook, webhookSecret } from '../../orchestration/src/security/webhook-signature';
import { auth, request, SIGNING_KEY, silentLog, tenantsFixture } from '../fixtures/tenants/harness';

/** The README's receiver, in full: what a tenant writes. */
function receiverAccepts(secret: string, rawBody: string, header: string | undefined, nowSeconds: number): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m || Math.abs(nowSeconds - Number(m[1])) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${rawBody}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

describe('webhook signatures', () => {
  let server: Server;
  let url: string;
  const received: { body: string; signature: string | undefined; accepted: boolean }[] = [];
  let secret = '';

  before(async () => {
    const tenants = tenantsFixture();
    const answer = await handle(
      silentLog,
      'test',
      createWebhookSecret({ tenants, signingKey: SIGNING_KEY }),
    )(request({ params: { tenant: 'beta' }, headers: auth('beta-key') }));
    secret = (answer.jsonBody as { secret: string }).secret;
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const signature = req.headers['x-acibatch-signature'] as string | undefined;
        const accepted = receiverAccepts(secret, body, signature, Math.floor(Date.now() / 1000));
        received.push({ body, signature, accepted });
        res.writeHead(accepted ? 204 : 401).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('each delivery carries t and v1 over "<t>.<body>", which the receiver verifies with its secret', async () => {
    const tenants = tenantsFixture();
    const notify = notifyActivities({
      tenants,
      signingKey: SIGNING_KEY,
      log: silentLog,
      callbackBaseUrl: 'https://app.example',
      now: () => new Date(),
    } as unknown as ActivityDeps).NotifyWebhook as unknown as (req: NotifyRequest) => Promise<unknown>;
    const jobId = 'j-aaaaaaaaaaaaaaaaaaaa';
    const status = {
      id: jobId,
      tenant: 'beta',
      state: 'succeeded',
      result: { urls: { 'chart.svg': `https://acct.blob.core.windows.net/job-results/beta/${jobId}/chart.svg` } },
    } as unknown as JobStatus;
    const r = await notify({ tenant: 'beta', jobId, webhookUrl: url, status });
    assert.deepEqual(r, { delivered: true });
    const last = received.at(-1)!;
    assert.equal(last.accepted, true);
    assert.match(last.signature ?? '', /^t=\d+,v1=[0-9a-f]{64}$/);
    const payload = JSON.parse(last.body) as { event: string; job: JobStatus };
    assert.equal(payload.event, 'job.finished');
    // The links in the payload are ones the tenant can open (this API), not the controller-only Blob URLs.
    assert.deepEqual(payload.job.result?.urls, {
      'chart.svg': `https://app.example/api/tenants/beta/jobs/${jobId}/artifacts/chart.svg`,
    });
  });

  test('per tenant: another tenant’s secret, a changed body or an old timestamp do not verify', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const body = '{"event":"job.finished"}';
    const header = signWebhook(secret, body, at);
    assert.notEqual(webhookSecret(SIGNING_KEY, 'alpha'), secret);
    assert.deepEqual(verifyWebhook(secret, body, header, at), { ok: true });
    assert.equal(receiverAccepts(secret, body, header, at.getTime() / 1000), true);
    assert.equal(receiverAccepts(webhookSecret(SIGNING_KEY, 'alpha'), body, header, at.getTime() / 1000), false);
    assert.equal(receiverAccepts(secret, body.replace('finished', 'started'), header, at.getTime() / 1000), false);
    assert.equal(receiverAccepts(secret, body, header, at.getTime() / 1000 + 301), false);
    assert.deepEqual(verifyWebhook(secret, body, header, new Date(at.getTime() + 301_000)), {
      ok: false,
      reason: 'timestamp out of tolerance',
    });
  });
});
