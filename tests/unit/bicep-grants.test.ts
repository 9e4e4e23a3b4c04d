// scripts/deployed-grants.ts: the grants the emulator enforces are exactly what the compiled
// bicep/main.bicep assigns (read from the real compiler's ARM JSON, so a role added, removed or narrowed in
// Bicep changes what the local stack allows). Skips without a compiler; fails under CI=true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bicepOrSkip, compileBicep, ROOT, type ArmTemplate } from '../../scripts/bicep-cli';
import { extractGrants, type Grant } from '../../scripts/deployed-grants';

const find = (grants: Grant[], f: Partial<Grant>): Grant[] =>
  grants.filter((g) => Object.entries(f).every(([k, v]) => JSON.stringify(g[k as keyof Grant]) === JSON.stringify(v)));

test('the controller gets the container-group custom role on the jobs resource group, and nothing broader', (t) => {
  if (!bicepOrSkip(t)) return;
  const { grants } = extractGrants(compileBicep('bicep/main.bicep'));
  const [aci] = find(grants, { principal: 'controller', role: 'aci-batch container groups' });
  assert.ok(aci, 'no "aci-batch container groups" grant for the controller');
  assert.equal(aci.roleKind, 'custom');
  assert.deepEqual(aci.scope, { resourceGroup: 'jobs' });
  assert.deepEqual(aci.assignableScopes, [{ resourceGroup: 'jobs' }]);
  assert.deepEqual(
    aci.permissions?.actions,
    [
      'read',
      'write',
      'delete',
      'start/action',
      'stop/action',
      'restart/action',
      'containers/logs/read',
      'operationResults/read',
    ]
      .map((a) => `Microsoft.ContainerInstance/containerGroups/${a}`)
      // The async-operation status URL the SDK polls; ARM checks it at the resource group
      // (MicrosoftDocs/azure-docs async-operations.md, "Permission for tracking async status").
      .concat('Microsoft.ContainerInstance/locations/operations/read'),
  );
  const [join] = find(grants, { principal: 'controller', role: 'aci-batch subnet join' });
  assert.deepEqual(join?.permissions?.actions, ['Microsoft.Network/virtualNetworks/subnets/join/action']);
  assert.deepEqual(join?.scope, { resourceGroup: 'jobs', resourceType: 'Microsoft.Network/virtualNetworks/subnets' });
  assert.equal(join?.deployedWhen, "parameters('enableVnet')");
  for (const g of grants.filter((x) => x.roleKind === 'custom'))
    for (const a of g.permissions!.actions) assert.ok(!a.includes('*'), `${g.role}: wildcard action ${a}`);
});

test('the controller may attach the shared and each tenant job identity, and no other', (t) => {
  if (!bicepOrSkip(t)) return;
  const { grants } = extractGrants(compileBicep('bicep/main.bicep'));
  const mio = find(grants, { role: 'Managed Identity Operator' });
  assert.deepEqual(
    mio.map((g) => [g.principal, g.scope.identity, g.perTenant]),
    [
      ['controller', 'job', false],
      ['controller', 'tenantJob', true],
    ],
  );
  assert.ok(mio[0]!.permissions!.actions.includes('Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action'));
});

test('job identities pull only their repositories: each tenant its own, the shared one what no tenant claims', (t) => {
  if (!bicepOrSkip(t)) return;
  const { grants } = extractGrants(compileBicep('bicep/main.bicep'));
  const pulls = find(grants, {
    scope: { resourceGroup: 'app', resourceType: 'Microsoft.ContainerRegistry/registries' },
  });
  assert.deepEqual(pulls.map((g) => [g.principal, g.role, g.repositories, g.perTenant]).sort(), [
    ['controller', 'Container Registry Repository Reader', null, false],
    ['job', 'Container Registry Repository Reader', 'unclaimed', false],
    ['tenantJob', 'Container Registry Repository Reader', 'tenant', true],
  ]);
  // AcrPull is not honoured once the registry uses ABAC repository permissions.
  assert.deepEqual(find(grants, { role: 'AcrPull' }), []);
  assert.deepEqual([...pulls[0]!.permissions!.dataActions].sort(), [
    'Microsoft.ContainerRegistry/registries/repositories/content/read',
    'Microsoft.ContainerRegistry/registries/repositories/metadata/read',
  ]);
});

test('a role assignment whose principal is not one of the known identities is refused, naming the module', (t) => {
  if (!bicepOrSkip(t)) return;
  const main = JSON.parse(JSON.stringify(compileBicep('bicep/main.bicep'))) as ArmTemplate;
  const registry = (main.resources as unknown as Record<string, { properties: { template: ArmTemplate } }>).registry!;
  const resources = registry.properties.template.resources as unknown as Record<
    string,
    { properties: Record<string, unknown> }
  >;
  resources.controllerReadsTags!.properties.principalId = "[parameters('someoneElse')]";
  assert.throws(
    () => extractGrants(main),
    /module registry: cannot tell whose principal id \[parameters\('someoneElse'\)\]/,
  );
});

test('the script writes the same document to a file', (t) => {
  if (!bicepOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'grants-'));
  try {
    const out = join(dir, 'grants.json');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/deployed-grants.ts', out], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), extractGrants(compileBicep('bicep/main.bicep')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
