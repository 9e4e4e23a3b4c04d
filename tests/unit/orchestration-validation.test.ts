// Submission validation: every bad field at once with its name; defaults and sizing from the
// tenant; ACI bounds; image references and the allowlist; reserved env; webhook SSRF rule.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  validateSubmission,
  jobIdForIdempotencyKey,
  newJobId,
  canonicalJson,
} from '../../orchestration/src/api/job-request';
import { CodedError } from '../../orchestration/src/errors';
import { parseImageReference, formatImageReference } from '../../orchestration/src/tenants/image-ref';
import { decideSizing } from '../../orchestration/src/tenants/sizing';
import { checkWebhookUrl, isPrivateAddress } from '../../orchestration/src/security/webhook-url';
import { openSecureEnv } from '../../orchestration/src/security/sealed-env';
import { goodInput, LOGIN_SERVER, SIGNING_KEY, tenantsFixture } from '../fixtures/tenants/harness';

const alpha = tenantsFixture().get('alpha')!;
const beta = tenantsFixture().get('beta')!;
const ctx = { acrLoginServer: LOGIN_SERVER, signingKey: SIGNING_KEY, jobId: 'j-aaaaaaaaaaaaaaaaaaaa' };

function problems(body: unknown, tenant = alpha): Map<string, string> {
  try {
    validateSubmission(tenant, body, ctx);
  } catch (e) {
    assert.ok(e instanceof CodedError);
    assert.equal(e.code, 'ValidationFailed');
    assert.equal(e.httpStatus, 400);
    return new Map((e.details ?? []).map((d) => [d.field, d.message]));
  }
  assert.fail('expected a ValidationFailed error');
}

