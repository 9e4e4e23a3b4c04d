// Settings: one table, validated once; every problem is reported with the setting's name.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig, SETTINGS } from '../../orchestration/src/config';

const minimal = {
  AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000',
  JOBS_RESOURCE_GROUP: 'rg',
  JOB_IDENTITY_RESOURCE_ID:
    '/subscriptions/x/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/jobs',
  AZURE_CLIENT_ID: '11111111-1111-1111-1111-111111111111',
  ACR_LOGIN_SERVER: 'myacr.azurecr.io',
  RESULTS_BLOB_ENDPOINT: 'https://acct.blob.core.windows.net/',
  CALLBACK_BASE_URL: 'https://app.azurewebsites.net',
  CALLBACK_SIGNING_KEY: 'x'.repeat(32),
};

describe('config', () => {
  test('defaults apply and URLs are normalized', () => {
    const c = loadConfig(minimal);
    assert.equal(c.armEndpoint, 'https://management.azure.com');
    assert.equal(c.resultsBlobEndpoint, 'https://acct.blob.core.windows.net');
    assert.equal(
      c.pollIntervalSeconds,
      600,
      'callback-first, liveness watched centrally: the per-job poll is a last resort',
    );
    assert.equal(c.livenessWatchSchedule, '0 * * * * *', 'the liveness watch runs every minute');
    assert.equal(c.maxRequestBytes, 1048576);
    assert.equal(c.historyStepsPerGeneration, 100);
    assert.equal(c.capacityRetryAttempts, 6);
  });

  test('every problem at once, each naming the setting', () => {
    try {
      loadConfig({
        ...minimal,
        AZURE_CLIENT_ID: '',
        CALLBACK_SIGNING_KEY: 'short',
        POLL_INTERVAL_SECONDS: 'often',
        CALLBACK_BASE_URL: 'not a url',
        SWEEPER_SCHEDULE: '*/5 * * * *',
        AGENT_PORT: '80.5',
        LOG_LEVEL: 'loud',
        MAX_REQUEST_BYTES: '10',
      });
      assert.fail('expected ConfigError');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      const names = e.problems.map((p) => p.setting).sort();
      assert.deepEqual(names, [
        'AGENT_PORT',
        'AZURE_CLIENT_ID',
        'CALLBACK_BASE_URL',
        'CALLBACK_SIGNING_KEY',
        'LOG_LEVEL',
        'MAX_REQUEST_BYTES',
        'POLL_INTERVAL_SECONDS',
        'SWEEPER_SCHEDULE',
      ]);
      assert.doesNotMatch(e.message, /short/, 'a bad secret is not echoed');
    }
  });

  test('the table has unique names and a description for each', () => {
    const names = SETTINGS.map((s) => s.name);
    assert.equal(new Set(names).size, names.length);
    for (const s of SETTINGS) assert.ok(s.description.length > 10, s.name);
  });
});
