// The Function App's settings for a local run: the emulator's endpoints and identities in place of
// Azure's, plus what @azure/identity and Node need to reach them (IDENTITY_*, NODE_EXTRA_CA_CERTS,
// NO_PROXY). orchestration/src/config.ts is the list of what the app reads; this file only fills it in.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmulatorInfo } from './emulator-info';

export const JOBS_RESOURCE_GROUP = 'aci-batch-jobs';
export const JOB_IDENTITY_NAME = 'aci-batch-jobs';
export const CONTROLLER_IDENTITY_NAME = 'aci-batch-controller';
export const LOCAL_LOCATION = 'westeurope';
/** The local operator key for /api/admin/* (printed by `npm start`, like the demo tenants' keys). */
export const LOCAL_OPERATOR_KEY = 'operator-local-key';

/**
 * The callback signing key: random per data folder and kept there (mode 0600), so that a restarted
 * host still accepts the callbacks of jobs it started before; never printed.
 */
export function callbackSigningKey(dataDir: string): string {
  const file = join(dataDir, 'callback-signing-key');
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (key.length >= 32) return key;
  }
  const key = randomBytes(48).toString('base64url');
  writeFileSync(file, key + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return key;
}

export interface AppSettingsInput {
  emulator: EmulatorInfo;
  controllerClientId: string;
  blobEndpoint: string;
  callbackBaseUrl: string;
  signingKey: string;
  tenantsFile: string;
  pollIntervalSeconds?: number;
  /** Overrides and additions (tests: short timeouts; bench: higher caps). */
  settings?: Record<string, string>;
}

export function jobIdentityResourceId(subscriptionId: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${JOBS_RESOURCE_GROUP}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${JOB_IDENTITY_NAME}`;
}

export function controllerIdentityResourceId(subscriptionId: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${JOBS_RESOURCE_GROUP}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${CONTROLLER_IDENTITY_NAME}`;
}

/** App settings (SETTINGS in orchestration/src/config.ts) for the local stack. */
export function appSettings(input: AppSettingsInput): Record<string, string> {
  const { emulator } = input;
  return {
    ARM_ENDPOINT: emulator.armEndpoint,
    AZURE_SUBSCRIPTION_ID: emulator.subscriptionId,
    JOBS_RESOURCE_GROUP,
    JOBS_LOCATION: LOCAL_LOCATION,
    JOB_IDENTITY_RESOURCE_ID: jobIdentityResourceId(emulator.subscriptionId),
    AZURE_CLIENT_ID: input.controllerClientId,
    ACR_LOGIN_SERVER: emulator.registryLoginServer,
    RESULTS_BLOB_ENDPOINT: input.blobEndpoint,
    RESULTS_CONTAINER: 'job-results',
    CALLBACK_BASE_URL: input.callbackBaseUrl,
    CALLBACK_SIGNING_KEY: input.signingKey,
    TENANTS_FILE: input.tenantsFile,
    // Callbacks report progress and the end; the poll is a safety net (Azure's default: 60 s).
    POLL_INTERVAL_SECONDS: String(input.pollIntervalSeconds ?? 10),
    // Locally groups appear in (provisioning delay) milliseconds; a stuck one should not hold a
    // tenant's slot for Azure's 10 minutes.
    PROVISION_TIMEOUT_SECONDS: '120',
    START_TIMEOUT_SECONDS: '60',
    TEARDOWN_TIMEOUT_SECONDS: '60',
    // A freed slot wakes the next job by event; this fallback only covers a cap that frees with time.
    ADMISSION_POLL_SECONDS: '10',
    // The agent's ready callback starts the job; the fallback read finds a failed provisioning.
    READY_FALLBACK_SECONDS: '5',
    ARM_RETRY_FIRST_SECONDS: '0.5',
    CAPACITY_RETRY_FIRST_SECONDS: '2',
    // Every minute rather than every 5: locally there is no cost to it and orphans go sooner.
    SWEEPER_SCHEDULE: '0 */1 * * * *',
    LOG_LEVEL: 'info',
    OPERATOR_KEY_HASH: createHash('sha256').update(LOCAL_OPERATOR_KEY).digest('hex'),
    ...input.settings,
  };
}

/** Process environment of the host: the settings plus what the SDKs and Node read at start. */
export function hostEnvironment(
  settings: Record<string, string>,
  emulator: EmulatorInfo,
  base: NodeJS.ProcessEnv,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  // A developer's own Azure credentials must never reach the emulator run (azure-emulation.md §3.4):
  // with these set, EnvironmentCredential would win and call login.microsoftonline.com.
  for (const k of [
    'AZURE_TENANT_ID',
    'AZURE_CLIENT_SECRET',
    'AZURE_CLIENT_CERTIFICATE_PATH',
    'AZURE_FEDERATED_TOKEN_FILE',
    'MSI_ENDPOINT',
    'MSI_SECRET',
    'IDENTITY_SERVER_THUMBPRINT',
    'IMDS_ENDPOINT',
  ]) {
    delete env[k];
  }
  const noProxy = mergeList(base.NO_PROXY ?? base.no_proxy, ['127.0.0.1', 'localhost']);
  return {
    ...env,
    ...settings,
    IDENTITY_ENDPOINT: emulator.identityEndpoint,
    IDENTITY_HEADER: emulator.identityHeader,
    // Read only when a process starts (azure-emulation.md §1.3): the host is started after the
    // emulator wrote it. It is one file that already includes the system roots.
    NODE_EXTRA_CA_CERTS: emulator.caBundle,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    AZURE_TOKEN_CREDENTIALS: 'ManagedIdentityCredential',
  };
}

function mergeList(existing: string | undefined, add: string[]): string {
  const items = (existing ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const a of add) if (!items.includes(a)) items.push(a);
  return items.join(',');
}
