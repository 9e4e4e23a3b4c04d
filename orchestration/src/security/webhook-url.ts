// SSRF rule for notify.webhookUrl: http(s) only, no credentials in the URL, and the target must not
// be a loopback, private, link-local, CGNAT, multicast or otherwise special address, unless the
// tenant's file entry sets webhooks.allowPrivateTargets. Checked at submit (literal IPs and
// obvious names) and again at send time against every address the name resolves to; the request is
// then pinned to the checked address (no DNS rebinding between check and connect).
import { BlockList, isIP } from 'node:net';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['2001:db8::', 32],
  ['100::', 64],
] as const)
  blocked.addSubnet(net, prefix, 'ipv6');

/** True when the address is one the controller must not call on a tenant's behalf. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1]) return blocked.check(mapped[1], 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return true;
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; message: string };

/** Static checks (no DNS): scheme, credentials, length, literal private IPs, localhost names. */
export function checkWebhookUrl(raw: string, allowPrivate: boolean): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: 'must be an absolute http(s) URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return { ok: false, message: `must use http or https, not ${url.protocol.replace(':', '')}` };
  if (url.username || url.password) return { ok: false, message: 'must not contain credentials' };
  if (raw.length > 2048) return { ok: false, message: 'must be at most 2048 characters' };
  if (allowPrivate) return { ok: true, url };
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal') || host.endsWith('.local')) {
    return { ok: false, message: `host "${host}" is a local name; webhooks may only target public addresses` };
  }
  if (isIP(host) && isPrivateAddress(host))
    return {
      ok: false,
      message: `address ${host} is loopback/private/link-local; webhooks may only target public addresses`,
    };
  return { ok: true, url };
}
