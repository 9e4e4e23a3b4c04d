// Least privilege that provably suffices (issue 11 item 3): every stack test already runs the
// controller with exactly the role assignments bicep/main.bicep deploys (local/stack/grants.ts
// compiles them with the real Bicep compiler; the emulator enforces them). Here one action is
// removed from the controller's custom role, and the job fails with a message naming it — so a grant
// the Bicep forgets shows up locally, not after deployment. Without a Bicep compiler there are no
// deployed grants: skipped with the reason (under CI=true the stack itself refuses to start).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { deployedGrantsFile } from '../../local/stack/grants';
import { REPO_ROOT } from '../../local/stack/stack';
import { startTestStack, stopAndCheck, type TestStack } from '../fixtures/stack/harness';

const MISSING = 'Microsoft.ContainerInstance/containerGroups/write';
const grants = deployedGrantsFile(REPO_ROOT);
const skip = grants.file === undefined && process.env.CI !== 'true' ? `no deployed grants: ${grants.why}` : false;
const dir = mkdtempSync(join(tmpdir(), 'aci-batch-rbac-'));
let ts: TestStack | undefined;

after(async () => {
  await stopAndCheck(ts);
  rmSync(dir, { recursive: true, force: true });
});

test(`without ${MISSING} the job fails naming the missing action`, { skip, timeout: 240_000 }, async () => {
  assert.ok(grants.file, `the deployed grants are required: ${grants.file === undefined ? grants.why : ''}`);
  const doc = JSON.parse(readFileSync(grants.file, 'utf8')) as {
    grants: { principal: string; role: string; permissions: { actions: string[] } | null }[];
  };
  const role = doc.grants.find((g) => g.principal === 'controller' && g.permissions?.actions.includes(MISSING));
  assert.ok(role, `the deployed grants give the controller ${MISSING}`);
  role.permissions!.actions = role.permissions!.actions.filter((a) => a !== MISSING);
  const reduced = join(dir, 'grants-without-write.json');
  writeFileSync(reduced, JSON.stringify(doc));

  ts = await startTestStack('rbac', { grants: reduced });
  const { id } = await ts.contoso.submitOk({ image: 'test/sleep:1.0', cpu: 0.5, memoryGb: 0.5 });
  const end = await ts.contoso.waitForEnd(id, 120_000);
  assert.equal(end.state, 'failed', await ts.explain(ts.contoso, id));
  assert.match(end.error?.message ?? '', /AuthorizationFailed/, JSON.stringify(end.error));
  assert.ok(end.error?.message.includes(MISSING), `the message names the action: ${end.error?.message}`);
  assert.equal(end.attempts, 1, 'a missing role is not retried as if it were transient');
});
