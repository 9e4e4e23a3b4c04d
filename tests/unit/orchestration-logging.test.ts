// Logs are structured and never carry secrets: secureEnv, tokens, keys, Authorization headers.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../orchestration/src/logging';

test('pino redacts secrets wherever they appear in a log record', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const log = createLogger('info', sink);
  log.info(
    {
      tenant: 'alpha',
      jobId: 'j-1',
      instanceId: 'alpha--j-1',
      secureEnv: { DB: 'hunter2' },
      spec: { secureEnv: { X: 'hunter3' }, sealedSecureEnv: 'v1.abc' },
      token: 'tok-1',
      jobToken: 'tok-2',
      apiKey: 'key-1',
      headers: { authorization: 'Bearer key-2', 'x-api-key': 'key-3' },
      req: { headers: { authorization: 'Bearer key-4' } },
      env: [{ name: 'JOB_TOKEN', secureValue: 'tok-3' }],
    },
    'hello',
  );
  const text = lines.join('');
  for (const secret of [
    'hunter2',
    'hunter3',
    'v1.abc',
    'tok-1',
    'tok-2',
    'tok-3',
    'key-1',
    'key-2',
    'key-3',
    'key-4',
  ]) {
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  }
  const record = JSON.parse(text) as Record<string, unknown>;
  assert.equal(record.tenant, 'alpha');
  assert.equal(record.jobId, 'j-1');
  assert.equal(record.msg, 'hello');
});
