// API-key authentication: the key is hashed (SHA-256) and compared, in constant time, against
// every stored hash; the tenant comes from the key that matched, never from the URL.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Tenant, TenantDirectory } from './types';

export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** Extracts the key from `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function apiKeyFromHeaders(get: (name: string) => string | null | undefined): string | undefined {
  const auth = get('authorization');
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m?.[1];
  }
  const key = get('x-api-key')?.trim();
  return key ? key : undefined;
}

export interface Authenticated {
  tenant: Tenant;
  keyId: string;
}

/** Returns the tenant whose key this is, or undefined. Visits every key so timing does not reveal which matched. */
export function authenticate(directory: TenantDirectory, key: string | undefined): Authenticated | undefined {
  if (!key || key.length > 512) return undefined;
  const presented = Buffer.from(hashApiKey(key), 'hex');
  let found: Authenticated | undefined;
  for (const tenant of directory.tenants) {
    for (const k of tenant.apiKeys) {
      const stored = Buffer.from(k.sha256, 'hex');
      if (stored.length === presented.length && timingSafeEqual(stored, presented) && !found)
        found = { tenant, keyId: k.id };
    }
  }
  return found;
}
