// Webhook signatures: each delivery carries `X-AciBatch-Signature: t=<unix seconds>,v1=<hex>` where
// v1 = HMAC-SHA256(secret, "<t>.<raw body>"), so a receiver can check that the controller sent it
// and that it is fresh. The per-tenant secret is derived from CALLBACK_SIGNING_KEY with HKDF
// (RFC 5869) and the tenant id: no second secret to store or rotate, and one tenant's secret tells
// nothing about another's. The tenant reads its own with its key (GET /api/tenants/{t}/webhook-secret).
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-AciBatch-Signature';

/** The tenant's webhook secret: 32 bytes of HKDF-SHA256 (salt fixed, info = the tenant id), hex. */
export function webhookSecret(signingKey: string, tenant: string): string {
  return Buffer.from(hkdfSync('sha256', signingKey, 'aci-batch/webhook/v1', `tenant:${tenant}`, 32)).toString('hex');
}

/** The header value for one delivery of `body` (the exact bytes sent) at `at`. */
export function signWebhook(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex');
  return `t=${t},v1=${v1}`;
}

/**
 * What a receiver does (the README shows the same in a few lines): parse t and v1, recompute, compare
 * in constant time, refuse a t further than toleranceSeconds from now (replays).
 */
export function verifyWebhook(
  secret: string,
  body: string,
  header: string | undefined,
  now: Date,
  toleranceSeconds = 300,
): { ok: true } | { ok: false; reason: string } {
  if (!header) return { ok: false, reason: `no ${SIGNATURE_HEADER} header` };
  const parts = new Map(
    header.split(',').map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/.test(v1)) return { ok: false, reason: 'malformed signature header' };
  if (Math.abs(now.getTime() / 1000 - t) > toleranceSeconds) return { ok: false, reason: 'timestamp out of tolerance' };
  const expected = createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest();
  return timingSafeEqual(expected, Buffer.from(v1, 'hex')) ? { ok: true } : { ok: false, reason: 'signature mismatch' };
}
