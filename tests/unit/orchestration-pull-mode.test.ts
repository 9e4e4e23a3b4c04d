// Pull mode and Spot (issue 12 item 4), the parts that are pure: the tenants file's network.mode
// and allowSpot, submission of priority "Spot" (a grant per tenant, else a 400 naming the fix), the
// spec's startMode, the reserved agent variables, and the ARM body of a group nothing can call
// (no ipAddress, no ports: ACI refuses Spot with inbound connectivity, error
// SpotPriorityContainerGroupNotSupportedForInboundConnectivity).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { RESERVED_ENV, validateSubmission } from '../../orchestration/src/api/job-request';
import { buildContainerGroup } from '../../orchestration/src/azure/aci';
import { CodedError } from '../../orchestration/src/errors';
import type { GroupSpec } from '../../orchestration/src/ports';
import { parseTenants, TenantsFileError } from '../../orchestration/src/tenants/loader';
import { goodInput, LOGIN_SERVER, SIGNING_KEY, tenantsFixture } from '../fixtures/tenants/harness';

const alpha = tenantsFixture().get('alpha')!;
const ctx = { acrLoginServer: LOGIN_SERVER, signingKey: SIGNING_KEY, jobId: 'j-aaaaaaaaaaaaaaaaaaaa' };
const rawFixture = () =>
  JSON.parse(readFileSync(`${__dirname}/../fixtures/tenants/valid.json`, 'utf8')) as {
    tenants: Record<string, unknown>[];
  };

function fieldProblems(fn: () => unknown): Map<string, string> {
  try {
    fn();
  } catch (e) {
    if (e instanceof TenantsFileError) return new Map(e.problems.map((p) => [p.field, p.message]));
    assert.ok(e instanceof CodedError, String(e));
    assert.equal(e.httpStatus, 400);
    return new Map((e.details ?? []).map((d) => [d.field, d.message]));
  }
  assert.fail('expected a refusal');
}

const spec = (over: Partial<GroupSpec> = {}): GroupSpec => ({
  name: 'acib-a-j-1',
  location: 'westeurope',
  image: 'acr.io/a@sha256:1',
  cpu: 1,
  memoryGb: 2,
  env: { AGENT_START_MODE: 'pull' },
  secureEnv: { JOB_TOKEN: 't' },
  port: 8080,
  registryServer: 'acr.io',
  jobIdentityResourceId:
    '/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/j',
  tags: {},
  ...over,
});

describe('tenants file: network.mode and allowSpot', () => {
  test('both default to push / false, and are read when set', () => {
    const raw = rawFixture();
    assert.equal(parseTenants(raw).get('alpha')?.networkMode, 'push');
    assert.equal(parseTenants(raw).get('alpha')?.allowSpot, false);
    raw.tenants[0] = { ...raw.tenants[0], network: { mode: 'pull' }, allowSpot: true };
    const t = parseTenants(raw).tenants[0]!;
    assert.equal(t.networkMode, 'pull');
    assert.equal(t.allowSpot, true);
  });

  test('a wrong mode or allowSpot is refused naming the field', () => {
    const raw = rawFixture();
    raw.tenants[0] = { ...raw.tenants[0], network: { mode: 'inbound' }, allowSpot: 'yes' };
    const p = fieldProblems(() => parseTenants(raw));
    assert.ok(p.has('tenants[0].network.mode'), [...p.keys()].join(', '));
    assert.ok(p.has('tenants[0].allowSpot'), [...p.keys()].join(', '));
  });
});

describe('submission: Spot and pull mode', () => {
  test('priority Spot is a 400 naming the field and the fix unless the tenant allows it', () => {
    const p = fieldProblems(() => validateSubmission(alpha, { priority: 'Spot', input: goodInput() }, ctx));
    assert.match(p.get('priority') ?? '', /"allowSpot": true/);
    const s = validateSubmission({ ...alpha, allowSpot: true }, { priority: 'Spot', input: goodInput() }, ctx);
    assert.equal(s.priority, 'Spot');
    assert.equal(s.startMode, 'pull', 'a Spot group has no IP: the agent pulls its start');
  });

  test('a pull-mode tenant runs Regular jobs in pull mode; a push tenant in push mode', () => {
    assert.equal(validateSubmission({ ...alpha, networkMode: 'pull' }, { input: goodInput() }, ctx).startMode, 'pull');
    assert.equal(validateSubmission(alpha, { input: goodInput() }, ctx).startMode, undefined);
  });

  test("the agent's start mode and task variables cannot be overridden by env", () => {
    for (const name of ['AGENT_START_MODE', 'ACI_BATCH_TASK_INDEX', 'ACI_BATCH_TASK_COUNT']) {
      assert.ok((RESERVED_ENV as readonly string[]).includes(name), name);
      const p = fieldProblems(() => validateSubmission(alpha, { env: { [name]: '1' }, input: goodInput() }, ctx));
      assert.match(p.get(`env.${name}`) ?? '', /set by the controller/);
    }
  });
});

describe('container group of a pull-mode job', () => {
  test('Spot: priority Spot, no ipAddress, no container ports, no subnet', () => {
    const g = buildContainerGroup(
      spec({ priority: 'Spot', noInbound: true, subnetId: '/subscriptions/s/x/subnets/y' }),
    );
    assert.equal(g.priority, 'Spot');
    assert.equal(g.ipAddress, undefined);
    assert.equal(g.subnetIds, undefined);
    assert.equal(g.containers[0]?.ports, undefined);
    assert.deepEqual(g.containers[0]?.environmentVariables?.[0], { name: 'AGENT_START_MODE', value: 'pull' });
  });

  test('Regular in pull mode: no inbound address, the subnet kept for egress; push keeps its port', () => {
    const pull = buildContainerGroup(spec({ noInbound: true, subnetId: '/subscriptions/s/x/subnets/y' }));
    assert.equal(pull.priority, 'Regular');
    assert.equal(pull.ipAddress, undefined);
    assert.deepEqual(pull.subnetIds, [{ id: '/subscriptions/s/x/subnets/y' }]);
    const push = buildContainerGroup(spec());
    assert.deepEqual(push.ipAddress, { type: 'Public', ports: [{ port: 8080, protocol: 'TCP' }] });
    assert.deepEqual(push.containers[0]?.ports, [{ port: 8080, protocol: 'TCP' }]);
  });
});
