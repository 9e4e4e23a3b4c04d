// RESULT_LINKS=sas: the link shape azure/blob.ts makes from a user delegation key — read-only
// (sp=r), one blob (sr=b), HTTPS only, bounded in time, signed with the delegation key's object id
// (skoid) and no account key. Source: MicrosoftDocs/azure-docs
// articles/storage/blobs/storage-blob-create-user-delegation-sas-javascript.md and the Create a user
// delegation SAS REST reference (fields sp, sr, spr, st, se, skoid, sktid, skt, ske, sks, skv, sig).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { userDelegationSasUrl } from '../../orchestration/src/azure/blob';

test('a user-delegation SAS link is read-only, single-blob, HTTPS-only and expires', () => {
  const key = {
    signedObjectId: '11111111-2222-3333-4444-555555555555',
    signedTenantId: '66666666-7777-8888-9999-000000000000',
    signedStartsOn: new Date('2026-01-01T00:00:00Z'),
    signedExpiresOn: new Date('2026-01-02T00:00:00Z'),
    signedService: 'b',
    signedVersion: '2025-01-05',
    value: Buffer.from('k'.repeat(32)).toString('base64'),
  };
  const url = new URL(
    userDelegationSasUrl('https://acct.blob.core.windows.net/job-results/alpha/j-1/chart.svg', {
      containerName: 'job-results',
      blobName: 'alpha/j-1/chart.svg',
      accountName: 'acct',
      key,
      startsOn: new Date('2026-01-01T10:00:00Z'),
      expiresOn: new Date('2026-01-01T10:15:00Z'),
    }),
  );
  const q = url.searchParams;
  assert.equal(url.pathname, '/job-results/alpha/j-1/chart.svg');
  assert.equal(q.get('sp'), 'r');
  assert.equal(q.get('sr'), 'b');
  assert.equal(q.get('spr'), 'https');
  assert.equal(q.get('st'), '2026-01-01T10:00:00Z');
  assert.equal(q.get('se'), '2026-01-01T10:15:00Z');
  assert.equal(q.get('skoid'), key.signedObjectId);
  assert.equal(q.get('sktid'), key.signedTenantId);
  assert.match(q.get('sig') ?? '', /^[A-Za-z0-9+/]{43}=$/);
  // The signature is an HMAC under the delegation key (not an account key): a different key signs differently.
  const other = userDelegationSasUrl('https://acct.blob.core.windows.net/job-results/alpha/j-1/chart.svg', {
    containerName: 'job-results',
    blobName: 'alpha/j-1/chart.svg',
    accountName: 'acct',
    key: { ...key, value: Buffer.from('x'.repeat(32)).toString('base64') },
    startsOn: new Date('2026-01-01T10:00:00Z'),
    expiresOn: new Date('2026-01-01T10:15:00Z'),
  });
  assert.notEqual(new URL(other).searchParams.get('sig'), q.get('sig'));
});
