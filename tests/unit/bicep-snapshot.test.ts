// What main.bicep deploys for given parameters, evaluated by the Bicep compiler's own `bicep snapshot`
// (the predicted resources with every expression it can resolve offline): per-tenant job identities and
// their ABAC conditions in exactly the documented form, and the two Durable backends. Skips without a
// compiler; fails under CI=true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { bicepOrSkip, ROOT, type BicepCli } from '../../scripts/bicep-cli';

interface Predicted {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly properties?: Record<string, unknown>;
}

const SUBSCRIPTION = '00000000-0000-0000-0000-000000000001';

function snapshot(cli: BicepCli, params: string[]): Predicted[] {
  const dir = mkdtempSync(join(tmpdir(), 'bicep-snapshot-'));
  try {
    const file = join(dir, 'test.bicepparam');
    writeFileSync(
      file,
      [
        `using '${relative(dir, join(ROOT, 'bicep/main.bicep')).split(sep).join('/')}'`,
        "param name = 'acibatch'",
        "param location = 'westeurope'",
        "param callbackSigningKey = readEnvironmentVariable('CALLBACK_SIGNING_KEY')",
        ...params,
      ].join('\n'),
    );
    const r = cli.run(
      ['snapshot', file, '--mode', 'overwrite', '--subscription-id', SUBSCRIPTION, '--location', 'westeurope'],
      { CALLBACK_SIGNING_KEY: 'k'.repeat(40) },
    );
    assert.equal(r.status, 0, `bicep snapshot failed:\n${r.stdout}${r.stderr}`);
    const doc = JSON.parse(readFileSync(join(dir, 'test.snapshot.json'), 'utf8')) as {
      predictedResources: Predicted[];
      diagnostics: unknown[];
    };
    assert.deepEqual(doc.diagnostics, []);
    return doc.predictedResources;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const READ =
  "(!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}) AND !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'}))";
const NAME = '@Request[Microsoft.ContainerRegistry/registries/repositories:name]';
const READER = `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/b93aa761-3e63-49ed-ac28-beffa264f7ac`;
const MIO = `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/f1a07417-d97a-45cb-824c-7a7467783830`;
const IDENTITIES = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-acibatch/providers/Microsoft.ManagedIdentity/userAssignedIdentities`;
const assignments = (rs: Predicted[]): Predicted[] =>
  rs.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments');
const prop = (r: Predicted, k: string): unknown => r.properties?.[k];

test('each tenant gets a job identity that may pull only its repositories; the shared one none of theirs', (t) => {
  const cli = bicepOrSkip(t);
  if (!cli) return;
  const rs = snapshot(cli, [
    "param tenantRepositories = { contoso: ['contoso/'], fabrikam: ['fabrikam/model', 'shared/tools'] }",
  ]);
  const identities = rs.filter((r) => r.type === 'Microsoft.ManagedIdentity/userAssignedIdentities').map((r) => r.name);
  assert.deepEqual(identities.sort(), [
    'id-acibatch-controller',
    'id-acibatch-job',
    'id-acibatch-job-contoso',
    'id-acibatch-job-fabrikam',
  ]);
  const registry = rs.find((r) => r.type === 'Microsoft.ContainerRegistry/registries');
  assert.equal(prop(registry!, 'roleAssignmentMode'), 'AbacRepositoryPermissions');

  const pulls = assignments(rs).filter((r) => prop(r, 'roleDefinitionId') === READER);
  const conditions = Object.fromEntries(
    pulls.map((r) => [String(prop(r, 'description')), prop(r, 'condition') ?? null]),
  );
  // MicrosoftDocs/azure-management-docs, container-registry-rbac-abac-repository-permissions.md: the
  // documented condition, StringStartsWithIgnoreCase for a prefix (with its trailing '/'), exact names otherwise.
  assert.deepEqual(conditions, {
    "ACI pulls tenant contoso's job images with its job identity: its repositories only": `(${READ} OR (${NAME} StringStartsWithIgnoreCase 'contoso/'))`,
    "ACI pulls tenant fabrikam's job images with its job identity: its repositories only": `(${READ} OR (${NAME} StringEqualsIgnoreCase 'fabrikam/model' OR ${NAME} StringEqualsIgnoreCase 'shared/tools'))`,
    'ACI pulls job images of tenants without their own job identity: no repository a tenant claims': `(${READ} OR (${NAME} StringNotStartsWithIgnoreCase 'contoso/' AND ${NAME} StringNotEqualsIgnoreCase 'fabrikam/model' AND ${NAME} StringNotEqualsIgnoreCase 'shared/tools'))`,
    'aci-batch controller resolves image tags to digests (every repository, read only)': null,
  });
  for (const r of pulls.filter((x) => prop(x, 'condition'))) assert.equal(prop(r, 'conditionVersion'), '2.0');

  // The controller may attach each job identity (and only those: one assignment each, on the identity).
  const attach = assignments(rs).filter((r) => prop(r, 'roleDefinitionId') === MIO);
  assert.deepEqual(
    attach.map((r) => r.id.split('/providers/Microsoft.Authorization/')[0]).sort(),
    ['id-acibatch-job', 'id-acibatch-job-contoso', 'id-acibatch-job-fabrikam'].map((n) => `${IDENTITIES}/${n}`),
  );
  // No AcrPull anywhere: an ABAC registry does not honour it.
  assert.ok(
    !assignments(rs).some((r) => String(prop(r, 'roleDefinitionId')).endsWith('7f951dda-4ed3-4680-a7ca-43fe172d538d')),
  );
});

test('without tenants of their own, the shared job identity may pull every repository', (t) => {
  const cli = bicepOrSkip(t);
  if (!cli) return;
  const rs = snapshot(cli, []);
  const shared = assignments(rs).find((r) =>
    String(prop(r, 'description')).startsWith('ACI pulls job images of tenants without'),
  );
  assert.ok(shared);
  assert.equal(prop(shared, 'condition') ?? null, null);
  assert.equal(rs.filter((r) => r.type === 'Microsoft.ManagedIdentity/userAssignedIdentities').length, 2);
});

test("durableBackend 'dts' (the default) deploys the scheduler and task hub, and points the app at them", (t) => {
  const cli = bicepOrSkip(t);
  if (!cli) return;
  const rs = snapshot(cli, []);
  const scheduler = rs.find((r) => r.type === 'Microsoft.DurableTask/schedulers');
  assert.ok(scheduler, 'no Durable Task Scheduler');
  assert.deepEqual(prop(scheduler, 'sku'), { name: 'Consumption' });
  const hub = rs.find((r) => r.type === 'Microsoft.DurableTask/schedulers/taskHubs');
  const host = JSON.parse(readFileSync(join(ROOT, 'orchestration/host.json'), 'utf8')) as {
    extensions: { durableTask: { hubName: string } };
  };
  assert.equal(hub?.name, `${scheduler.name}/${host.extensions.durableTask.hubName}`);
  const dtsRole = assignments(rs).find((r) =>
    String(prop(r, 'roleDefinitionId')).endsWith('/0ad04412-c4d5-4796-b79c-f76d14c8d402'),
  );
  // Its name needs the identity's principal id (known at deployment only), so the id stays an expression.
  assert.ok(
    dtsRole?.id.includes(`extensionResourceId('${hub!.id}', 'Microsoft.Authorization/roleAssignments'`),
    `Durable Task Data Contributor must be assigned on the task hub, got ${dtsRole?.id}`,
  );
  const settings = rs.find((r) => r.type === 'Microsoft.Web/sites/config')!.properties!;
  assert.equal(settings.AzureFunctionsJobHost__extensions__durableTask__storageProvider__type, 'azureManaged');
  assert.equal(
    settings.AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName,
    'DURABLE_TASK_SCHEDULER_CONNECTION_STRING',
  );
  assert.match(
    String(settings.DURABLE_TASK_SCHEDULER_CONNECTION_STRING),
    /^\[format\('Endpoint=\{0\};Authentication=ManagedIdentity;ClientID=\{1\}'/,
  );
});

test("durableBackend 'azureStorage' deploys no scheduler and leaves host.json's storage provider alone", (t) => {
  const cli = bicepOrSkip(t);
  if (!cli) return;
  const rs = snapshot(cli, ["param durableBackend = 'azureStorage'"]);
  assert.deepEqual(
    rs.filter((r) => r.type.startsWith('Microsoft.DurableTask/')),
    [],
  );
  assert.ok(
    !assignments(rs).some((r) => String(prop(r, 'roleDefinitionId')).endsWith('/0ad04412-c4d5-4796-b79c-f76d14c8d402')),
  );
  const settings = rs.find((r) => r.type === 'Microsoft.Web/sites/config')!.properties!;
  // null: "Resource Manager templates treat it as if the property isn't present" (template-expressions.md).
  for (const k of [
    'AzureFunctionsJobHost__extensions__durableTask__storageProvider__type',
    'AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName',
    'DURABLE_TASK_SCHEDULER_CONNECTION_STRING',
  ])
    assert.equal(settings[k] ?? null, null, `${k} must be left out with azureStorage`);
  assert.equal(settings.AzureWebJobsStorage__credential, 'managedidentity');
});