describe('job submission validation', () => {
  test("a minimal body runs the tenant's default image with its defaults", () => {
    const spec = validateSubmission(alpha, { input: goodInput() }, ctx);
    assert.deepEqual(spec.image, {
      repository: 'batch/regime-switching',
      tag: '1.0',
      ref: 'batch/regime-switching:1.0',
    });
    assert.equal(spec.cpu, 1);
    assert.equal(spec.memoryGb, 1);
    assert.equal(spec.onComplete, 'delete');
    assert.equal(spec.onFailure, 'restart');
    assert.equal(spec.maxAttempts, 2);
    assert.equal(spec.timeoutMinutes, 10);
    assert.equal(spec.priority, 'Regular');
    assert.deepEqual(spec.secureEnvNames, []);
    assert.equal(spec.sealedSecureEnv, undefined);
  });

  test('every bad field is reported at once, each named', () => {
    const p = problems({
      image: 'docker.io/library/nginx:latest',
      cpu: 'two',
      memoryGb: 99,
      onComplete: 'explode',
      maxAttempts: 0,
      env: { JOB_TOKEN: 'x', 'bad name': 'y' },
      notify: { webhookUrl: 'http://169.254.169.254/latest/meta-data' },
      extra: true,
    });
    for (const f of ['image', 'cpu', 'memoryGb', 'onComplete', 'maxAttempts', 'env', 'notify.webhookUrl', 'extra'])
      assert.ok(p.has(f), `${f} missing from ${[...p.keys()].join(', ')}`);
    assert.match(p.get('image')!, /registry "docker.io" is not allowed/);
    assert.match(p.get('onComplete')!, /"delete", "stop", "keep"/);
  });

  test('tenant limits and ACI bounds name the limit', () => {
    const p = problems({ cpu: 3, memoryGb: 5, timeoutMinutes: 61, input: goodInput() });
    assert.match(p.get('cpu')!, /exceeds the tenant limit maxCpu 2/);
    assert.match(p.get('memoryGb')!, /exceeds the tenant limit maxMemoryGb 4/);
    assert.match(p.get('timeoutMinutes')!, /maxRuntimeMinutes 60/);
    assert.match(problems({ cpu: 0.25, input: goodInput() }).get('cpu')!, /multiple of 0.1/);
    assert.match(problems({ cpu: 0.05, input: goodInput() }).get('cpu')!, />= 0.1/);
    // ACI's GPU offering was retired on 2025-07-14 (azure-compute-docs, resource and quota limits).
    assert.match(problems({ gpu: { count: 1, sku: 'V100' }, input: goodInput() }).get('gpu')!, /retired on 2025-07-14/);
    assert.match(problems({ priority: 'Spot', input: goodInput() }).get('priority')!, /Spot is not enabled/);
  });

  test('images: allowlist, registry, digest form, login-server prefix', () => {
    assert.match(problems({ image: 'other/repo:1', input: goodInput() }).get('image')!, /not allowed for this tenant/);
    const digest = `sha256:${'a'.repeat(64)}`;
    const spec = validateSubmission(
      alpha,
      { image: `${LOGIN_SERVER}/contoso/custom-model@${digest}`, command: ['node', 'x.js'] },
      ctx,
    );
    assert.deepEqual(spec.image, { repository: 'contoso/custom-model', digest, ref: `contoso/custom-model@${digest}` });
    assert.deepEqual(spec.command, ['node', 'x.js']);
  });

  test("the default model's input is checked at submit", () => {
    assert.equal(problems({}).get('input'), 'is required for the default model: {"y": [numbers…], "k": 2..4}');
    const p = problems({ input: { y: [1, 2, 'x'], k: 9, trend: 'q', nonsense: 1 } });
    for (const f of ['input.y[2]', 'input.k', 'input.trend', 'input.nonsense'])
      assert.ok(p.has(f), `${f} missing from ${[...p.keys()].join(', ')}`);
    assert.match(
      problems({ input: { y: Array.from({ length: 20 }, (_, i) => i % 3), k: 2 } }).get('input.y')!,
      /needs at least 30/,
    );
    assert.match(problems({ input: { y: Array(40).fill(1), k: 2 } }).get('input.y')!, /constant/);
    assert.match(problems({ input: { ...goodInput(), exog: [[1]] } }).get('input.exog')!, /rows but y has 60/);
    // A custom image's input is its own business.
    validateSubmission(alpha, { image: 'contoso/custom-model:1', input: { anything: true } }, ctx);
  });

  test('env: reserved names and duplicates between env and secureEnv; secureEnv is sealed', () => {
    const p = problems({ env: { PORT: '1', A: 'x' }, secureEnv: { A: 'y', CALLBACK_URL: 'z' }, input: goodInput() });
    assert.match(p.get('env.PORT')!, /reserved/);
    assert.match(p.get('secureEnv.CALLBACK_URL')!, /reserved/);
    assert.match(p.get('secureEnv.A')!, /also set in env/);
    const spec = validateSubmission(alpha, { secureEnv: { TOKEN: 'top-secret' }, input: goodInput() }, ctx);
    assert.deepEqual(spec.secureEnvNames, ['TOKEN']);
    assert.ok(spec.sealedSecureEnv && !JSON.stringify(spec).includes('top-secret'));
    assert.deepEqual(openSecureEnv(SIGNING_KEY, spec.sealedSecureEnv, ctx.jobId), { TOKEN: 'top-secret' });
  });

  test("webhook: private targets need the tenant's explicit permission", () => {
    assert.match(
      problems({ notify: { webhookUrl: 'http://localhost:8080/hook' }, input: goodInput() }).get('notify.webhookUrl')!,
      /local name/,
    );
    assert.match(
      problems({ notify: { webhookUrl: 'ftp://example.com/x' }, input: goodInput() }).get('notify.webhookUrl')!,
      /http or https/,
    );
    assert.match(
      problems({ notify: { webhookUrl: 'https://user:pw@example.com/x' }, input: goodInput() }).get(
        'notify.webhookUrl',
      )!,
      /credentials/,
    );
    assert.equal(
      validateSubmission(alpha, { notify: { webhookUrl: 'https://hooks.example.com/x' }, input: goodInput() }, ctx)
        .webhookUrl,
      'https://hooks.example.com/x',
    );
    assert.equal(
      validateSubmission(beta, { notify: { webhookUrl: 'http://127.0.0.1:9/x' }, input: goodInput() }, ctx).webhookUrl,
      'http://127.0.0.1:9/x',
    );
  });

  test('non-object bodies', () => {
    assert.equal(problems([1, 2]).get('(body)'), 'must be a JSON object');
    assert.equal(problems(null).get('(body)'), 'must be a JSON object');
  });
});

