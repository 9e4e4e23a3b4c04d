// Every setting the Function App reads, in one table, validated once at startup.
// This table is the contract between the code, bicep/main.bicep (which must set each one the
// Function App needs in Azure) and the README's settings table (tests/unit/config-contract.test.ts
// checks all three agree). Nothing else in orchestration/ reads process.env.

export type SettingKind = 'string' | 'url' | 'int' | 'number' | 'path' | 'ncrontab' | 'secret';

export interface SettingSpec {
  /** Environment variable (app setting) name. */
  readonly name: string;
  readonly kind: SettingKind;
  readonly description: string;
  /** Default when unset; undefined means the setting is required. */
  readonly default?: string;
  /** Lower bound for int/number settings. */
  readonly min?: number;
}

export const SETTINGS = [
  {
    name: 'ARM_ENDPOINT',
    kind: 'url',
    default: 'https://management.azure.com',
    description: "Azure Resource Manager endpoint. Locally the emulator's HTTPS ARM endpoint.",
  },
  { name: 'AZURE_SUBSCRIPTION_ID', kind: 'string', description: 'Subscription that holds the jobs resource group.' },
  {
    name: 'JOBS_RESOURCE_GROUP',
    kind: 'string',
    description: 'Resource group in which job container groups are created and swept.',
  },
  {
    name: 'JOBS_LOCATION',
    kind: 'string',
    default: 'westeurope',
    description: 'Default Azure region for container groups (a tenant may override it).',
  },
  {
    name: 'JOB_IDENTITY_RESOURCE_ID',
    kind: 'string',
    description:
      'Resource id of the user-assigned identity attached to job groups for ACR pull (AcrPull on the registry).',
  },
  {
    name: 'AZURE_CLIENT_ID',
    kind: 'string',
    description: "Client id of the controller's user-assigned managed identity (used by ManagedIdentityCredential).",
  },
  {
    name: 'ACR_LOGIN_SERVER',
    kind: 'string',
    description:
      'Login server of the registry that holds job images, e.g. myacr.azurecr.io (locally 127.0.0.1:<port>).',
  },
  {
    name: 'RESULTS_BLOB_ENDPOINT',
    kind: 'url',
    description:
      'Blob service endpoint for job logs and results, e.g. https://acct.blob.core.windows.net (locally Azurite over HTTPS).',
  },
  {
    name: 'RESULTS_CONTAINER',
    kind: 'string',
    default: 'job-results',
    description: 'Blob container for job logs and results (created if missing).',
  },
  {
    name: 'CALLBACK_BASE_URL',
    kind: 'url',
    description: "Base URL at which job containers reach this app's /api/callbacks endpoint.",
  },
  {
    name: 'CALLBACK_SIGNING_KEY',
    kind: 'secret',
    description:
      'Secret (>= 32 chars) under which per-job callback tokens are HMAC-signed. A Key Vault reference in Azure.',
  },
  {
    name: 'TENANTS_FILE',
    kind: 'path',
    default: 'tenants.json',
    description:
      'Path of the tenants file (JSON, validated against its schema at startup), relative to the app folder.',
  },
  {
    name: 'AGENT_PORT',
    kind: 'int',
    default: '8080',
    min: 1,
    description: 'Port of the batch agent inside job containers.',
  },
  {
    name: 'POLL_INTERVAL_SECONDS',
    kind: 'number',
    default: '5',
    min: 0.05,
    description: "How often a running job's status endpoint and instance view are polled.",
  },
  {
    name: 'PROVISION_TIMEOUT_SECONDS',
    kind: 'number',
    default: '600',
    min: 1,
    description: 'Deadline for a container group to be Running with an IP and a healthy agent.',
  },
  {
    name: 'START_TIMEOUT_SECONDS',
    kind: 'number',
    default: '240',
    min: 1,
    description: 'Deadline for the agent to accept POST /start.',
  },
  {
    name: 'TEARDOWN_TIMEOUT_SECONDS',
    kind: 'number',
    default: '300',
    min: 1,
    description: 'Deadline for deleting or stopping a group before the sweeper takes over.',
  },
  {
    name: 'GLOBAL_MAX_CORES',
    kind: 'number',
    default: '100',
    min: 0.1,
    description: 'Regional ACI core quota the controller stays within (all tenants together).',
  },
  {
    name: 'GLOBAL_MAX_GROUPS',
    kind: 'int',
    default: '100',
    min: 1,
    description: 'Regional ACI container-group quota the controller stays within.',
  },
  {
    name: 'GLOBAL_MAX_CREATES_PER_5MIN',
    kind: 'int',
    default: '100',
    min: 1,
    description: 'Regional ACI container-group creates per 5 minutes the controller stays within.',
  },
  {
    name: 'ADMISSION_POLL_SECONDS',
    kind: 'number',
    default: '2',
    min: 0.05,
    description: 'How often a queued job re-checks the admission ledger for a slot.',
  },
  {
    name: 'QUEUE_TIMEOUT_MINUTES',
    kind: 'number',
    default: '1440',
    min: 0.1,
    description: 'How long a job may wait for a slot before it fails with QueueTimeout.',
  },
  {
    name: 'ARM_RETRY_ATTEMPTS',
    kind: 'int',
    default: '5',
    min: 1,
    description:
      'Attempts (durable, with exponential backoff) of an activity that failed with a transient Azure error (throttling, 5xx, network).',
  },
  {
    name: 'ARM_RETRY_FIRST_SECONDS',
    kind: 'number',
    default: '2',
    min: 0.05,
    description: 'First backoff of those retries (doubling, capped at 60 s).',
  },
  {
    name: 'CAPACITY_RETRY_ATTEMPTS',
    kind: 'int',
    default: '6',
    min: 1,
    description:
      'Attempts to create a group while ACI reports no capacity (409 ServiceUnavailable) before the job fails with CapacityUnavailable.',
  },
  {
    name: 'CAPACITY_RETRY_FIRST_SECONDS',
    kind: 'number',
    default: '15',
    min: 0.05,
    description: 'First backoff of capacity retries (doubling, capped at 5 minutes).',
  },
  {
    name: 'HISTORY_STEPS_PER_GENERATION',
    kind: 'int',
    default: '100',
    min: 5,
    description: 'Waits (polls) per orchestration generation before continueAsNew: bounds history and replay cost.',
  },
  {
    name: 'MAX_REQUEST_BYTES',
    kind: 'int',
    default: '1048576',
    min: 1024,
    description: 'Largest accepted request body (larger: 413).',
  },
  {
    name: 'SWEEPER_SCHEDULE',
    kind: 'ncrontab',
    default: '0 */5 * * * *',
    description: 'NCRONTAB schedule of the sweeper that deletes orphaned or expired groups.',
  },
  {
    name: 'LOG_LEVEL',
    kind: 'string',
    default: 'info',
    description: 'pino log level: trace, debug, info, warn, error.',
  },
] as const satisfies readonly SettingSpec[];

