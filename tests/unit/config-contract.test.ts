// The deployment contract: what orchestration/ reads (orchestration/src/config.ts SETTINGS), what
// bicep/ sets and grants, what the README documents and what the top-level Dockerfile packs must agree.
// The Bicep side is read from the ARM JSON the real compiler makes (scripts/bicep-cli.ts): what Azure
// would deploy, not a guess at Bicep syntax. Without a compiler those checks skip (and fail under
// CI=true); tests/unit/bicep-compile.test.ts builds and lints every file. Each failure names the file,
// the setting or resource, and the fix.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SETTINGS } from '../../orchestration/src/config';
import { bicepOrSkip, compileBicep, type ArmResource, type ArmTemplate, type BicepCli } from '../../scripts/bicep-cli';

const ROOT = resolve(__dirname, '..', '..');
const BICEP = join(ROOT, 'bicep');
const MAIN = 'bicep/main.bicep';
const PARAMS = 'bicep/main.bicepparam';

/**
 * Built-in role definitions this deployment may use, each checked by hand against Microsoft's published
 * list (MicrosoftDocs/azure-docs, articles/role-based-access-control/built-in-roles.md, commit
 * 00a583295ba737a5caf885472cb3bca3624e9cde, ms.date 04/09/2026; sections Storage, Containers, Identity,
 * Security, Monitor). Container Registry Repository Reader: built-in-roles/containers.md, commit
 * 0088bfa77543e07f8a41771de8db977ddfc62e1d. Durable Task Data Contributor (the role
 * durable-task-scheduler-identity.md names for Durable Functions apps) is not in the stored list yet: its id
 * is the one Microsoft's templates use (microsoft/azure-skills, durable-task-scheduler/bicep.md). A role id in
 * bicep/ that is not in this table fails the test: verify it there first.
 */
const VERIFIED_BUILT_IN_ROLES: Record<string, string> = {
  'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  'Container Registry Repository Reader': 'b93aa761-3e63-49ed-ac28-beffa264f7ac',
  'Managed Identity Operator': 'f1a07417-d97a-45cb-824c-7a7467783830',
  'Key Vault Secrets User': '4633458b-17de-408a-b874-0445c86b69e6',
  'Monitoring Metrics Publisher': '3913510d-42f4-4e42-8a64-420c390055eb',
  'Durable Task Data Contributor': '0ad04412-c4d5-4796-b79c-f76d14c8d402',
};

/** Built-in roles that must not be assigned, and why (same sources as above). */
const FORBIDDEN_BUILT_IN_ROLES: Record<string, [string, string]> = {
  Owner: ['8e3af657-a8ff-443c-a75c-2fe8c4bcb635', 'broader than least privilege allows'],
  Contributor: ['b24988ac-6180-42a0-ab88-20f7382dd24c', 'broader than least privilege allows'],
  'User Access Administrator': ['18d7d88d-d35e-4fb5-a5c3-7773c20a72d9', 'broader than least privilege allows'],
  'Azure Container Instances Contributor Role': [
    '5d977122-f97e-4b4d-a52f-6b43003ddb4d',
    'broader than least privilege allows',
  ],
  AcrPush: ['8311e382-0749-4cb8-b61a-304f252e45ec', 'broader than least privilege allows'],
  'Key Vault Secrets Officer': ['b86a8fe4-44ce-4948-aee5-eccb2c155cd7', 'broader than least privilege allows'],
  'Storage Account Contributor': ['17d1049b-9a84-46fb-8f53-869881c3d3ab', 'broader than least privilege allows'],
  // MicrosoftDocs/azure-management-docs, container-registry-rbac-abac-repository-permissions.md.
  AcrPull: [
    '7f951dda-4ed3-4680-a7ca-43fe172d538d',
    'not honoured by a registry with ABAC repository permissions: use Container Registry Repository Reader',
  ],
};

/**
 * App settings the Functions host itself reads (not orchestration/). Anything else bicep/ sets that is
 * not in SETTINGS is "set but ignored" and fails the test. FUNCTIONS_WORKER_RUNTIME,
 * FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE and WEBSITE_CONTENT* are deliberately absent:
 * Flex Consumption takes the runtime from functionAppConfig and rejects them.
 */
const RUNTIME_SETTINGS: Record<string, string> = {
  AzureWebJobsStorage__accountName:
    'host storage (task hub, leases, timers) through an identity-based connection: no connection string',
  AzureWebJobsStorage__credential: "'managedidentity' makes that connection use a managed identity",
  AzureWebJobsStorage__clientId: 'which user-assigned identity that connection uses (the controller)',
  APPLICATIONINSIGHTS_CONNECTION_STRING: 'where the host sends telemetry',
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING:
    'Entra ID auth for telemetry, required because the component disables local auth',
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__type:
    "durableBackend 'dts': overrides host.json's Durable storage provider with azureManaged (functions-host-json.md, Override host.json values)",
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName:
    "durableBackend 'dts': the app setting holding the scheduler's connection string",
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING:
    "durableBackend 'dts': the scheduler endpoint and the identity the Durable extension authenticates with",
};

/** Settings Bicep derives from the deployment instead of taking them from `tuning`, and why. */
const DERIVED_SETTINGS: Record<string, string> = {
  ARM_ENDPOINT: "the cloud's Resource Manager (environment().resourceManager)",
  AZURE_SUBSCRIPTION_ID: 'the deployment subscription',
  JOBS_RESOURCE_GROUP: 'the jobs resource group main.bicep creates',
  JOBS_LOCATION: 'the jobsLocation parameter, also the jobs resource group and VNet region',
  JOB_IDENTITY_RESOURCE_ID: 'the job identity main.bicep creates',
  AZURE_CLIENT_ID: 'the controller identity main.bicep creates',
  ACR_LOGIN_SERVER: 'the registry main.bicep creates',
  RESULTS_BLOB_ENDPOINT: "the storage account's blob endpoint",
  RESULTS_CONTAINER: 'the container storage.bicep creates (resultsContainerName)',
  CALLBACK_BASE_URL: "the Function App's host name",
  CALLBACK_SIGNING_KEY: 'a Key Vault reference',
  AGENT_PORT: 'the agentPort parameter, also the port the ACI subnet NSG opens',
};

