// The deployment contract: what orchestration/ reads (orchestration/src/config.ts SETTINGS), what
// bicep/ sets and grants, what the README documents and what the top-level Dockerfile packs must agree.
// There is no Bicep compiler here, so the Bicep files are read structurally: comments and string
// contents are masked (keeping `${…}` interpolations), then objects are walked by brace matching.
// Each failure names the file, the setting or resource, and the fix.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { SETTINGS } from '../../orchestration/src/config';

const ROOT = resolve(__dirname, '..', '..');
const BICEP = join(ROOT, 'bicep');
const MAIN = 'bicep/main.bicep';
const APP_MODULE = 'bicep/modules/function-app.bicep';
const JOBS_MODULE = 'bicep/modules/jobs.bicep';
const PARAMS = 'bicep/main.bicepparam';

/**
 * Built-in role definitions this deployment may use, each checked by hand against Microsoft's published
 * list (MicrosoftDocs/azure-docs, articles/role-based-access-control/built-in-roles.md, commit
 * 00a583295ba737a5caf885472cb3bca3624e9cde, ms.date 04/09/2026; sections Storage, Containers, Identity,
 * Security, Monitor). A role id in bicep/ that is not in this table fails the test: verify it there first.
 */
const VERIFIED_BUILT_IN_ROLES: Record<string, string> = {
  'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  AcrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d',
  'Managed Identity Operator': 'f1a07417-d97a-45cb-824c-7a7467783830',
  'Key Vault Secrets User': '4633458b-17de-408a-b874-0445c86b69e6',
  'Monitoring Metrics Publisher': '3913510d-42f4-4e42-8a64-420c390055eb',
};

/** Broad built-in roles that would break least privilege (same source as above). */
const FORBIDDEN_BUILT_IN_ROLES: Record<string, string> = {
  Owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  Contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  'User Access Administrator': '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
  'Azure Container Instances Contributor Role': '5d977122-f97e-4b4d-a52f-6b43003ddb4d',
  AcrPush: '8311e382-0749-4cb8-b61a-304f252e45ec',
  'Key Vault Secrets Officer': 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  'Storage Account Contributor': '17d1049b-9a84-46fb-8f53-869881c3d3ab',
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
  'Microsoft.ContainerRegistry/registries': '2023-07-01',
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
// A small structural reader for Bicep.

interface BicepFile {
  /** Path relative to the repository root, for messages. */
  readonly file: string;
  /** Comments blanked; strings intact. Same length as the source. */
  readonly text: string;
  /** Comments and string contents blanked, `${…}` expressions kept. Same length as the source. */
  readonly code: string;
}

function readBicep(file: string): BicepFile {
  const src = readFileSync(join(ROOT, file), 'utf8');
  const text = src.split('');
  const code = src.split('');
  type Mode = { kind: 'code' } | { kind: 'string'; multi: boolean } | { kind: 'interp'; depth: number };
  const stack: Mode[] = [{ kind: 'code' }];
  const blank = (i: number, alsoText: boolean): void => {
    if (src[i] === '\n') return;
    code[i] = ' ';
    if (alsoText) text[i] = ' ';
  };
  let i = 0;
  while (i < src.length) {
    const top = stack[stack.length - 1]!;
    const c = src[i];
    const next = src[i + 1];
    if (top.kind === 'string') {
      if (top.multi) {
        if (src.startsWith("'''", i)) {
          stack.pop();
          i += 3;
          continue;
        }
        blank(i++, false);
        continue;
      }
      if (c === '\\') {
        blank(i, false);
        blank(i + 1, false);
        i += 2;
        continue;
      }
      if (c === "'") {
        stack.pop();
        i++;
        continue;
      }
      if (c === '$' && next === '{') {
        blank(i, false);
        blank(i + 1, false);
        stack.push({ kind: 'interp', depth: 0 });
        i += 2;
        continue;
      }
      blank(i++, false);
      continue;
    }
    if (c === '/' && next === '/') {
      while (i < src.length && src[i] !== '\n') blank(i++, true);
      continue;
    }
    if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      while (i < stop) blank(i++, true);
      continue;
    }
    if (src.startsWith("'''", i)) {
      stack.push({ kind: 'string', multi: true });
      i += 3;
      continue;
    }
    if (c === "'") {
      stack.push({ kind: 'string', multi: false });
      i++;
      continue;
    }
    if (top.kind === 'interp') {
      if (c === '{') top.depth++;
      else if (c === '}') {
        if (top.depth === 0) {
          blank(i++, false);
          stack.pop();
          continue;
        }
        top.depth--;
      }
    }
    i++;
  }
  return { file, text: text.join(''), code: code.join('') };
}

