// Tenants file: JSON Schema + rules, every problem reported with the field it concerns; the
// example file loads; the committed schema file is the schema the loader uses.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadTenantsFile, parseTenants, TenantsFileError } from '../../orchestration/src/tenants/loader';
import { TENANTS_SCHEMA } from '../../orchestration/src/tenants/schema';
import { hashApiKey } from '../../orchestration/src/tenants/auth';
import { FIXTURES } from '../fixtures/tenants/harness';

const root = join(__dirname, '..', '..');

function problemsOf(fn: () => unknown): { field: string; message: string }[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TenantsFileError, `expected TenantsFileError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail('expected the tenants file to be rejected');
}

describe('tenants file', () => {
  test('tenants.example.json is valid, has contoso and fabrikam with different limits and the demo keys', () => {
    const dir = loadTenantsFile(join(root, 'tenants.example.json'));
    const contoso = dir.get('contoso');
    const fabrikam = dir.get('fabrikam');
    assert.ok(contoso && fabrikam);
    assert.notDeepEqual(contoso.limits, fabrikam.limits);
    assert.equal(contoso.apiKeys[0]?.sha256, hashApiKey('contoso-local-key'));
    assert.equal(fabrikam.apiKeys[0]?.sha256, hashApiKey('fabrikam-local-key'));
    assert.ok(contoso.allowedRepositories.includes('batch/regime-switching'));
    assert.ok(contoso.allowedRepositories.includes('contoso/custom-model'));
    assert.ok(fabrikam.allowedRepositories.includes('batch/regime-switching'));
    const text = readFileSync(join(root, 'tenants.example.json'), 'utf8');
    assert.doesNotMatch(text, /local-key"/, 'only hashes of the demo keys are stored');
    assert.equal((JSON.parse(text) as { $schema: string }).$schema, './orchestration/tenants.schema.json');
  });

  test('orchestration/tenants.schema.json is exactly the schema the loader validates with', () => {
    const file = JSON.parse(readFileSync(join(root, 'orchestration', 'tenants.schema.json'), 'utf8')) as unknown;
    assert.deepEqual(file, JSON.parse(JSON.stringify(TENANTS_SCHEMA)));
  });

  test('schema violations are all reported, each naming its field', () => {
    const problems = problemsOf(() => loadTenantsFile(join(FIXTURES, 'invalid-schema.json')));
    const fields = problems.map((p) => p.field);
    assert.ok(fields.includes('tenants[0].limits.maxCpu'), fields.join(', '));
    assert.ok(fields.includes('tenants[0].costRates'), fields.join(', '));
    assert.ok(fields.includes('tenants[1].id'), fields.join(', '));
    assert.ok(fields.includes('tenants[1].apiKeys[0].sha256'), fields.join(', '));
    assert.ok(fields.includes('tenants[1].surprise'), fields.join(', '));
    assert.equal(problems.find((p) => p.field === 'tenants[0].costRates')?.message, 'is required');
  });

  test('rules beyond the schema: duplicate ids and key hashes, defaults above limits, default image not allowed', () => {
    const problems = problemsOf(() => loadTenantsFile(join(FIXTURES, 'invalid-rules.json')));
    const byField = new Map(problems.map((p) => [p.field, p.message]));
    assert.match(byField.get('tenants[1].id') ?? '', /duplicates tenants\[0\]\.id/);
    assert.match(byField.get('tenants[1].apiKeys[0].sha256') ?? '', /already used/);
    assert.match(byField.get('tenants[0].defaults.cpu') ?? '', /exceeds limits.maxCpu 2/);
    assert.match(byField.get('tenants[0].defaults.image') ?? '', /not in allowedRepositories/);
    assert.match(byField.get('tenants[0].defaults.timeoutMinutes') ?? '', /exceeds limits.maxRuntimeMinutes 60/);
  });

  test('unreadable or non-JSON files fail with the file named', () => {
    const missing = problemsOf(() => loadTenantsFile('/nonexistent/tenants.json'));
    assert.equal(missing[0]?.field, '(file)');
    assert.throws(
      () => parseTenants({ tenants: [] }),
      (e: unknown) => e instanceof TenantsFileError && e.problems[0]?.field === 'tenants',
    );
  });

  test('defaults fill optional fields', () => {
    const doc = JSON.parse(readFileSync(join(FIXTURES, 'valid.json'), 'utf8')) as {
      tenants: Record<string, unknown>[];
    };
    const t = doc.tenants[0] as { defaults: Record<string, unknown>; limits: Record<string, unknown> };
    delete t.defaults.onComplete;
    delete t.defaults.maxAttempts;
    const dir = parseTenants(doc);
    assert.equal(dir.get('alpha')?.defaults.onComplete, 'delete');
    assert.equal(dir.get('alpha')?.defaults.maxAttempts, 1);
    assert.equal(dir.get('beta')?.allowPrivateWebhookTargets, true);
  });

  test('an old file with limits.maxGpu still loads, with a warning that GPUs were retired (issue 11 row 12)', () => {
    const doc = JSON.parse(readFileSync(join(FIXTURES, 'valid.json'), 'utf8')) as {
      tenants: { limits: Record<string, unknown> }[];
    };
    doc.tenants[0]!.limits.maxGpu = 0;
    const dir = parseTenants(doc);
    assert.ok(dir.get('alpha'));
    assert.deepEqual(dir.warnings, [
      "tenants[0].limits.maxGpu is ignored: ACI's GPU offering was retired on 2025-07-14; remove it",
    ]);
    assert.equal('maxGpu' in dir.get('alpha')!.limits, false);
  });
});