describe('image references', () => {
  test('accepted forms', () => {
    assert.deepEqual(parseImageReference('batch/regime-switching:1.0', LOGIN_SERVER), {
      ok: true,
      value: { repository: 'batch/regime-switching', tag: '1.0' },
    });
    assert.deepEqual(parseImageReference('batch/regime-switching', LOGIN_SERVER), {
      ok: true,
      value: { repository: 'batch/regime-switching', tag: 'latest' },
    });
    assert.deepEqual(parseImageReference(`${LOGIN_SERVER}/a/b:2`, LOGIN_SERVER), {
      ok: true,
      value: { repository: 'a/b', tag: '2' },
    });
    assert.deepEqual(parseImageReference('127.0.0.1:8444/a/b:2', '127.0.0.1:8444'), {
      ok: true,
      value: { repository: 'a/b', tag: '2' },
    });
    const d = `sha256:${'0'.repeat(64)}`;
    assert.deepEqual(parseImageReference(`a/b@${d}`, LOGIN_SERVER), {
      ok: true,
      value: { repository: 'a/b', digest: d },
    });
    assert.equal(formatImageReference({ repository: 'a/b', digest: d }), `a/b@${d}`);
  });
  test('rejected forms', () => {
    for (const ref of [
      'ghcr.io/x/y:1',
      'localhost/x:1',
      'evil.azurecr.io/a/b:1',
      'A/B:1',
      'a/b@sha256:xyz',
      'a/b:bad tag',
      '',
      '../x:1',
    ]) {
      assert.equal(parseImageReference(ref, LOGIN_SERVER).ok, false, ref);
    }
  });
});

describe('sizing and SSRF helpers', () => {
  test('decideSizing defaults from the tenant', () => {
    const r = decideSizing(alpha, {});
    assert.deepEqual(r, { sizing: { cpu: 1, memoryGb: 1 }, problems: [] });
    assert.equal(decideSizing(alpha, { cpu: 4.5 }).problems[0]?.field, 'cpu');
  });
  test('private address classification', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      'not-an-ip',
    ])
      assert.equal(isPrivateAddress(a), true, a);
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111']) assert.equal(isPrivateAddress(a), false, a);
    assert.equal(checkWebhookUrl('http://[::1]:80/', false).ok, false);
    assert.equal(checkWebhookUrl('http://10.0.0.1/', true).ok, true);
  });
});

describe('ids', () => {
  test('job ids are j- + 20 base32 chars; idempotency keys map deterministically per tenant', () => {
    assert.match(newJobId(), /^j-[a-z2-7]{20}$/);
    assert.notEqual(newJobId(), newJobId());
    assert.equal(jobIdForIdempotencyKey('alpha', 'k'), jobIdForIdempotencyKey('alpha', 'k'));
    assert.notEqual(jobIdForIdempotencyKey('alpha', 'k'), jobIdForIdempotencyKey('beta', 'k'));
    assert.match(jobIdForIdempotencyKey('alpha', 'k'), /^j-[a-z2-7]{20}$/);
  });
  test('canonical JSON ignores key order', () => {
    assert.equal(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] }), canonicalJson({ a: [1, { c: 3, d: 2 }], b: 1 }));
  });
});