/** Oldest API version accepted per resource type (current versions as of this deployment). */
const MIN_API_VERSIONS: Record<string, string> = {
  'Microsoft.Web/sites': '2024-04-01',
  'Microsoft.Web/sites/config': '2024-04-01',
  'Microsoft.Web/serverfarms': '2024-04-01',
  'Microsoft.Storage/storageAccounts': '2023-05-01',
  'Microsoft.Storage/storageAccounts/blobServices': '2023-05-01',
  'Microsoft.Storage/storageAccounts/blobServices/containers': '2023-05-01',
  'Microsoft.Authorization/roleAssignments': '2022-04-01',
  'Microsoft.Authorization/roleDefinitions': '2022-04-01',
  // roleAssignmentMode (ABAC repository permissions) is in 2025-11-01.
  'Microsoft.ContainerRegistry/registries': '2025-11-01',
  'Microsoft.DurableTask/schedulers': '2025-11-01',
  'Microsoft.DurableTask/schedulers/taskHubs': '2025-11-01',
  'Microsoft.KeyVault/vaults': '2023-07-01',
  'Microsoft.KeyVault/vaults/secrets': '2023-07-01',
  'Microsoft.ManagedIdentity/userAssignedIdentities': '2023-01-31',
  'Microsoft.Insights/components': '2020-02-02',
  'Microsoft.OperationalInsights/workspaces': '2023-09-01',
  'Microsoft.Network/virtualNetworks': '2024-05-01',
  'Microsoft.Network/virtualNetworks/subnets': '2024-05-01',
  'Microsoft.Network/networkSecurityGroups': '2024-05-01',
  'Microsoft.Network/natGateways': '2024-05-01',
  'Microsoft.Network/publicIPAddresses': '2024-05-01',
  'Microsoft.Resources/resourceGroups': '2024-03-01',
  'Microsoft.Resources/deployments': '2025-04-01',
};

/** Like assert.match / doesNotMatch, without printing a whole file as "actual" on failure. */
function mustMatch(text: string, re: RegExp, message: string): void {
  assert.ok(re.test(text), message);
}
function mustNotMatch(text: string, re: RegExp, message: string): void {
  const m = re.exec(text);
  assert.ok(!m, m ? `${message} (found: ${m[0].trim().slice(0, 120)})` : message);
}

// ---------------------------------------------------------------------------------------------
// Reading the compiled ARM JSON.

/** One Bicep module of main.bicep: its nested deployment. */
interface Module {
  /** The module's deployment name in main.bicep (e.g. 'jobs'). */
  readonly name: string;
  /** Its resource group parameter in main.bicep: appResourceGroupName or jobsResourceGroupName. */
  readonly resourceGroup: string;
  readonly passed: Record<string, { value: unknown }>;
  readonly template: ArmTemplate;
}

/** A resource with its symbolic name where the template has them (languageVersion 2.0). */
interface Res extends ArmResource {
  readonly symbol?: string;
}

function resourcesOf(t: ArmTemplate): Res[] {
  const r = t.resources as unknown;
  return Array.isArray(r)
    ? (r as ArmResource[])
    : Object.entries(r as Record<string, ArmResource>).map(([symbol, x]) => ({ ...x, symbol }));
}

function modulesOf(main: ArmTemplate): Module[] {
  return resourcesOf(main)
    .filter((r) => r.type === 'Microsoft.Resources/deployments')
    .map((r) => {
      const props = r.properties as { parameters: Module['passed']; template: ArmTemplate };
      return {
        name: r.name,
        resourceGroup: /^\[parameters\('(\w+)'\)\]$/.exec(r.resourceGroup ?? '')?.[1] ?? String(r.resourceGroup),
        passed: props.parameters,
        template: props.template,
      };
    });
}

function mod(main: ArmTemplate, name: string): Module {
  const m = modulesOf(main).find((x) => x.name === name);
  assert.ok(m, `${MAIN}: no module named '${name}'`);
  return m;
}

/** The compiled main.bicep, or a skip (a failure under CI=true) without a compiler. */
function armOrSkip(t: TestContext): ArmTemplate | undefined {
  return bicepOrSkip(t) ? compileBicep(MAIN) : undefined;
}

/** `[variables('x')]` → the variable's value; anything else unchanged. */
function resolveVar(t: ArmTemplate, value: unknown): unknown {
  const v = /^\[variables\('(\w+)'\)\]$/.exec(typeof value === 'string' ? value : '');
  return v ? t.variables?.[v[1]!] : value;
}

/** Every string value anywhere in a JSON value (not object keys: those are names). */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) strings(v, out);
  return out;
}

/** The template without its nested module templates, as text (for "is X referenced here" checks). */
function ownText(t: ArmTemplate): string {
  return JSON.stringify(t, (k, v: unknown) => (k === 'template' ? undefined : v));
}

function appSettings(main: ArmTemplate): Record<string, string> {
  const app = mod(main, 'functionApp');
  const config = resourcesOf(app.template).filter(
    (r) => r.type === 'Microsoft.Web/sites/config' && /'appsettings'\)\]$/.test(r.name),
  );
  assert.equal(
    config.length,
    1,
    `bicep/modules/function-app.bicep: expected exactly one Microsoft.Web/sites/config resource named 'appsettings' holding every app setting, found ${config.length}`,
  );
  const props = config[0]!.properties as unknown;
  assert.ok(
    props && typeof props === 'object' && !Array.isArray(props),
    `bicep/modules/function-app.bicep: the appsettings resource needs a literal properties: { NAME: value … } object (compiled: ${JSON.stringify(props).slice(0, 80)}) so the settings contract can be checked`,
  );
  return props as Record<string, string>;
}

/** Every role assignment of every module, with its module. */
function roleAssignments(main: ArmTemplate): { m: Module; r: Res }[] {
  return modulesOf(main).flatMap((m) =>
    resourcesOf(m.template)
      .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
      .map((r) => ({ m, r })),
  );
}

const settingNames: string[] = SETTINGS.map((s) => s.name);

