// A job's stored input is confirmed before any group is created (issue 10 finding 2): after a crash
// that lost an acknowledged input blob, the job fails at once with InputMissing instead of creating
// (and billing) a container group that then cannot start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupActivities } from '../../orchestration/src/activities/group';
import type { ActivityDeps } from '../../orchestration/src/activities/deps';
import { MemoryResults, silentLog, tenantsFixture } from '../fixtures/tenants/harness';

const env = { raise: async () => undefined };

function deps(results: MemoryResults, resolved: string[]): ActivityDeps {
  return {
    results,
    tenants: tenantsFixture(),
    log: silentLog,
    images: {
      resolve: async (repo: string) => {
        resolved.push(repo);
        return `sha256:${'a'.repeat(64)}`;
      },
    },
  } as unknown as ActivityDeps;
}

test('ResolveImage fails with InputMissing when the stored input is gone, before asking the registry', async () => {
  const results = new MemoryResults();
  const resolved: string[] = [];
  const acts = groupActivities(deps(results, resolved));
  const req = { tenant: 'alpha', repository: 'batch/regime-switching', tag: '1.0', inputBlob: 'alpha/j-1/input.json' };
  const missing = await acts.ResolveImage(req, env);
  assert.equal(missing.ok, false);
  assert.equal(!missing.ok && missing.error.code, 'InputMissing');
  assert.deepEqual(resolved, [], 'the registry was not even asked');
  await results.put('alpha/j-1/input.json', '{"y":[1]}', 'application/json');
  const present = await acts.ResolveImage(req, env);
  assert.equal(present.ok, true);
  assert.equal(present.ok && present.value.imageRef, `batch/regime-switching@sha256:${'a'.repeat(64)}`);
});
