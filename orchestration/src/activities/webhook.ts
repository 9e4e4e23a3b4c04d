// Webhook delivery with the SSRF rule enforced at send time: every address the host resolves to
// must pass, and the connection is pinned to the checked address (no DNS rebinding in between).
// With a secret, the exact bytes sent are signed (security/webhook-signature.ts).
import axios from 'axios';
import { lookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { checkWebhookUrl, isPrivateAddress } from '../security/webhook-url';
import { SIGNATURE_HEADER, signWebhook } from '../security/webhook-signature';

export type WebhookAnswer =
  { delivered: true; status: number } | { delivered: false; permanent: boolean; reason: string };

export async function postWebhook(
  rawUrl: string,
  body: unknown,
  allowPrivate: boolean,
  timeoutMs = 10_000,
  signing?: { secret: string; now: () => Date },
): Promise<WebhookAnswer> {
  const check = checkWebhookUrl(rawUrl, allowPrivate);
  if (!check.ok) return { delivered: false, permanent: true, reason: check.message };
  const host = check.url.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true });
  } catch (e) {
    return { delivered: false, permanent: false, reason: `cannot resolve ${host}: ${(e as Error).message}` };
  }
  if (!allowPrivate) {
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad)
      return { delivered: false, permanent: true, reason: `${host} resolves to non-public address ${bad.address}` };
  }
  const pinned = addresses[0];
  if (!pinned) return { delivered: false, permanent: false, reason: `${host} has no address` };
  const pin: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all)
      (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  try {
    // Serialized here, once, so the signature covers exactly the bytes on the wire.
    const text = JSON.stringify(body);
    const r = await axios.post(check.url.toString(), text, {
      timeout: timeoutMs,
      maxRedirects: 0,
      proxy: false,
      validateStatus: () => true,
      transformRequest: [(d: unknown) => d],
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'aci-batch-webhook/1',
        ...(signing ? { [SIGNATURE_HEADER]: signWebhook(signing.secret, text, signing.now()) } : {}),
      },
      lookup: pin,
      maxContentLength: 64 * 1024,
    } as Parameters<typeof axios.post>[2]);
    if (r.status >= 200 && r.status < 300) return { delivered: true, status: r.status };
    return {
      delivered: false,
      permanent: r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429,
      reason: `answered ${r.status}`,
    };
  } catch (e) {
    return { delivered: false, permanent: false, reason: (e as Error).message };
  }
}