describe('config contract: app settings (orchestration/src/config.ts ↔ bicep/)', () => {
  const APP_MODULE = 'bicep/modules/function-app.bicep';

  test('every setting the code reads is set by the Function App module', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const set = new Set(Object.keys(appSettings(main)));
    const missing = settingNames.filter((n) => !set.has(n));
    assert.deepEqual(
      missing,
      [],
      `${APP_MODULE} does not set ${missing.join(', ')}: add each to the 'appsettings' properties (value from a module param wired in ${MAIN})`,
    );
  });

  test('bicep/ sets nothing the code or the Functions host ignores', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const ignored = Object.keys(appSettings(main)).filter((k) => !settingNames.includes(k) && !(k in RUNTIME_SETTINGS));
    assert.deepEqual(
      ignored,
      [],
      `${APP_MODULE} sets ${ignored.join(', ')} but neither orchestration/src/config.ts SETTINGS nor the Functions host reads it: remove it, or add it to SETTINGS (or, for a host setting, to RUNTIME_SETTINGS in this test with the reason)`,
    );
  });

  // Duplicate keys are a compiler error (BCP025), so only empty values are left to check.
  test('every app setting has a value', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    for (const [k, v] of Object.entries(appSettings(main)))
      assert.ok(
        typeof v === 'string' && v !== '' && v !== "['']",
        `${APP_MODULE}: app setting ${k} is empty: give it a value or drop it so the code's default applies`,
      );
  });

  test('secret settings are Key Vault references resolved with the controller identity', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const settings = appSettings(main);
    const secrets = SETTINGS.filter((s) => s.kind === 'secret');
    assert.ok(secrets.length > 0, 'SETTINGS has no secret setting; this check would check nothing');
    for (const s of secrets) {
      const v = settings[s.name];
      assert.ok(v, `${APP_MODULE}: ${s.name} is not set`);
      assert.match(
        v,
        /^\[format\('@Microsoft\.KeyVault\(SecretUri=\{0\}\)', parameters\('\w+'\)\)\]$/,
        `${APP_MODULE}: ${s.name} must be '@Microsoft.KeyVault(SecretUri=\${…})', never the secret itself; got ${v}`,
      );
    }
    const site = resourcesOf(mod(main, 'functionApp').template).find((r) => r.type === 'Microsoft.Web/sites');
    assert.ok(site, `${APP_MODULE}: no Microsoft.Web/sites resource`);
    const kvIdentity = (site.properties as { keyVaultReferenceIdentity?: string }).keyVaultReferenceIdentity;
    assert.ok(
      kvIdentity,
      `${APP_MODULE}: set properties.keyVaultReferenceIdentity to the controller identity's resource id, or Key Vault references resolve with a system identity the app does not have`,
    );
    const identities = Object.keys(
      (site.identity as { userAssignedIdentities?: Record<string, unknown> }).userAssignedIdentities ?? {},
    );
    const param = /^\[parameters\('(\w+)'\)\]$/.exec(kvIdentity)?.[1];
    assert.ok(
      param && identities.some((i) => i.includes(`parameters('${param}')`)),
      `${APP_MODULE}: keyVaultReferenceIdentity (${kvIdentity}) must be one of the site's user-assigned identities (${identities.join(', ')})`,
    );
  });

  test("tunable settings default to the code's defaults, and every setting's value has a known source", (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const settings = appSettings(main);
    for (const s of SETTINGS as readonly { name: string; default?: string }[]) {
      const value = settings[s.name] ?? '';
      const tunable = /^\[string\(coalesce\(tryGet\(parameters\('tuning'\), '(\w+)'\), '((?:[^']|'')*)'\)\)\]$/.exec(
        value,
      );
      if (tunable) {
        assert.equal(
          tunable[1],
          s.name,
          `${APP_MODULE}: ${s.name} reads tuning.?${tunable[1]}: it must read tuning.?${s.name}`,
        );
        assert.ok(
          s.default !== undefined,
          `${APP_MODULE}: ${s.name} is required by the code, so Bicep must derive it from the deployment, not take it from tuning`,
        );
        const def = tunable[2]!.replace(/''/g, "'");
        assert.equal(
          def,
          s.default,
          `${APP_MODULE}: ${s.name} defaults to '${def}' but orchestration/src/config.ts says '${s.default}': write the code's default`,
        );
      } else {
        assert.ok(
          s.name in DERIVED_SETTINGS,
          `${APP_MODULE}: ${s.name} = ${value}: tunable settings must be string(tuning.?${s.name} ?? '<config.ts default>'); others must be listed in DERIVED_SETTINGS of this test with the reason`,
        );
      }
    }
    for (const [name, paramName] of [
      ['RESULTS_CONTAINER', 'resultsContainerName'],
      ['AGENT_PORT', 'agentPort'],
    ] as const) {
      const def = SETTINGS.find((x) => x.name === name) as { default?: string } | undefined;
      assert.equal(
        String(main.parameters?.[paramName]?.defaultValue),
        def?.default,
        `${MAIN}: param ${paramName} (${name}) must default to the code's default '${def?.default}'`,
      );
    }
  });

  test('the code reads the controller identity the app runs as, and identity-based host storage', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const settings = appSettings(main);
    assert.equal(
      settings.AZURE_CLIENT_ID,
      settings.AzureWebJobsStorage__clientId,
      `${APP_MODULE}: AZURE_CLIENT_ID and AzureWebJobsStorage__clientId must both be the controller identity's client id`,
    );
    assert.equal(
      settings.AzureWebJobsStorage__credential,
      'managedidentity',
      `${APP_MODULE}: AzureWebJobsStorage__credential must be 'managedidentity' (shared keys are disabled)`,
    );
    assert.ok(
      !('AzureWebJobsStorage' in settings),
      `${APP_MODULE}: AzureWebJobsStorage (a connection string) must not be set: use the AzureWebJobsStorage__accountName identity-based form`,
    );
    assert.match(
      settings.CALLBACK_BASE_URL ?? '',
      /^\[format\('https:\/\/\{0\}', reference\(resourceId\('Microsoft\.Web\/sites', parameters\('appName'\)\), '[\d-]+'\)\.defaultHostName\)\]$/,
      `${APP_MODULE}: CALLBACK_BASE_URL must be 'https://\${site.properties.defaultHostName}' so job containers call this app back`,
    );
  });

  test("with durableBackend 'dts' the Durable extension uses the scheduler with the controller identity", (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const settings = appSettings(main);
    const dts = "if(variables('useDts'), ";
    assert.equal(
      settings.AzureFunctionsJobHost__extensions__durableTask__storageProvider__type,
      `[${dts}'azureManaged', null())]`,
      `${APP_MODULE}: with dts, override host.json's storageProvider.type with 'azureManaged' (and leave it out otherwise)`,
    );
    assert.equal(
      settings.AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName,
      `[${dts}'DURABLE_TASK_SCHEDULER_CONNECTION_STRING', null())]`,
      `${APP_MODULE}: with dts, storageProvider.connectionStringName must name DURABLE_TASK_SCHEDULER_CONNECTION_STRING`,
    );
    assert.equal(
      settings.DURABLE_TASK_SCHEDULER_CONNECTION_STRING,
      `[${dts}format('Endpoint={0};Authentication=ManagedIdentity;ClientID={1}', parameters('durableTaskSchedulerEndpoint'), parameters('controllerClientId')), null())]`,
      `${APP_MODULE}: the scheduler connection string must be Endpoint=<scheduler>;Authentication=ManagedIdentity;ClientID=<controller client id>`,
    );
    const app = mod(main, 'functionApp');
    assert.equal(
      app.template.variables?.useDts,
      "[equals(parameters('durableBackend'), 'dts')]",
      `${APP_MODULE}: useDts must be durableBackend == 'dts'`,
    );
    assert.deepEqual(main.parameters?.durableBackend?.allowedValues, ['dts', 'azureStorage']);
    assert.equal(main.parameters?.durableBackend?.defaultValue, 'dts', `${MAIN}: durableBackend defaults to 'dts'`);
    assert.match(
      JSON.stringify(app.passed.durableTaskSchedulerEndpoint),
      /reference\('durable'\)\.outputs\.endpoint\.value/,
      `${MAIN}: the function app's durableTaskSchedulerEndpoint must be the durable module's endpoint output`,
    );
  });

  test("the scheduler's task hub is the one orchestration/host.json names", (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const host = JSON.parse(readFileSync(join(ROOT, 'orchestration/host.json'), 'utf8')) as {
      extensions: { durableTask: { hubName: string; storageProvider?: unknown } };
    };
    const durable = mod(main, 'durable');
    assert.equal(
      resolveVar(main, durable.passed.taskHubName?.value),
      host.extensions.durableTask.hubName,
      `${MAIN}: the task hub must be named like extensions.durableTask.hubName in orchestration/host.json`,
    );
    assert.equal(
      host.extensions.durableTask.storageProvider,
      undefined,
      'orchestration/host.json: leave storageProvider out (Azure Storage); the dts backend sets it through app settings, so one package serves both backends',
    );
    const [assignment] = resourcesOf(durable.template).filter(
      (r) => r.type === 'Microsoft.Authorization/roleAssignments',
    );
    assert.match(
      assignment?.scope ?? '',
      /^\[resourceId\('Microsoft\.DurableTask\/schedulers\/taskHubs'/,
      'bicep/modules/durable.bicep: grant the controller its Durable Task role on the task hub, not the scheduler',
    );
  });
});

