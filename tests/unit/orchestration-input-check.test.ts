// Checks the resolve step makes before any group is created: the stored input is there (issue 10
// finding 2: after a crash that lost an acknowledged input blob, the job fails at once with
// InputMissing instead of creating and billing a group that cannot start), and the image is allowed
// by the tenant's policy as it was at submit (issue 9 item 3: snapshotted, not re-read).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupActivities } from '../../orchestration/src/activities/group';
import type { ActivityDeps } from '../../orchestration/src/activities/deps';
import { MemoryResults, silentLog, tenantsFixture } from '../fixtures/tenants/harness';

const env = { raise: async () => undefined, jobStatus: async () => undefined };

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

test("a job is judged by its tenant's policy at submit, not by today's tenants file (issue 9 item 3)", async () => {
  const results = new MemoryResults();
  const acts = groupActivities(deps(results, []));
  const policy = { allowedRepositories: ['other/repo'], allowPrivateWebhookTargets: false };
  // The fixture tenant allows batch/regime-switching today, but this job was submitted when it did not.
  const r = await acts.ResolveImage({ tenant: 'alpha', repository: 'batch/regime-switching', tag: '1.0', policy }, env);
  assert.equal(!r.ok && r.error.code, 'ImageNotAllowed');
  const ok = await acts.ResolveImage({ tenant: 'alpha', repository: 'other/repo', tag: '1.0', policy }, env);
  assert.equal(ok.ok, true);
});
