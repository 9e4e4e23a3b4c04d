// The operator key: one key (its SHA-256 in OPERATOR_KEY_HASH, a Key Vault reference in Azure) for
// the /api/admin/* routes. Without the setting those routes do not exist (404). No key → 401; a
// tenant's key → 403 (it is a valid key, just not this one's); the operator key never opens a
// tenant's routes (the tenants file does not hold it).
import { timingSafeEqual } from 'node:crypto';
import { API_ERROR_CODES, CodedError, unauthorized } from '../errors';
import { apiKeyFromHeaders, authenticate, hashApiKey } from '../tenants/auth';
import type { TenantDirectory } from '../tenants/types';
import type { ApiRequest } from './http';

/** Parses OPERATOR_KEY_HASH ('' = the operator API is off); a bad value fails the start naming the setting. */
export function parseOperatorKeyHash(value: string): Buffer | undefined {
  const v = value.trim().toLowerCase();
  if (v === '') return undefined;
  if (!/^[0-9a-f]{64}$/.test(v))
    throw new Error(
      'OPERATOR_KEY_HASH must be the SHA-256 of the operator key as 64 hex digits (printf %s "$KEY" | sha256sum), or empty to turn the operator API off',
    );
  return Buffer.from(v, 'hex');
}

export const operatorApiDisabled = (): CodedError =>
  new CodedError({
    code: API_ERROR_CODES.operatorApiDisabled,
    httpStatus: 404,
    message: 'The operator API is off on this controller: set OPERATOR_KEY_HASH to turn it on.',
  });

export const forbidden = (): CodedError =>
  new CodedError({
    code: API_ERROR_CODES.forbidden,
    httpStatus: 403,
    message: 'This key may not use the operator API.',
  });

export function authorizeOperator(req: ApiRequest, keyHash: Buffer | undefined, tenants: TenantDirectory): void {
  if (!keyHash) throw operatorApiDisabled();
  const key = apiKeyFromHeaders((n) => req.headers.get(n));
  if (!key || key.length > 512) throw unauthorized();
  if (timingSafeEqual(Buffer.from(hashApiKey(key), 'hex'), keyHash)) return;
  if (authenticate(tenants, key)) throw forbidden();
  throw unauthorized();
}