describe('config contract: orchestration/ reads settings only through SETTINGS', () => {
  const sources = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((d) =>
      d.isDirectory() ? sources(`${dir}/${d.name}`) : d.name.endsWith('.ts') ? [`${dir}/${d.name}`] : [],
    );
  const files = sources('orchestration/src');

  test('no module but config.ts touches process.env', () => {
    assert.ok(files.includes('orchestration/src/config.ts'), 'orchestration/src/config.ts is missing');
    for (const f of files.filter((x) => x !== 'orchestration/src/config.ts')) {
      mustNotMatch(
        readFileSync(join(ROOT, f), 'utf8'),
        /\bprocess\s*\.\s*env\b|\bprocess\s*\[\s*['"]env['"]\s*\]/,
        `${f} reads process.env directly: add the setting to SETTINGS in orchestration/src/config.ts and read it from the Config, so bicep/ and README.md know about it`,
      );
    }
  });

  test('binding expressions (%NAME%) name settings bicep/ sets', () => {
    for (const f of files) {
      for (const m of readFileSync(join(ROOT, f), 'utf8').matchAll(/['"`]%([A-Za-z_][\w]*)%['"`]/g)) {
        assert.ok(
          settingNames.includes(m[1]!) || m[1]! in RUNTIME_SETTINGS,
          `${f} binds to app setting %${m[1]}%, which is not in SETTINGS: add it there (and so to bicep/ and README.md)`,
        );
      }
    }
  });
});

describe('config contract: README settings table', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- settings:start');
  const end = readme.indexOf('<!-- settings:end -->');

  test('README.md has the generated settings table', () => {
    assert.ok(
      start >= 0 && end > start,
      'README.md: no settings table between <!-- settings:start --> and <!-- settings:end --> : regenerate it from orchestration/src/config.ts SETTINGS (scripts/settings-table.ts --write)',
    );
  });

  test('every setting the code reads is documented in README.md, and no other', () => {
    const table = readme.slice(start, end);
    const rows = [...table.matchAll(/^\|\s*`([A-Za-z_][\w]*)`\s*\|/gm)].map((m) => m[1]!);
    const undocumented = settingNames.filter((n) => !rows.includes(n));
    assert.deepEqual(
      undocumented,
      [],
      `README.md settings table lacks ${undocumented.join(', ')}: regenerate it from orchestration/src/config.ts SETTINGS`,
    );
    const stale = rows.filter((r) => !settingNames.includes(r));
    assert.deepEqual(
      stale,
      [],
      `README.md settings table documents ${stale.join(', ')}, which orchestration/src/config.ts no longer reads: regenerate the table`,
    );
  });
});

describe('bicep: built-in role ids', () => {
  const verifiedIds = new Set(Object.values(VERIFIED_BUILT_IN_ROLES));
  const normalize = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

  /** The built-in role GUID an assignment uses, or undefined for a custom role. */
  function builtInRoleOf(m: Module, r: Res): string | undefined {
    const def = (r.properties as { roleDefinitionId: string }).roleDefinitionId;
    const v = /^\[subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', (variables\('\w+'\))\)\]$/.exec(
      def,
    );
    return v ? String(resolveVar(m.template, `[${v[1]}]`)).toLowerCase() : undefined;
  }

  test('every role id bicep/ holds or assigns is a verified built-in role id, none a forbidden one', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    let count = 0;
    for (const m of modulesOf(main)) {
      const ids = [
        ...Object.values(m.template.variables ?? {}).filter((v): v is string => typeof v === 'string' && GUID.test(v)),
        ...resourcesOf(m.template)
          .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
          .map((r) => builtInRoleOf(m, r))
          .filter((x): x is string => x !== undefined),
      ];
      for (const raw of ids) {
        count++;
        const id = raw.toLowerCase();
        const forbidden = Object.entries(FORBIDDEN_BUILT_IN_ROLES).find(([, [v]]) => v === id);
        assert.ok(!forbidden, `module ${m.name}: ${id} is the built-in role "${forbidden?.[0]}": ${forbidden?.[1][1]}`);
        assert.ok(
          verifiedIds.has(id),
          `module ${m.name}: role id ${id} is not in VERIFIED_BUILT_IN_ROLES of ${__filename}: check it against Microsoft's built-in roles list and add it with its name`,
        );
      }
    }
    assert.ok(
      count >= Object.keys(VERIFIED_BUILT_IN_ROLES).length,
      `bicep/ uses ${count} built-in role ids, fewer than the ${Object.keys(VERIFIED_BUILT_IN_ROLES).length} the permissions model needs`,
    );
  });

  test('each role id variable is named after the role it holds (catches swapped ids)', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    let checked = 0;
    for (const m of modulesOf(main)) {
      for (const [name, value] of Object.entries(m.template.variables ?? {})) {
        const v = /^(\w+)RoleId$/.exec(name);
        if (!v) continue;
        checked++;
        const role = Object.entries(VERIFIED_BUILT_IN_ROLES).find(([, id]) => id === value);
        assert.ok(role, `module ${m.name}: ${name} = '${String(value)}' is not a verified role id`);
        assert.equal(
          normalize(v[1]!),
          normalize(role[0]),
          `module ${m.name}: ${name} holds the id of "${role[0]}": rename the variable or fix the id`,
        );
      }
    }
    assert.ok(checked >= Object.keys(VERIFIED_BUILT_IN_ROLES).length, `only ${checked} role id variables found`);
  });

  test('every built-in role the permissions model needs is assigned', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const assigned = new Set(roleAssignments(main).map(({ m, r }) => builtInRoleOf(m, r)));
    for (const [name, id] of Object.entries(VERIFIED_BUILT_IN_ROLES))
      assert.ok(
        assigned.has(id),
        `bicep/: no assignment of ${name} (${id}); the permissions model in bicep/README.md needs it`,
      );
  });

  test('every role assignment uses a role id variable or a custom role of the same module, for a service principal', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const all = roleAssignments(main);
    for (const { m, r } of all) {
      const props = r.properties as { roleDefinitionId: string; principalType?: string };
      const custom = /^\[resourceId\('Microsoft\.Authorization\/roleDefinitions', (.+)\)\]$/.exec(
        props.roleDefinitionId,
      );
      const customDef = custom
        ? resourcesOf(m.template).find(
            (d) => d.type === 'Microsoft.Authorization/roleDefinitions' && d.name === `[${custom[1]}]`,
          )
        : undefined;
      assert.ok(
        builtInRoleOf(m, r) !== undefined || customDef,
        `module ${m.name}: role assignment ${r.name} has roleDefinitionId ${props.roleDefinitionId}: use subscriptionResourceId('Microsoft.Authorization/roleDefinitions', <name>RoleId) with a verified var, or <customRole>.id`,
      );
      assert.equal(
        props.principalType,
        'ServicePrincipal',
        `module ${m.name}: role assignment ${r.name} must set principalType: 'ServicePrincipal' (managed identities; avoids replication-delay failures)`,
      );
      assert.match(
        r.name,
        /^\[guid\(/,
        `module ${m.name}: role assignment ${r.name} needs a deterministic name: guid(scope, principal, role)`,
      );
      // An assignment without scope applies to the module's resource group: only the custom role made
      // for exactly that resource group may be assigned there.
      assert.ok(
        r.scope !== undefined ||
          (customDef &&
            JSON.stringify((customDef.properties as { assignableScopes: string[] }).assignableScopes) ===
              '["[resourceGroup().id]"]'),
        `module ${m.name}: role assignment ${r.name} needs an explicit scope (the narrowest resource)`,
      );
    }
    assert.ok(
      all.length >= 8,
      `bicep/: only ${all.length} role assignments found; the permissions model has at least 8`,
    );
  });
});

describe('bicep: params, modules and outputs', () => {
  test('every param of every compiled template is used in that template', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    for (const [where, tpl] of [
      [MAIN, main] as const,
      ...modulesOf(main).map((m) => [`module ${m.name}`, m.template] as const),
    ]) {
      const text = ownText(tpl);
      for (const p of Object.keys(tpl.parameters ?? {}))
        assert.ok(text.includes(`parameters('${p}')`), `${where}: param ${p} is never used: use it or remove it`);
    }
  });

  test('main.bicep is subscription-scoped and every module file is deployed by it', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const schema = (main as { $schema?: string }).$schema ?? '';
    mustMatch(
      schema,
      /subscriptionDeploymentTemplate\.json/,
      `${MAIN}: targetScope must be 'subscription' (it creates both resource groups)`,
    );
    const deployed = new Map(
      modulesOf(main).map((m) => [
        m.template.metadata?._generator &&
          (m.template.metadata as { _generator: { templateHash: string } })._generator.templateHash,
        m,
      ]),
    );
    for (const f of readdirSync(join(BICEP, 'modules')).filter((x) => x.endsWith('.bicep'))) {
      const file = `bicep/modules/${f}`;
      const compiled = compileBicep(file) as ArmTemplate & {
        $schema: string;
        metadata: { _generator: { templateHash: string } };
      };
      assert.ok(
        deployed.has(compiled.metadata._generator.templateHash),
        `${file} is not deployed by ${MAIN}: add a module for it or delete it`,
      );
      mustMatch(
        compiled.$schema,
        /\/deploymentTemplate\.json/,
        `${file}: modules are resource-group scoped; give the module a scope in ${MAIN} instead`,
      );
    }
    for (const m of modulesOf(main))
      assert.ok(
        ['appResourceGroupName', 'jobsResourceGroupName'].includes(m.resourceGroup),
        `${MAIN}: module ${m.name} needs scope: appRg or jobsRg (got resource group ${m.resourceGroup})`,
      );
  });

  test("every module's params are declared by the module, and its required params are passed", (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    for (const m of modulesOf(main)) {
      const declared = m.template.parameters ?? {};
      for (const k of Object.keys(m.passed))
        assert.ok(k in declared, `${MAIN}: module ${m.name} passes ${k}, which the module does not declare`);
      for (const [p, d] of Object.entries(declared))
        if (d.defaultValue === undefined)
          assert.ok(p in m.passed, `${MAIN}: module ${m.name} does not pass required param ${p}`);
    }
  });

  test('every module output is used by main.bicep', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const text = ownText(main);
    for (const m of modulesOf(main))
      for (const o of Object.keys(m.template.outputs ?? {}))
        assert.ok(
          new RegExp(`reference\\('${m.name}'\\)\\.outputs\\.${o}\\.value`).test(text) ||
            new RegExp(`'Microsoft\\.Resources/deployments', '${m.name}'\\)[^\\]]*\\)\\.outputs\\.${o}\\.value`).test(
              text,
            ),
          `module ${m.name}: output ${o} is not used by ${MAIN} (${m.name}.outputs.${o}): use it or remove it`,
        );
  });

  test('every output of main.bicep is documented in bicep/README.md', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const readme = readFileSync(join(BICEP, 'README.md'), 'utf8');
    const outs = Object.keys(main.outputs ?? {});
    assert.ok(outs.length > 0, `${MAIN} has no outputs`);
    for (const o of outs)
      assert.ok(
        readme.includes(`\`${o}\``),
        `bicep/README.md does not document the output ${o} of ${MAIN}: add it to the outputs table`,
      );
  });

  test('main.bicepparam compiles against main.bicep, and its secure parameter comes from the environment', (t) => {
    const cli: BicepCli | undefined = bicepOrSkip(t);
    if (!cli) return;
    const sentinel = 'x'.repeat(40) + '-from-the-environment';
    const r = cli.run(['build-params', join(ROOT, PARAMS), '--stdout'], { CALLBACK_SIGNING_KEY: sentinel });
    assert.equal(
      r.status,
      0,
      `${PARAMS} does not build (required parameter missing, or one main.bicep does not declare?):\n${r.stderr}`,
    );
    const out = JSON.parse(r.stdout) as { parametersJson: string; templateJson?: string };
    const given = (JSON.parse(out.parametersJson) as { parameters: Record<string, { value: unknown }> }).parameters;
    const main = compileBicep(MAIN);
    for (const [name, p] of Object.entries(main.parameters ?? {}))
      if (p.type.startsWith('secure') && name in given)
        assert.equal(
          given[name]!.value,
          sentinel,
          `${PARAMS}: secure parameter ${name} must come from readEnvironmentVariable(…) or getSecret(…), never a literal`,
        );
    assert.ok('callbackSigningKey' in given, `${PARAMS}: callbackSigningKey is not given`);
  });

  test('resource types use current API versions', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    for (const [where, tpl] of [
      [MAIN, main] as const,
      ...modulesOf(main).map((m) => [`module ${m.name}`, m.template] as const),
    ]) {
      for (const r of resourcesOf(tpl)) {
        const min = MIN_API_VERSIONS[r.type];
        assert.ok(
          min,
          `${where}: resource ${r.symbol ?? r.name} has type ${r.type}, not in MIN_API_VERSIONS of this test: add its current API version there`,
        );
        assert.ok(
          r.apiVersion.replace(/-preview$/, '') >= min,
          `${where}: ${r.symbol ?? r.name} uses ${r.type}@${r.apiVersion}; use ${min} or newer`,
        );
      }
    }
  });
});