const PAIRS: Record<string, string> = { '{': '}', '[': ']', '(': ')' };

/** Index of the bracket closing the one at `open`, or -1 if unbalanced. */
function closing(code: string, open: number): number {
  const stack: string[] = [];
  for (let i = open; i < code.length; i++) {
    const c = code[i]!;
    if (c in PAIRS) stack.push(PAIRS[c]!);
    else if (c === '}' || c === ']' || c === ')') {
      if (stack.pop() !== c) return -1;
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

interface Entry {
  readonly key: string;
  /** Index of the first character of the value. */
  readonly at: number;
  /** The value's text up to the end of its line (or its whole bracketed block). */
  readonly value: string;
}

/** Top-level keys of the object literal whose `{` is at `open`. */
function objectEntries(b: BicepFile, open: number): Entry[] {
  const close = closing(b.code, open);
  assert.ok(close > open, `${b.file}: unbalanced braces in the object at offset ${open}`);
  const entries: Entry[] = [];
  let depth = 0;
  let lastSignificant = '{';
  for (let i = open + 1; i < close; i++) {
    const c = b.code[i]!;
    if (depth === 0 && /[A-Za-z_]/.test(c) && /[{,\n]/.test(lastSignificant)) {
      const m = /^([A-Za-z_]\w*)\s*:/.exec(b.code.slice(i, i + 200));
      if (m) {
        let at = i + m[0].length;
        while (b.code[at] === ' ') at++;
        const first = b.code[at]!;
        const end = first in PAIRS ? closing(b.code, at) + 1 : b.text.indexOf('\n', at);
        entries.push({ key: m[1]!, at, value: b.text.slice(at, end).trim() });
      }
    }
    if (c in PAIRS) depth++;
    else if (c === '}' || c === ']' || c === ')') depth--;
    if (c === '\n' || c.trim() !== '') lastSignificant = c;
  }
  return entries;
}

function entry(b: BicepFile, open: number, key: string): Entry | undefined {
  return objectEntries(b, open).find((e) => e.key === key);
}

interface Declaration {
  readonly kind: 'resource' | 'module';
  readonly symbol: string;
  /** Resource type (without API version) or module path. */
  readonly target: string;
  readonly apiVersion: string;
  readonly existing: boolean;
  /** Index of the body's `{`. */
  readonly open: number;
}

function declarations(b: BicepFile): Declaration[] {
  const out: Declaration[] = [];
  const re = /^[ \t]*(resource|module)\s+(\w+)\s+'([^']+)'\s*(existing\s*)?=\s*(?:if\s*\([^\n]*?\)\s*)?\{/gm;
  for (const m of b.text.matchAll(re)) {
    const [target, apiVersion = ''] = m[3]!.split('@');
    out.push({
      kind: m[1] as 'resource' | 'module',
      symbol: m[2]!,
      target: target!,
      apiVersion,
      existing: Boolean(m[4]),
      open: m.index + m[0].length - 1,
    });
  }
  return out;
}

interface Param {
  readonly name: string;
  readonly type: string;
  readonly hasDefault: boolean;
  readonly decorators: string;
  /** Index of the declaration line. */
  readonly at: number;
}

function params(b: BicepFile): Param[] {
  const lines = b.text.split('\n');
  const out: Param[] = [];
  let offset = 0;
  for (let n = 0; n < lines.length; n++) {
    const m = /^param\s+(\w+)\s+(\w+)(\s*=)?/.exec(lines[n]!);
    if (m) {
      const decorators: string[] = [];
      for (let k = n - 1; k >= 0 && lines[k]!.trim().startsWith('@'); k--) decorators.unshift(lines[k]!.trim());
      out.push({ name: m[1]!, type: m[2]!, hasDefault: Boolean(m[3]), decorators: decorators.join('\n'), at: offset });
    }
    offset += lines[n]!.length + 1;
  }
  return out;
}

function outputs(b: BicepFile): { name: string; at: number }[] {
  return [...b.code.matchAll(/^output\s+(\w+)\s+\w+\s*=/gm)].map((m) => ({ name: m[1]!, at: m.index }));
}

/** Occurrences of an identifier in expressions: not object keys, not property accesses, not the declaration. */
function usesOf(b: BicepFile, name: string, declaredAt: number): number {
  let count = 0;
  for (const m of b.code.matchAll(new RegExp(`(?<![\\w.])${name}\\b`, 'g'))) {
    const lineStart = b.code.lastIndexOf('\n', m.index) + 1;
    if (lineStart === declaredAt) continue;
    const isKey = b.code.slice(lineStart, m.index).trim() === '' && /^\w+\s*:/.test(b.code.slice(m.index));
    if (!isKey) count++;
  }
  return count;
}

function stringLiterals(s: string): string[] {
  return [...s.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((m) => m[1]!);
}

function varValue(b: BicepFile, name: string): string | undefined {
  const m = new RegExp(`^var\\s+${name}\\s*=\\s*`, 'm').exec(b.code);
  if (!m) return undefined;
  const at = m.index + m[0].length;
  const first = b.code[at]!;
  const end = first in PAIRS ? closing(b.code, at) + 1 : b.text.indexOf('\n', at);
  return b.text.slice(at, end).trim();
}

// ---------------------------------------------------------------------------------------------

const bicepFiles = [
  'bicep/main.bicep',
  ...readdirSync(join(BICEP, 'modules'))
    .filter((f) => f.endsWith('.bicep'))
    .sort()
    .map((f) => `bicep/modules/${f}`),
];
const parsed = new Map(bicepFiles.map((f) => [f, readBicep(f)]));
const main = parsed.get(MAIN)!;
const appModule = parsed.get(APP_MODULE)!;
const mainModules = declarations(main).filter((d) => d.kind === 'module');
const settingNames: string[] = SETTINGS.map((s) => s.name);

function appSettings(): Entry[] {
  const config = declarations(appModule).filter(
    (d) => d.target === 'Microsoft.Web/sites/config' && entry(appModule, d.open, 'name')?.value === "'appsettings'",
  );
  assert.equal(
    config.length,
    1,
    `${APP_MODULE}: expected exactly one Microsoft.Web/sites/config resource named 'appsettings' holding every app setting, found ${config.length}`,
  );
  const props = entry(appModule, config[0]!.open, 'properties');
  assert.ok(
    props && props.value.startsWith('{'),
    `${APP_MODULE}: the appsettings resource needs a literal properties: { NAME: value … } object so the settings contract can be checked`,
  );
  return objectEntries(appModule, props.at);
}

describe('config contract: app settings (orchestration/src/config.ts ↔ bicep/)', () => {
  test('every setting the code reads is set by the Function App module', () => {
    const set = new Set(appSettings().map((e) => e.key));
    const missing = settingNames.filter((n) => !set.has(n));
    assert.deepEqual(
      missing,
      [],
      `${APP_MODULE} does not set ${missing.join(', ')}: add each to the 'appsettings' properties (value from a module param wired in ${MAIN})`,
    );
  });

  test('bicep/ sets nothing the code or the Functions host ignores', () => {
    const ignored = appSettings()
      .map((e) => e.key)
      .filter((k) => !settingNames.includes(k) && !(k in RUNTIME_SETTINGS));
    assert.deepEqual(
      ignored,
      [],
      `${APP_MODULE} sets ${ignored.join(', ')} but neither orchestration/src/config.ts SETTINGS nor the Functions host reads it: remove it, or add it to SETTINGS (or, for a host setting, to RUNTIME_SETTINGS in this test with the reason)`,
    );
  });

  test('every app setting has a value and no setting is defined twice', () => {
    const entries = appSettings();
    for (const e of entries)
      assert.ok(
        e.value !== '' && e.value !== "''",
        `${APP_MODULE}: app setting ${e.key} is empty: give it a value or drop it so the code's default applies`,
      );
    const seen = entries.map((e) => e.key).filter((k, i, all) => all.indexOf(k) !== i);
    assert.deepEqual(seen, [], `${APP_MODULE}: app settings defined twice: ${seen.join(', ')}`);
  });

  test('secret settings are Key Vault references resolved with the controller identity', () => {
    const entries = appSettings();
    const secrets = SETTINGS.filter((s) => s.kind === 'secret');
    assert.ok(secrets.length > 0, 'SETTINGS has no secret setting; this check would check nothing');
    for (const s of secrets) {
      const e = entries.find((x) => x.key === s.name);
      assert.ok(e, `${APP_MODULE}: ${s.name} is not set`);
      assert.match(
        e.value,
        /^'@Microsoft\.KeyVault\(SecretUri=\$\{\w+\}\)'$/,
        `${APP_MODULE}: ${s.name} must be '@Microsoft.KeyVault(SecretUri=\${…})', never the secret itself; got ${e.value}`,
      );
    }
    const site = declarations(appModule).find((d) => d.target === 'Microsoft.Web/sites');
    assert.ok(site, `${APP_MODULE}: no Microsoft.Web/sites resource`);
    const props = entry(appModule, site.open, 'properties')!;
    const kvIdentity = entry(appModule, props.at, 'keyVaultReferenceIdentity');
    const identity = entry(appModule, site.open, 'identity')!;
    assert.ok(
      kvIdentity,
      `${APP_MODULE}: set properties.keyVaultReferenceIdentity to the controller identity's resource id, or Key Vault references resolve with a system identity the app does not have`,
    );
    assert.ok(
      identity.value.includes(`'\${${kvIdentity.value}}'`),
      `${APP_MODULE}: keyVaultReferenceIdentity (${kvIdentity.value}) must be one of the site's user-assigned identities`,
    );
  });

  test("tunable settings default to the code's defaults, and every setting's value has a known source", () => {
    const byKey = new Map(appSettings().map((e) => [e.key, e.value]));
    for (const s of SETTINGS as readonly { name: string; default?: string }[]) {
      const value = byKey.get(s.name) ?? '';
      const tunable = /^string\(tuning\.\?(\w+) \?\? '((?:[^'\\]|\\.)*)'\)$/.exec(value);
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
        assert.equal(
          tunable[2],
          s.default,
          `${APP_MODULE}: ${s.name} defaults to '${tunable[2]}' but orchestration/src/config.ts says '${s.default}': write the code's default`,
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
      const m = new RegExp(`^param\\s+${paramName}\\s+\\w+\\s*=\\s*'?([^'\\n]*)'?`, 'm').exec(main.text);
      const def = SETTINGS.find((x) => x.name === name) as { default?: string } | undefined;
      assert.equal(
        m?.[1]?.trim(),
        def?.default,
        `${MAIN}: param ${paramName} (${name}) must default to the code's default '${def?.default}'`,
      );
    }
  });

  test('the code reads the controller identity the app runs as, and identity-based host storage', () => {
    const byKey = new Map(appSettings().map((e) => [e.key, e.value]));
    assert.equal(
      byKey.get('AZURE_CLIENT_ID'),
      byKey.get('AzureWebJobsStorage__clientId'),
      `${APP_MODULE}: AZURE_CLIENT_ID and AzureWebJobsStorage__clientId must both be the controller identity's client id`,
    );
    assert.equal(
      byKey.get('AzureWebJobsStorage__credential'),
      "'managedidentity'",
      `${APP_MODULE}: AzureWebJobsStorage__credential must be 'managedidentity' (shared keys are disabled)`,
    );
    assert.ok(
      !byKey.has('AzureWebJobsStorage'),
      `${APP_MODULE}: AzureWebJobsStorage (a connection string) must not be set: use the AzureWebJobsStorage__accountName identity-based form`,
    );
    assert.match(
      byKey.get('CALLBACK_BASE_URL') ?? '',
      /^'https:\/\/\$\{site\.properties\.defaultHostName\}'$/,
      `${APP_MODULE}: CALLBACK_BASE_URL must be 'https://\${site.properties.defaultHostName}' so job containers call this app back`,
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

  test('every GUID literal in bicep/ is a verified built-in role id', () => {
    let count = 0;
    for (const b of parsed.values()) {
      for (const m of b.text.matchAll(
        /'([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})'/g,
      )) {
        count++;
        const id = m[1]!.toLowerCase();
        const forbidden = Object.entries(FORBIDDEN_BUILT_IN_ROLES).find(([, v]) => v === id);
        assert.ok(
          !forbidden,
          `${b.file}: ${id} is the built-in role "${forbidden?.[0]}", broader than least privilege allows: use a custom role scoped to what the identity needs`,
        );
        assert.ok(
          verifiedIds.has(id),
          `${b.file}: role id ${id} is not in VERIFIED_BUILT_IN_ROLES of ${__filename}: check it against Microsoft's built-in roles list and add it with its name`,
        );
      }
    }
    assert.ok(
      count >= Object.keys(VERIFIED_BUILT_IN_ROLES).length,
      `bicep/ uses ${count} built-in role ids, fewer than the ${Object.keys(VERIFIED_BUILT_IN_ROLES).length} the permissions model needs`,
    );
  });

  test('each role id variable is named after the role it holds (catches swapped ids)', () => {
    for (const b of parsed.values()) {
      for (const m of b.text.matchAll(/^var\s+(\w+)RoleId\s*=\s*'([0-9a-f-]{36})'/gm)) {
        const role = Object.entries(VERIFIED_BUILT_IN_ROLES).find(([, id]) => id === m[2]);
        assert.ok(role, `${b.file}: ${m[1]}RoleId = '${m[2]}' is not a verified role id`);
        assert.equal(
          normalize(m[1]!),
          normalize(role[0]),
          `${b.file}: ${m[1]}RoleId holds the id of "${role[0]}": rename the variable or fix the id`,
        );
      }
    }
  });

  test('every built-in role the permissions model needs is assigned', () => {
    const all = [...parsed.values()].map((b) => b.text).join('\n');
    for (const [name, id] of Object.entries(VERIFIED_BUILT_IN_ROLES))
      assert.ok(
        all.includes(`'${id}'`),
        `bicep/: no assignment of ${name} (${id}); the permissions model in bicep/README.md needs it`,
      );
  });

  test('every role assignment uses a role id variable or a custom role of the same file, for a service principal', () => {
    let count = 0;
    for (const b of parsed.values()) {
      const decls = declarations(b);
      const customRoles = decls
        .filter((d) => d.target === 'Microsoft.Authorization/roleDefinitions')
        .map((d) => d.symbol);
      for (const d of decls.filter((x) => x.target === 'Microsoft.Authorization/roleAssignments')) {
        count++;
        const props = entry(b, d.open, 'properties');
        assert.ok(props, `${b.file}: role assignment ${d.symbol} has no properties`);
        const roleDef = entry(b, props.at, 'roleDefinitionId')?.value ?? '';
        const builtIn = /^subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', (\w+RoleId)\)$/.exec(
          roleDef,
        );
        const custom = /^(\w+)\.id$/.exec(roleDef);
        assert.ok(
          (builtIn && varValue(b, builtIn[1]!) !== undefined) || (custom && customRoles.includes(custom[1]!)),
          `${b.file}: role assignment ${d.symbol} has roleDefinitionId ${roleDef}: use subscriptionResourceId('Microsoft.Authorization/roleDefinitions', <name>RoleId) with a verified var, or <customRole>.id`,
        );
        assert.equal(
          entry(b, props.at, 'principalType')?.value,
          "'ServicePrincipal'",
          `${b.file}: role assignment ${d.symbol} must set principalType: 'ServicePrincipal' (managed identities; avoids replication-delay failures)`,
        );
        assert.match(
          entry(b, d.open, 'name')?.value ?? '',
          /^guid\(/,
          `${b.file}: role assignment ${d.symbol} needs a deterministic name: guid(scope, principal, role)`,
        );
        assert.ok(
          entry(b, d.open, 'scope'),
          `${b.file}: role assignment ${d.symbol} needs an explicit scope (the narrowest resource)`,
        );
      }
    }
    assert.ok(count >= 8, `bicep/: only ${count} role assignments found; the permissions model has at least 8`);
  });
});

describe('bicep: params, modules and outputs', () => {
  test('every param of every Bicep file is used in that file', () => {
    for (const b of parsed.values()) {
      for (const p of params(b))
        assert.ok(usesOf(b, p.name, p.at) > 0, `${b.file}: param ${p.name} is never used: use it or remove it`);
    }
  });

  test('main.bicep is subscription-scoped and every module file is deployed by it', () => {
    mustMatch(
      main.text,
      /^targetScope\s*=\s*'subscription'/m,
      `${MAIN}: targetScope must be 'subscription' (it creates both resource groups)`,
    );
    const used = mainModules.map((m) => posix.join('bicep', m.target));
    for (const f of bicepFiles.filter((x) => x !== MAIN)) {
      assert.ok(used.includes(f), `${f} is not deployed by ${MAIN}: add a module for it or delete it`);
      mustNotMatch(
        parsed.get(f)!.text,
        /^targetScope/m,
        `${f}: modules are resource-group scoped; give the module a scope in ${MAIN} instead`,
      );
    }
    for (const m of mainModules) {
      assert.ok(
        existsSync(join(BICEP, m.target)),
        `${MAIN}: module ${m.symbol} points to ${m.target}, which does not exist`,
      );
      assert.match(
        entry(main, m.open, 'scope')?.value ?? '',
        /^\w+Rg$/,
        `${MAIN}: module ${m.symbol} needs scope: appRg or jobsRg`,
      );
    }
  });

  test("every module's params are declared by the module, and its required params are passed", () => {
    for (const m of mainModules) {
      const mod = parsed.get(posix.join('bicep', m.target))!;
      const declared = params(mod);
      const passedEntry = entry(main, m.open, 'params');
      assert.ok(passedEntry, `${MAIN}: module ${m.symbol} has no params`);
      const passed = objectEntries(main, passedEntry.at).map((e) => e.key);
      for (const k of passed)
        assert.ok(
          declared.some((p) => p.name === k),
          `${MAIN}: module ${m.symbol} passes ${k}, which ${mod.file} does not declare: add the param there or stop passing it`,
        );
      for (const p of declared.filter((x) => !x.hasDefault))
        assert.ok(
          passed.includes(p.name),
          `${MAIN}: module ${m.symbol} does not pass required param ${p.name} of ${mod.file}`,
        );
    }
  });

  test('every module output is used by main.bicep', () => {
    for (const m of mainModules) {
      const mod = parsed.get(posix.join('bicep', m.target))!;
      for (const o of outputs(mod))
        assert.ok(
          main.code.includes(`${m.symbol}.outputs.${o.name}`),
          `${mod.file}: output ${o.name} is not used by ${MAIN} (${m.symbol}.outputs.${o.name}): use it or remove it`,
        );
    }
  });

  test('every output of main.bicep is documented in bicep/README.md', () => {
    const readme = readFileSync(join(BICEP, 'README.md'), 'utf8');
    const outs = outputs(main);
    assert.ok(outs.length > 0, `${MAIN} has no outputs`);
    for (const o of outs)
      assert.ok(
        readme.includes(`\`${o.name}\``),
        `bicep/README.md does not document the output ${o.name} of ${MAIN}: add it to the outputs table`,
      );
  });

  test('main.bicepparam targets main.bicep and gives every required parameter, and only declared ones', () => {
    const text = readBicep(PARAMS).text;
    mustMatch(text, /^using\s+'\.\/main\.bicep'/m, `${PARAMS}: must start with using './main.bicep'`);
    const given = [...text.matchAll(/^param\s+(\w+)\s*=\s*(.+)$/gm)].map((m) => ({ name: m[1]!, value: m[2]!.trim() }));
    const declared = params(main);
    for (const p of declared.filter((x) => !x.hasDefault))
      assert.ok(
        given.some((g) => g.name === p.name),
        `${PARAMS}: required parameter ${p.name} of ${MAIN} is not given`,
      );
    for (const g of given) {
      const p = declared.find((x) => x.name === g.name);
      assert.ok(p, `${PARAMS}: ${g.name} is not a parameter of ${MAIN}`);
      if (p.decorators.includes('@secure()'))
        assert.match(
          g.value,
          /^(readEnvironmentVariable|getSecret)\(/,
          `${PARAMS}: secure parameter ${g.name} must come from readEnvironmentVariable(…) or getSecret(…), never a literal`,
        );
    }
  });

  test('resource types use current API versions', () => {
    for (const b of parsed.values()) {
      for (const d of declarations(b).filter((x) => x.kind === 'resource')) {
        const min = MIN_API_VERSIONS[d.target];
        assert.ok(
          min,
          `${b.file}: resource ${d.symbol} has type ${d.target}, not in MIN_API_VERSIONS of this test: add its current API version there`,
        );
        assert.ok(
          d.apiVersion.replace(/-preview$/, '') >= min,
          `${b.file}: ${d.symbol} uses ${d.target}@${d.apiVersion}; use ${min} or newer`,
        );
      }
    }
  });

  test('brackets balance in every Bicep file', () => {
    for (const b of parsed.values()) {
      const stack: string[] = [];
      for (const c of b.code) {
        if (c in PAIRS) stack.push(PAIRS[c]!);
        else if (c === '}' || c === ']' || c === ')') assert.equal(stack.pop(), c, `${b.file}: unbalanced ${c}`);
      }
      assert.deepEqual(stack, [], `${b.file}: unclosed brackets`);
    }
  });
});

describe('bicep: no secrets, least privilege', () => {
  const allFiles = [...parsed.values(), readBicep(PARAMS)];

  test('no key, connection string or SAS literal in any Bicep or parameters file', () => {
    for (const b of allFiles) {
      for (const s of stringLiterals(b.text)) {
        assert.doesNotMatch(
          s,
          /AccountKey=|SharedAccessSignature=|[?&]sig=|InstrumentationKey=|DefaultEndpointsProtocol=|-----BEGIN/,
          `${b.file}: '${s.slice(0, 40)}…' looks like a credential: use a managed identity or a @secure() parameter stored in Key Vault`,
        );
        assert.doesNotMatch(
          s,
          /^[A-Za-z0-9+/]{32,}={0,2}$/,
          `${b.file}: '${s.slice(0, 12)}…' looks like a key: pass it as a @secure() parameter`,
        );
      }
      mustNotMatch(
        b.code,
        /\blist(Keys|AccountSas|ServiceSas|Credentials)\s*\(/,
        `${b.file}: calls a list*Keys/SAS/credentials function: use identity-based access instead`,
      );
    }
  });

  test('secret-looking params are @secure() and no output exposes one', () => {
    let secureCount = 0;
    for (const b of parsed.values()) {
      const ps = params(b);
      for (const p of ps) {
        const secretName = /key|secret|password|token/i.test(p.name) && !/(Uri|Url|Id|Name)$/.test(p.name);
        if (p.decorators.includes('@secure()')) secureCount++;
        else assert.ok(!secretName, `${b.file}: param ${p.name} looks like a secret: mark it @secure()`);
        if (p.decorators.includes('@secure()')) {
          for (const o of outputs(b)) {
            const line = b.code.slice(o.at, b.code.indexOf('\n', o.at));
            assert.doesNotMatch(
              line,
              new RegExp(`\\b${p.name}\\b`),
              `${b.file}: output ${o.name} exposes secure param ${p.name}`,
            );
          }
        }
      }
    }
    assert.ok(secureCount >= 1, 'bicep/: no @secure() parameter, yet the callback signing key must be passed as one');
  });

  test('the storage account disables shared keys and public blob access', () => {
    let accounts = 0;
    for (const b of parsed.values()) {
      for (const d of declarations(b).filter((x) => x.target === 'Microsoft.Storage/storageAccounts' && !x.existing)) {
        accounts++;
        const props = entry(b, d.open, 'properties');
        assert.ok(props, `${b.file}: storage account ${d.symbol} has no properties`);
        assert.equal(
          entry(b, props.at, 'allowSharedKeyAccess')?.value,
          'false',
          `${b.file}: storage account ${d.symbol} must set allowSharedKeyAccess: false (identity-based access only)`,
        );
        assert.equal(
          entry(b, props.at, 'allowBlobPublicAccess')?.value,
          'false',
          `${b.file}: storage account ${d.symbol} must set allowBlobPublicAccess: false`,
        );
      }
    }
    assert.equal(accounts, 1, `bicep/: expected one storage account, found ${accounts}`);
  });

  test('container-group rights are a custom role assignable and assigned only on the jobs resource group', () => {
    const jobs = parsed.get(JOBS_MODULE)!;
    for (const b of parsed.values()) {
      if (b !== jobs)
        mustNotMatch(
          b.text,
          /Microsoft\.ContainerInstance\//,
          `${b.file}: container-instance permissions belong in ${JOBS_MODULE} only, scoped to the jobs resource group`,
        );
      mustNotMatch(
        b.text,
        /'Microsoft\.[^'\s]*\*[^'\s]*'/,
        `${b.file}: wildcard actions are not least privilege: list the actions`,
      );
    }
    const roles = declarations(jobs).filter((d) => d.target === 'Microsoft.Authorization/roleDefinitions');
    const aciRole = roles.find((d) =>
      jobs.text.slice(d.open, closing(jobs.code, d.open)).includes('containerGroupActions'),
    );
    assert.ok(aciRole, `${JOBS_MODULE}: no custom role definition with containerGroupActions`);
    const actions = stringLiterals(varValue(jobs, 'containerGroupActions') ?? '');
    for (const needed of ['read', 'write', 'delete', 'containers/logs/read'].map(
      (a) => `Microsoft.ContainerInstance/containerGroups/${a}`,
    )) {
      assert.ok(
        actions.includes(needed),
        `${JOBS_MODULE}: containerGroupActions lacks ${needed}, which the controller needs`,
      );
    }
    for (const a of actions)
      assert.match(
        a,
        /^Microsoft\.ContainerInstance\/containerGroups\//,
        `${JOBS_MODULE}: containerGroupActions has ${a}: the container-group role grants container-group actions only`,
      );
    const props = entry(jobs, aciRole.open, 'properties')!;
    assert.equal(
      stringLiterals(entry(jobs, props.at, 'assignableScopes')?.value ?? '').length,
      0,
      `${JOBS_MODULE}: assignableScopes must be [resourceGroup().id], not literal ids`,
    );
    assert.match(
      entry(jobs, props.at, 'assignableScopes')?.value ?? '',
      /^\[\s*resourceGroup\(\)\.id\s*\]$/,
      `${JOBS_MODULE}: the container-group role's assignableScopes must be exactly [resourceGroup().id] (the jobs resource group)`,
    );
    const assignment = declarations(jobs).find(
      (d) =>
        d.target === 'Microsoft.Authorization/roleAssignments' &&
        entry(jobs, entry(jobs, d.open, 'properties')!.at, 'roleDefinitionId')?.value === `${aciRole.symbol}.id`,
    );
    assert.ok(assignment, `${JOBS_MODULE}: the container-group role is never assigned`);
    assert.equal(
      entry(jobs, assignment.open, 'scope')?.value,
      'resourceGroup()',
      `${JOBS_MODULE}: assign the container-group role at scope: resourceGroup() (the jobs resource group)`,
    );
  });

  test('the jobs module is deployed to the resource group the app is told to use', () => {
    const jobsModule = mainModules.find((m) => m.target === 'modules/jobs.bicep');
    const appModuleDecl = mainModules.find((m) => m.target === 'modules/function-app.bicep');
    assert.ok(jobsModule && appModuleDecl, `${MAIN}: needs the jobs and function-app modules`);
    const scope = entry(main, jobsModule.open, 'scope')!.value;
    const appParams = objectEntries(main, entry(main, appModuleDecl.open, 'params')!.at);
    const rgParam = appParams.find((e) => e.key === 'jobsResourceGroupName');
    assert.equal(
      rgParam?.value,
      `${scope}.name`,
      `${MAIN}: the function app's jobsResourceGroupName (JOBS_RESOURCE_GROUP) must be ${scope}.name, the resource group the container-group role is granted on`,
    );
    const mainAssignments = declarations(main).filter((d) => d.target.startsWith('Microsoft.Authorization/'));
    assert.deepEqual(
      mainAssignments.map((d) => d.symbol),
      [],
      `${MAIN}: no role definitions or assignments at subscription scope; put them in the module of the resource they grant on`,
    );
  });

  test('with the VNet option, the controller may join the ACI subnet only', () => {
    const jobs = parsed.get(JOBS_MODULE)!;
    const joinAssignments = declarations(jobs).filter(
      (d) => d.target === 'Microsoft.Authorization/roleAssignments' && d.symbol !== 'controllerManagesGroups',
    );
    const join = joinAssignments.find((d) => /Subnet/i.test(d.symbol));
    assert.ok(join, `${JOBS_MODULE}: no role assignment letting the controller join job groups to the ACI subnet`);
    const scope = entry(jobs, join.open, 'scope')?.value ?? '';
    const subnet = declarations(jobs).find((d) => d.symbol === scope);
    assert.ok(
      subnet && subnet.target === 'Microsoft.Network/virtualNetworks/subnets',
      `${JOBS_MODULE}: ${join.symbol} must be scoped to the ACI subnet resource, not ${scope}`,
    );
    mustMatch(
      jobs.text,
      /'Microsoft\.Network\/virtualNetworks\/subnets\/join\/action'/,
      `${JOBS_MODULE}: the subnet role must grant Microsoft.Network/virtualNetworks/subnets/join/action`,
    );
    mustMatch(
      jobs.text,
      /serviceName:\s*'Microsoft\.ContainerInstance\/containerGroups'/,
      `${JOBS_MODULE}: the ACI subnet must be delegated to Microsoft.ContainerInstance/containerGroups`,
    );
    mustMatch(
      jobs.text,
      /serviceName:\s*'Microsoft\.App\/environments'/,
      `${JOBS_MODULE}: the Functions integration subnet must be delegated to Microsoft.App/environments (Flex Consumption)`,
    );
  });

  test('the Function App is Flex Consumption on Node 20 with identity-based deployment storage', () => {
    const plan = declarations(appModule).find((d) => d.target === 'Microsoft.Web/serverfarms');
    assert.ok(plan, `${APP_MODULE}: no plan`);
    assert.match(
      entry(appModule, plan.open, 'sku')?.value ?? '',
      /name:\s*'FC1'/,
      `${APP_MODULE}: the plan must be Flex Consumption (sku FC1)`,
    );
    mustMatch(
      appModule.text,
      /runtime:\s*\{\s*name:\s*'node'\s*version:\s*'20'\s*\}/,
      `${APP_MODULE}: functionAppConfig.runtime must be node 20 (the Node version orchestration/ is built for)`,
    );
    mustMatch(
      appModule.text,
      /authentication:\s*\{\s*type:\s*'UserAssignedIdentity'/,
      `${APP_MODULE}: deployment storage must authenticate with the user-assigned identity (shared keys are off)`,
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
