// API keys: SHA-256 hashes, constant-time comparison, the tenant comes from the key; a key for
// another tenant's path is a 404; the callback token is an HMAC of the job id.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiKeyFromHeaders, authenticate, hashApiKey } from '../../orchestration/src/tenants/auth';
import { authorizeTenant } from '../../orchestration/src/api/http';
import { CodedError } from '../../orchestration/src/errors';
import { callbackToken, verifyCallbackToken } from '../../orchestration/src/security/callback-token';
import { openSecureEnv, sealSecureEnv } from '../../orchestration/src/security/sealed-env';
import { request, tenantsFixture } from '../fixtures/tenants/harness';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof CodedError) return `${e.httpStatus} ${e.code}`;
    throw e;
  }
  return 'no error';
};

describe('API keys', () => {
  test('hash is SHA-256 hex', () => {
    assert.equal(hashApiKey('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  test('keys come from Authorization: Bearer or x-api-key', () => {
    const h = (m: Record<string, string>) => (n: string) => m[n];
    assert.equal(apiKeyFromHeaders(h({ authorization: 'Bearer k1' })), 'k1');
    assert.equal(apiKeyFromHeaders(h({ authorization: 'bearer   k2 ' })), 'k2');
    assert.equal(apiKeyFromHeaders(h({ 'x-api-key': ' k3 ' })), 'k3');
    assert.equal(apiKeyFromHeaders(h({ authorization: 'Basic abc' })), undefined);
    assert.equal(apiKeyFromHeaders(h({})), undefined);
  });

  test("authenticate finds the key's tenant and nothing else", () => {
    const dir = tenantsFixture();
    assert.equal(authenticate(dir, 'alpha-key')?.tenant.id, 'alpha');
    assert.equal(authenticate(dir, 'beta-key')?.tenant.id, 'beta');
    assert.equal(authenticate(dir, 'alpha-key ')?.tenant.id, undefined);
    assert.equal(authenticate(dir, ''), undefined);
    assert.equal(authenticate(dir, undefined), undefined);
    assert.equal(authenticate(dir, 'x'.repeat(10_000)), undefined);
  });

  test("no key → 401; another tenant's path → 404; bad path segment → 404", () => {
    const dir = tenantsFixture();
    assert.equal(
      codeOf(() => authorizeTenant(request({ params: { tenant: 'alpha' } }), dir)),
      '401 Unauthorized',
    );
    assert.equal(
      codeOf(() =>
        authorizeTenant(request({ params: { tenant: 'alpha' }, headers: { authorization: 'Bearer wrong' } }), dir),
      ),
      '401 Unauthorized',
    );
    assert.equal(
      codeOf(() =>
        authorizeTenant(request({ params: { tenant: 'beta' }, headers: { authorization: 'Bearer alpha-key' } }), dir),
      ),
      '404 NotFound',
    );
    assert.equal(
      codeOf(() =>
        authorizeTenant(request({ params: { tenant: 'nosuch' }, headers: { 'x-api-key': 'alpha-key' } }), dir),
      ),
      '404 NotFound',
    );
    assert.equal(
      codeOf(() =>
        authorizeTenant(request({ params: { tenant: '../beta' }, headers: { 'x-api-key': 'alpha-key' } }), dir),
      ),
      '404 NotFound',
    );
    assert.equal(
      authorizeTenant(request({ params: { tenant: 'alpha' }, headers: { 'x-api-key': 'alpha-key' } }), dir).id,
      'alpha',
    );
  });
});

describe('callback tokens', () => {
  const key = 's'.repeat(40);
  test('HMAC of the job id: deterministic, job-specific, key-specific', () => {
    const t = callbackToken(key, 'j-aaaaaaaaaaaaaaaaaaaa');
    assert.equal(t, callbackToken(key, 'j-aaaaaaaaaaaaaaaaaaaa'));
    assert.notEqual(t, callbackToken(key, 'j-bbbbbbbbbbbbbbbbbbbb'));
    assert.notEqual(t, callbackToken('t'.repeat(40), 'j-aaaaaaaaaaaaaaaaaaaa'));
    assert.match(t, /^[A-Za-z0-9_-]{43}$/);
  });
  test('verification accepts only the exact token', () => {
    const t = callbackToken(key, 'j-x');
    assert.equal(verifyCallbackToken(key, 'j-x', t), true);
    assert.equal(verifyCallbackToken(key, 'j-y', t), false);
    assert.equal(verifyCallbackToken(key, 'j-x', t.slice(0, -1)), false);
    assert.equal(verifyCallbackToken(key, 'j-x', `${t}x`), false);
    assert.equal(verifyCallbackToken(key, 'j-x', undefined), false);
    assert.equal(verifyCallbackToken(key, 'j-x', ''), false);
  });
});

describe('sealed secureEnv', () => {
  const key = 's'.repeat(40);
  test('round-trips, hides the values, and is bound to the job id', () => {
    const sealed = sealSecureEnv(key, { DB_PASSWORD: 'hunter2' }, 'j-1');
    assert.doesNotMatch(sealed, /hunter2/);
    assert.deepEqual(openSecureEnv(key, sealed, 'j-1'), { DB_PASSWORD: 'hunter2' });
    assert.throws(() => openSecureEnv(key, sealed, 'j-2'));
    assert.throws(() => openSecureEnv('t'.repeat(40), sealed, 'j-1'));
  });
});