describe('bicep: no secrets, least privilege', () => {
  test('no key, connection string or SAS literal in the compiled templates or parameters', (t) => {
    const cli = bicepOrSkip(t);
    if (!cli) return;
    const main = compileBicep(MAIN);
    const r = cli.run(['build-params', join(ROOT, PARAMS), '--stdout'], { CALLBACK_SIGNING_KEY: 'k'.repeat(40) });
    const params = r.status === 0 ? (JSON.parse(r.stdout) as { parametersJson: string }).parametersJson : '';
    for (const s of [...strings(main), ...strings(params ? JSON.parse(params) : {})]) {
      if (s === 'k'.repeat(40)) continue; // the stand-in for the environment variable above
      // Expressions are not literals; identifiers (symbolic names, copy loop names) have no digits, keys do.
      const literal = s.startsWith('[') || !/\d/.test(s) ? '' : s;
      assert.doesNotMatch(
        s,
        /AccountKey=|SharedAccessSignature=|[?&]sig=|InstrumentationKey=|DefaultEndpointsProtocol=|-----BEGIN/,
        `bicep/: '${s.slice(0, 40)}…' looks like a credential: use a managed identity or a @secure() parameter stored in Key Vault`,
      );
      assert.doesNotMatch(
        literal,
        /^[A-Za-z0-9+/]{32,}={0,2}$/,
        `bicep/: '${literal.slice(0, 12)}…' looks like a key: pass it as a @secure() parameter`,
      );
      mustNotMatch(
        s,
        /\blist(Keys|AccountSas|ServiceSas|Credentials)\s*\(/,
        'bicep/: calls a list*Keys/SAS/credentials function: use identity-based access instead',
      );
    }
  });

  test('secret-looking params are @secure() and no output exposes one', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    let secureCount = 0;
    for (const [where, tpl] of [
      [MAIN, main] as const,
      ...modulesOf(main).map((m) => [`module ${m.name}`, m.template] as const),
    ]) {
      for (const [name, p] of Object.entries(tpl.parameters ?? {})) {
        const secretName = /key|secret|password|token/i.test(name) && !/(Uri|Url|Id|Name)$/.test(name);
        const secure = p.type.startsWith('secure');
        if (secure) secureCount++;
        else assert.ok(!secretName, `${where}: param ${name} looks like a secret: mark it @secure()`);
        if (secure)
          for (const [o, v] of Object.entries(tpl.outputs ?? {}))
            assert.ok(
              !JSON.stringify(v.value).includes(`parameters('${name}')`),
              `${where}: output ${o} exposes secure param ${name}`,
            );
      }
    }
    assert.ok(secureCount >= 1, 'bicep/: no @secure() parameter, yet the callback signing key must be passed as one');
  });

  test('the storage account disables shared keys and public blob access', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const accounts = modulesOf(main).flatMap((m) =>
      resourcesOf(m.template)
        .filter((r) => r.type === 'Microsoft.Storage/storageAccounts' && !r.existing)
        .map((r) => ({ m, r })),
    );
    assert.equal(accounts.length, 1, `bicep/: expected one storage account, found ${accounts.length}`);
    for (const { m, r } of accounts) {
      const p = r.properties as { allowSharedKeyAccess?: boolean; allowBlobPublicAccess?: boolean };
      assert.equal(
        p.allowSharedKeyAccess,
        false,
        `module ${m.name}: storage account must set allowSharedKeyAccess: false (identity-based access only)`,
      );
      assert.equal(
        p.allowBlobPublicAccess,
        false,
        `module ${m.name}: storage account must set allowBlobPublicAccess: false`,
      );
    }
  });

  test('container-group rights are a custom role assignable and assigned only on the jobs resource group', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const jobs = mod(main, 'jobs');
    assert.equal(jobs.resourceGroup, 'jobsResourceGroupName', `${MAIN}: the jobs module must be deployed to jobsRg`);
    for (const m of modulesOf(main)) {
      for (const def of resourcesOf(m.template).filter((r) => r.type === 'Microsoft.Authorization/roleDefinitions')) {
        const perms = (def.properties as { permissions: { actions: unknown }[] }).permissions;
        for (const a of perms.flatMap((p) => resolveVar(m.template, p.actions) as string[])) {
          assert.ok(
            !a.includes('*'),
            `module ${m.name}: custom role action ${a}: wildcard actions are not least privilege: list the actions`,
          );
          if (m.name !== jobs.name)
            assert.ok(
              !a.startsWith('Microsoft.ContainerInstance/'),
              `module ${m.name}: container-instance permissions belong in the jobs module only, scoped to the jobs resource group`,
            );
        }
      }
    }
    const defs = resourcesOf(jobs.template).filter((r) => r.type === 'Microsoft.Authorization/roleDefinitions');
    const aciRole = defs.find((d) =>
      JSON.stringify(
        resolveVar(jobs.template, (d.properties as { permissions: { actions: unknown }[] }).permissions[0]!.actions),
      ).includes('Microsoft.ContainerInstance/'),
    );
    assert.ok(aciRole, 'bicep/modules/jobs.bicep: no custom role definition with container-group actions');
    const aciProps = aciRole.properties as { permissions: { actions: unknown }[]; assignableScopes: string[] };
    const actions = resolveVar(jobs.template, aciProps.permissions[0]!.actions) as string[];
    for (const needed of ['read', 'write', 'delete', 'containers/logs/read'].map(
      (a) => `Microsoft.ContainerInstance/containerGroups/${a}`,
    ))
      assert.ok(
        actions.includes(needed),
        `bicep/modules/jobs.bicep: containerGroupActions lacks ${needed}, which the controller needs`,
      );
    // Besides container-group actions, only the status read of their async operations: the SDK polls
    // .../locations/{region}/operations/{id} after create, delete, start and restart, and ARM checks it at
    // the resource group of the operation's resource (MicrosoftDocs/azure-docs,
    // articles/azure-resource-manager/management/async-operations.md, "Permission for tracking async status").
    const ASYNC_STATUS = 'Microsoft.ContainerInstance/locations/operations/read';
    assert.ok(
      actions.includes(ASYNC_STATUS),
      `bicep/modules/jobs.bicep: containerGroupActions lacks ${ASYNC_STATUS}: every create, delete and restart polls it`,
    );
    for (const a of actions.filter((x) => x !== ASYNC_STATUS))
      assert.match(
        a,
        /^Microsoft\.ContainerInstance\/containerGroups\//,
        `bicep/modules/jobs.bicep: containerGroupActions has ${a}: the container-group role grants container-group actions (and ${ASYNC_STATUS}) only`,
      );
    assert.deepEqual(
      aciProps.assignableScopes,
      ['[resourceGroup().id]'],
      "bicep/modules/jobs.bicep: the container-group role's assignableScopes must be exactly [resourceGroup().id] (the jobs resource group)",
    );
    const assignment = resourcesOf(jobs.template).find(
      (r) =>
        r.type === 'Microsoft.Authorization/roleAssignments' &&
        (r.properties as { roleDefinitionId: string }).roleDefinitionId ===
          `[resourceId('Microsoft.Authorization/roleDefinitions', ${aciRole.name.slice(1, -1)})]`,
    );
    assert.ok(assignment, 'bicep/modules/jobs.bicep: the container-group role is never assigned');
    assert.equal(
      assignment.scope,
      undefined,
      'bicep/modules/jobs.bicep: assign the container-group role at scope: resourceGroup() (the jobs resource group)',
    );
  });

  test('the jobs module is deployed to the resource group the app is told to use', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const jobs = mod(main, 'jobs');
    const app = mod(main, 'functionApp');
    assert.equal(
      app.passed.jobsResourceGroupName?.value,
      `[parameters('${jobs.resourceGroup}')]`,
      `${MAIN}: the function app's jobsResourceGroupName (JOBS_RESOURCE_GROUP) must be the resource group the jobs module (and its container-group role) is deployed to`,
    );
    const top = resourcesOf(main).filter((r) => r.type.startsWith('Microsoft.Authorization/'));
    assert.deepEqual(
      top.map((r) => r.symbol ?? r.name),
      [],
      `${MAIN}: no role definitions or assignments at subscription scope; put them in the module of the resource they grant on`,
    );
  });

  test('with the VNet option, the controller may join the ACI subnet only', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const jobs = mod(main, 'jobs');
    const text = JSON.stringify(jobs.template);
    const join = resourcesOf(jobs.template).find(
      (r) => r.type === 'Microsoft.Authorization/roleAssignments' && r.scope !== undefined,
    );
    assert.ok(
      join,
      'bicep/modules/jobs.bicep: no role assignment letting the controller join job groups to the ACI subnet',
    );
    mustMatch(
      join.scope ?? '',
      /^\[resourceId\('Microsoft\.Network\/virtualNetworks\/subnets', variables\('vnetName'\), variables\('aciSubnetName'\)\)\]$/,
      `bicep/modules/jobs.bicep: the subnet join must be scoped to the ACI subnet resource, not ${join.scope}`,
    );
    mustMatch(
      text,
      /"Microsoft\.Network\/virtualNetworks\/subnets\/join\/action"/,
      'bicep/modules/jobs.bicep: the subnet role must grant Microsoft.Network/virtualNetworks/subnets/join/action',
    );
    mustMatch(
      text,
      /"serviceName":"Microsoft\.ContainerInstance\/containerGroups"/,
      'bicep/modules/jobs.bicep: the ACI subnet must be delegated to Microsoft.ContainerInstance/containerGroups',
    );
    mustMatch(
      text,
      /"serviceName":"Microsoft\.App\/environments"/,
      'bicep/modules/jobs.bicep: the Functions integration subnet must be delegated to Microsoft.App/environments (Flex Consumption)',
    );
  });

  test("each tenant job identity may pull only its repositories, the shared one no tenant's", (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const registry = mod(main, 'registry');
    const reg = resourcesOf(registry.template).find((r) => r.type === 'Microsoft.ContainerRegistry/registries');
    const p = reg?.properties as {
      roleAssignmentMode?: string;
      adminUserEnabled?: boolean;
      anonymousPullEnabled?: boolean;
    };
    assert.equal(
      p.roleAssignmentMode,
      'AbacRepositoryPermissions',
      'bicep/modules/registry.bicep: repository-scoped pulls need roleAssignmentMode AbacRepositoryPermissions',
    );
    assert.equal(p.adminUserEnabled, false);
    assert.equal(p.anonymousPullEnabled, false);
    const pulls = resourcesOf(registry.template).filter((r) => r.type === 'Microsoft.Authorization/roleAssignments');
    const conditionOf = (r: Res): string => (r.properties as { condition?: string }).condition ?? '';
    const tenant = pulls.find((r) => r.copy !== undefined);
    assert.ok(tenant, 'bicep/modules/registry.bicep: no per-tenant pull assignment');
    mustMatch(
      conditionOf(tenant),
      /repositoryTest\(lambdaVariables\('r'\), false\(\)\)/,
      'bicep/modules/registry.bicep: each tenant job identity must be limited to its repositories',
    );
    const shared = pulls.find(
      (r) => (r.properties as { principalId: string }).principalId === "[parameters('jobIdentityPrincipalId')]",
    );
    mustMatch(
      conditionOf(shared!),
      /repositoryTest\(lambdaVariables\('r'\), true\(\)\)/,
      "bicep/modules/registry.bicep: the shared job identity must be excluded from every tenant's repositories",
    );
    // The ABAC condition the Microsoft documentation gives, for the two data actions of the Reader role.
    const fn = JSON.stringify(registry.template);
    mustMatch(
      fn,
      /@Request\[Microsoft\.ContainerRegistry\/registries\/repositories:name\]/,
      'bicep/modules/registry.bicep: the condition must test the requested repository name',
    );
    mustMatch(
      String(registry.template.variables?.readActions),
      /^!\(ActionMatches\{'Microsoft\.ContainerRegistry\/registries\/repositories\/content\/read'\}\) AND !\(ActionMatches\{'Microsoft\.ContainerRegistry\/registries\/repositories\/metadata\/read'\}\)$/,
      'bicep/modules/registry.bicep: the condition must constrain content/read and metadata/read',
    );
  });

  test('the Function App is Flex Consumption on Node 20 with identity-based deployment storage', (t) => {
    const main = armOrSkip(t);
    if (!main) return;
    const app = resourcesOf(mod(main, 'functionApp').template);
    const plan = app.find((r) => r.type === 'Microsoft.Web/serverfarms');
    assert.ok(plan, 'bicep/modules/function-app.bicep: no plan');
    assert.equal(
      (plan.sku as { name?: string }).name,
      'FC1',
      'bicep/modules/function-app.bicep: the plan must be Flex Consumption (sku FC1)',
    );
    const site = app.find((r) => r.type === 'Microsoft.Web/sites')!;
    const cfg = (
      site.properties as {
        functionAppConfig: { runtime: unknown; deployment: { storage: { authentication: { type: string } } } };
      }
    ).functionAppConfig;
    assert.deepEqual(
      cfg.runtime,
      { name: 'node', version: '20' },
      'bicep/modules/function-app.bicep: functionAppConfig.runtime must be node 20 (the Node version orchestration/ is built for)',
    );
    assert.equal(
      cfg.deployment.storage.authentication.type,
      'UserAssignedIdentity',
      'bicep/modules/function-app.bicep: deployment storage must authenticate with the user-assigned identity (shared keys are off)',
    );
  });
});