export type SettingName = (typeof SETTINGS)[number]['name'];

export interface Config {
  armEndpoint: string;
  subscriptionId: string;
  jobsResourceGroup: string;
  jobsLocation: string;
  jobIdentityResourceId: string;
  controllerClientId: string;
  acrLoginServer: string;
  resultsBlobEndpoint: string;
  resultsContainer: string;
  callbackBaseUrl: string;
  callbackSigningKey: string;
  tenantsFile: string;
  agentPort: number;
  pollIntervalSeconds: number;
  provisionTimeoutSeconds: number;
  startTimeoutSeconds: number;
  teardownTimeoutSeconds: number;
  globalMaxCores: number;
  globalMaxGroups: number;
  sweeperSchedule: string;
  logLevel: string;
  globalMaxCreatesPer5Min: number;
  admissionPollSeconds: number;
  queueTimeoutMinutes: number;
  armRetryAttempts: number;
  armRetryFirstSeconds: number;
  capacityRetryAttempts: number;
  capacityRetryFirstSeconds: number;
  historyStepsPerGeneration: number;
  maxRequestBytes: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: { setting: string; message: string }[]) {
    super('Invalid configuration:\n' + problems.map((p) => `  - ${p.setting}: ${p.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Reads and validates every setting; throws one ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: { setting: string; message: string }[] = [];
  const raw = {} as Record<SettingName, string>;
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    const value = env[spec.name]?.trim() || ('default' in spec ? spec.default : undefined);
    if (value === undefined) {
      problems.push({ setting: spec.name, message: `is required: ${spec.description}` });
      continue;
    }
    const problem = checkValue(spec, value);
    if (problem) problems.push({ setting: spec.name, message: problem });
    raw[spec.name as SettingName] = value;
  }
  if (problems.length) throw new ConfigError(problems);
  return {
    armEndpoint: raw.ARM_ENDPOINT.replace(/\/+$/, ''),
    subscriptionId: raw.AZURE_SUBSCRIPTION_ID,
    jobsResourceGroup: raw.JOBS_RESOURCE_GROUP,
    jobsLocation: raw.JOBS_LOCATION,
    jobIdentityResourceId: raw.JOB_IDENTITY_RESOURCE_ID,
    controllerClientId: raw.AZURE_CLIENT_ID,
    acrLoginServer: raw.ACR_LOGIN_SERVER,
    resultsBlobEndpoint: raw.RESULTS_BLOB_ENDPOINT.replace(/\/+$/, ''),
    resultsContainer: raw.RESULTS_CONTAINER,
    callbackBaseUrl: raw.CALLBACK_BASE_URL.replace(/\/+$/, ''),
    callbackSigningKey: raw.CALLBACK_SIGNING_KEY,
    tenantsFile: raw.TENANTS_FILE,
    agentPort: Number(raw.AGENT_PORT),
    pollIntervalSeconds: Number(raw.POLL_INTERVAL_SECONDS),
    provisionTimeoutSeconds: Number(raw.PROVISION_TIMEOUT_SECONDS),
    startTimeoutSeconds: Number(raw.START_TIMEOUT_SECONDS),
    teardownTimeoutSeconds: Number(raw.TEARDOWN_TIMEOUT_SECONDS),
    globalMaxCores: Number(raw.GLOBAL_MAX_CORES),
    globalMaxGroups: Number(raw.GLOBAL_MAX_GROUPS),
    sweeperSchedule: raw.SWEEPER_SCHEDULE,
    logLevel: raw.LOG_LEVEL,
    globalMaxCreatesPer5Min: Number(raw.GLOBAL_MAX_CREATES_PER_5MIN),
    admissionPollSeconds: Number(raw.ADMISSION_POLL_SECONDS),
    queueTimeoutMinutes: Number(raw.QUEUE_TIMEOUT_MINUTES),
    armRetryAttempts: Number(raw.ARM_RETRY_ATTEMPTS),
    armRetryFirstSeconds: Number(raw.ARM_RETRY_FIRST_SECONDS),
    capacityRetryAttempts: Number(raw.CAPACITY_RETRY_ATTEMPTS),
    capacityRetryFirstSeconds: Number(raw.CAPACITY_RETRY_FIRST_SECONDS),
    historyStepsPerGeneration: Number(raw.HISTORY_STEPS_PER_GENERATION),
    maxRequestBytes: Number(raw.MAX_REQUEST_BYTES),
  };
}

function checkValue(spec: SettingSpec, value: string): string | undefined {
  switch (spec.kind) {
    case 'url': {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return `"${value}" is not an absolute URL (expected e.g. https://host[:port])`;
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return `must be an http(s) URL, got ${url.protocol}`;
      return undefined;
    }
    case 'int':
    case 'number': {
      const n = Number(value);
      if (!Number.isFinite(n) || (spec.kind === 'int' && !Number.isInteger(n)))
        return `"${value}" is not ${spec.kind === 'int' ? 'a whole number' : 'a number'}`;
      if (spec.min !== undefined && n < spec.min) return `must be at least ${spec.min}, got ${n}`;
      return undefined;
    }
    case 'secret':
      return value.length < 32
        ? `must be at least 32 characters long (got ${value.length}); generate one with: openssl rand -base64 48`
        : undefined;
    case 'ncrontab':
      return value.split(/\s+/).length === 6
        ? undefined
        : `"${value}" is not a 6-field NCRONTAB expression (second minute hour day month weekday)`;
    case 'string':
      if (spec.name === 'LOG_LEVEL' && !LOG_LEVELS.includes(value)) return `must be one of ${LOG_LEVELS.join(', ')}`;
      return undefined;
    case 'path':
      return undefined;
  }
}
