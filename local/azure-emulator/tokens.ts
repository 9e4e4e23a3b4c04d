// Token issuing and checking. Managed-identity tokens are real JWTs (HS256 under a secret kept in
// the data folder) so that ARM, the registry and Azurite can each verify what they need:
// ARM/ACR check signature, audience and lifetime; Azurite (--oauth basic) checks iss/aud/nbf/exp.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ARM_AUDIENCES = ['https://management.azure.com', 'https://management.azure.com/'];
export const ACR_AUDIENCE = 'https://containerregistry.azure.net';
export const STORAGE_AUDIENCE = 'https://storage.azure.com';
export const TOKEN_LIFETIME_SECONDS = 24 * 3600;

export type Claims = Record<string, unknown> & { aud?: string; exp?: number; nbf?: number; iat?: number };

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export function loadSecret(dataDir: string): Buffer {
  const file = join(dataDir, 'token-secret');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  const s = randomBytes(32);
  writeFileSync(file, s.toString('hex'), { mode: 0o600 });
  return s;
}

export function signJwt(claims: Claims, secret: Buffer): string {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'aci-emulator' }));
  const payload = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${sig}`;
}

export type VerifyResult =
  { ok: true; claims: Claims } | { ok: false; reason: 'malformed' | 'signature' | 'expired' | 'audience' };

export function verifyJwt(
  token: string,
  secret: Buffer,
  audiences: readonly string[],
  nowSec = Math.floor(Date.now() / 1000),
): VerifyResult {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [h, p, s] = parts as [string, string, string];
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature' };
  let claims: Claims;
  try {
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Claims;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof claims.exp !== 'number' || claims.exp < nowSec) return { ok: false, reason: 'expired' };
  if (typeof claims.nbf === 'number' && claims.nbf > nowSec + 300) return { ok: false, reason: 'expired' };
  if (!audiences.includes(String(claims.aud))) return { ok: false, reason: 'audience' };
  return { ok: true, claims };
}

/** A GUID-shaped id derived from a string, so identities and principals are stable across runs. */
export function guidFrom(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  // Version-4-looking layout (the variant bits set), purely cosmetic.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