describe('Dockerfile (Function App image)', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lines = dockerfile
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const froms = lines.filter((l) => /^FROM\s/i.test(l));
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const ignored = (path: string): boolean =>
    ignore.some((p) => {
      const re = new RegExp(
        '^' +
          p
            .replace(/[.+^$()|[\]]/g, '\\$&')
            .replace(/\*\*\//g, '(.*/)?')
            .replace(/\*/g, '[^/]*') +
          '(/.*)?$',
      );
      return re.test(path.replace(/\/$/, ''));
    });

  test('runs on the Azure Functions Node 20 base image with the script root and console logging set', () => {
    assert.equal(
      froms.at(-1)?.split(/\s+/)[1],
      'mcr.microsoft.com/azure-functions/node:4-node20',
      'Dockerfile: the runtime stage must be FROM mcr.microsoft.com/azure-functions/node:4-node20',
    );
    for (const f of froms.slice(0, -1))
      assert.match(f, /^FROM node:20\b/, `Dockerfile: build stages must use node:20 like the runtime, got "${f}"`);
    mustMatch(
      dockerfile,
      /AzureWebJobsScriptRoot=\/home\/site\/wwwroot/,
      'Dockerfile: set ENV AzureWebJobsScriptRoot=/home/site/wwwroot',
    );
    mustMatch(
      dockerfile,
      /AzureFunctionsJobHost__Logging__Console__IsEnabled=true/,
      'Dockerfile: set ENV AzureFunctionsJobHost__Logging__Console__IsEnabled=true',
    );
  });

  test('every file copied from the build context exists and is not excluded by .dockerignore', () => {
    let checked = 0;
    for (const l of lines.filter((x) => /^COPY\s/i.test(x) && !/--from=/.test(x))) {
      const parts = l
        .split(/\s+/)
        .slice(1)
        .filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        if (src.includes('$')) continue; // a build argument (the tenants file), given at build time
        checked++;
        assert.ok(existsSync(join(ROOT, src)), `Dockerfile: COPY ${src}: no such path in the repository`);
        assert.ok(!ignored(src), `.dockerignore excludes ${src}, which the Dockerfile copies`);
      }
    }
    assert.ok(checked >= 6, `Dockerfile: only ${checked} context paths copied`);
    for (const must of ['node_modules', 'orchestration/node_modules', 'orchestration/dist', '.git'])
      assert.ok(ignored(must), `.dockerignore must exclude ${must} (built inside the image, or not part of it)`);
  });

  test("the runtime stage holds the app where package.json's main and TENANTS_FILE point", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'orchestration/package.json'), 'utf8')) as { main: string };
    const tsconfig = readFileSync(join(ROOT, 'orchestration/tsconfig.json'), 'utf8');
    mustMatch(
      tsconfig,
      /"outDir":\s*"dist"/,
      'orchestration/tsconfig.json: outDir is no longer dist; update the Dockerfile COPY --from=build',
    );
    assert.match(pkg.main, /^dist\//, 'orchestration/package.json main is not under dist/; update the Dockerfile');
    const mainSource = join(ROOT, 'orchestration', pkg.main.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
    assert.ok(
      existsSync(mainSource),
      `orchestration/package.json main (${pkg.main}) is built from ${mainSource}, which does not exist: the image and the zip would have no entry point`,
    );
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    mustMatch(
      runtime,
      /^WORKDIR \/home\/site\/wwwroot$/m,
      'Dockerfile: the runtime stage must work in /home/site/wwwroot',
    );
    mustMatch(
      runtime,
      /^COPY --from=build \/src\/orchestration\/dist \.\/dist$/m,
      'Dockerfile: copy the build output to ./dist so package.json main resolves',
    );
    mustMatch(
      runtime,
      /^COPY orchestration\/host\.json orchestration\/package\.json \.\/$/m,
      'Dockerfile: copy orchestration/host.json and package.json to the app root',
    );
    mustMatch(
      runtime,
      /^COPY --from=deps \/src\/node_modules \.\/node_modules$/m,
      'Dockerfile: copy the production node_modules',
    );
    const tenantsDefault = SETTINGS.find((s) => s.name === 'TENANTS_FILE')?.default;
    mustMatch(
      runtime,
      new RegExp(`^COPY \\$\\{TENANTS_FILE\\} \\./${(tenantsDefault ?? '').replace('.', '\\.')}$`, 'm'),
      `Dockerfile: copy the tenants file to ./${tenantsDefault}, where TENANTS_FILE's default points`,
    );
    mustMatch(
      dockerfile,
      /npm ci --omit=dev[^\n]*--workspace orchestration/,
      'Dockerfile: the runtime node_modules must be orchestration/ production dependencies only (npm ci --omit=dev --workspace orchestration)',
    );
  });

  test('bicep/package-app.sh packs the Flex Consumption zip with the same layout as the image', () => {
    const script = readFileSync(join(BICEP, 'package-app.sh'), 'utf8');
    const tenantsDefault = SETTINGS.find((s) => s.name === 'TENANTS_FILE')?.default ?? '';
    mustMatch(
      script,
      /^set -euo pipefail$/m,
      'bicep/package-app.sh: must stop at the first failing step (set -euo pipefail)',
    );
    mustMatch(
      script,
      /cp orchestration\/host\.json orchestration\/package\.json "\$app\/"/,
      'bicep/package-app.sh: put orchestration/host.json and package.json at the package root',
    );
    mustMatch(
      script,
      /cp -R orchestration\/dist "\$app\/dist"/,
      "bicep/package-app.sh: put the build output in dist/ so package.json's main resolves",
    );
    mustMatch(
      script,
      /npm ci --omit=dev[^\n]*--workspace orchestration/,
      'bicep/package-app.sh: ship orchestration/ production dependencies only, from the root lockfile',
    );
    assert.ok(
      script.includes(`"$app/${tenantsDefault}"`),
      `bicep/package-app.sh: copy the tenants file to ${tenantsDefault}, where TENANTS_FILE's default points`,
    );
  });
});
