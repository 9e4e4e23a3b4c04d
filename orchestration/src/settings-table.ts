// Every setting the Function App reads, in one table: the contract between the code, bicep/main.bicep
// (which must set each one the Function App needs in Azure) and the README's settings table
// (tests/unit/config-contract.test.ts checks all three agree). config.ts derives Config from it.

export type SettingKind = 'string' | 'url' | 'int' | 'number' | 'path' | 'ncrontab' | 'secret';

export interface SettingSpec {
  /** Environment variable (app setting) name. */
  readonly name: string;
  /** Its field in Config. */
  readonly key: string;
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
    key: 'armEndpoint',
    kind: 'url',
    default: 'https://management.azure.com',
    description: "Azure Resource Manager endpoint. Locally the emulator's HTTPS ARM endpoint.",
  },
  {
    name: 'AZURE_SUBSCRIPTION_ID',
    key: 'subscriptionId',
    kind: 'string',
    description: 'Subscription that holds the jobs resource group.',
  },
  {
    name: 'JOBS_RESOURCE_GROUP',
    key: 'jobsResourceGroup',
    kind: 'string',
    description: 'Resource group in which job container groups are created and swept.',
  },
  {
    name: 'JOBS_LOCATION',
    key: 'jobsLocation',
    kind: 'string',
    default: 'westeurope',
    description: 'Default Azure region for container groups (a tenant may override it).',
  },
  {
    name: 'JOB_IDENTITY_RESOURCE_ID',
    key: 'jobIdentityResourceId',
    kind: 'string',
    description:
      'Resource id of the user-assigned identity attached to job groups for ACR pull (AcrPull on the registry).',
  },
  {
    name: 'AZURE_CLIENT_ID',
    key: 'controllerClientId',
    kind: 'string',
    description: "Client id of the controller's user-assigned managed identity (used by ManagedIdentityCredential).",
  },
  {
    name: 'ACR_LOGIN_SERVER',
    key: 'acrLoginServer',
    kind: 'string',
    description:
      'Login server of the registry that holds job images, e.g. myacr.azurecr.io (locally 127.0.0.1:<port>).',
  },
  {
    name: 'RESULTS_BLOB_ENDPOINT',
    key: 'resultsBlobEndpoint',
    kind: 'url',
    description:
      'Blob service endpoint for job logs and results, e.g. https://acct.blob.core.windows.net (locally Azurite over HTTPS).',
  },
  {
    name: 'RESULTS_CONTAINER',
    key: 'resultsContainer',
    kind: 'string',
    default: 'job-results',
    description: 'Blob container for job logs and results (created if missing).',
  },
  {
    name: 'CALLBACK_BASE_URL',
    key: 'callbackBaseUrl',
    kind: 'url',
    description: "Base URL at which job containers reach this app's /api/callbacks endpoint.",
  },
  {
    name: 'CALLBACK_SIGNING_KEY',
    key: 'callbackSigningKey',
    kind: 'secret',
    description:
      'Secret (>= 32 chars) under which per-job callback tokens are HMAC-signed. A Key Vault reference in Azure.',
  },
  {
    name: 'TENANTS_FILE',
    key: 'tenantsFile',
    kind: 'path',
    default: 'tenants.json',
    description:
      'Path of the tenants file (JSON, validated against its schema at startup), relative to the app folder.',
  },
  {
    name: 'AGENT_PORT',
    key: 'agentPort',
    kind: 'int',
    default: '8080',
    min: 1,
    description: 'Port of the batch agent inside job containers.',
  },
  {
    name: 'POLL_INTERVAL_SECONDS',
    key: 'pollIntervalSeconds',
    kind: 'number',
    default: '600',
    min: 0.05,
    description:
      "Per-job safety poll of a running job (instance view + agent status), a last resort: progress and completion arrive by callback, a container that died without calling back is found by the liveness watch; this poll finds what the watch cannot see (a hung agent that still runs, a watch that is down). Each poll costs the job's history 8 events.",
  },
  {
    name: 'PROVISION_TIMEOUT_SECONDS',
    key: 'provisionTimeoutSeconds',
    kind: 'number',
    default: '600',
    min: 1,
    description: 'Deadline for a container group to be Running with an IP and a healthy agent.',
  },
  {
    name: 'READY_FALLBACK_SECONDS',
    key: 'readyFallbackSeconds',
    kind: 'number',
    default: '30',
    min: 0.05,
    description:
      "While provisioning, how long to wait for the agent's ready callback before reading the group anyway (a lost callback, a failed provisioning).",
  },
  {
    name: 'START_TIMEOUT_SECONDS',
    key: 'startTimeoutSeconds',
    kind: 'number',
    default: '240',
    min: 1,
    description: 'Deadline for the agent to accept POST /start.',
  },
  {
    name: 'TEARDOWN_TIMEOUT_SECONDS',
    key: 'teardownTimeoutSeconds',
    kind: 'number',
    default: '300',
    min: 1,
    description: 'Deadline for deleting or stopping a group before the sweeper takes over.',
  },
  {
    name: 'GLOBAL_MAX_CORES',
    key: 'globalMaxCores',
    kind: 'number',
    default: '100',
    min: 0.1,
    description: 'Regional ACI core quota the controller stays within (all tenants together).',
  },
  {
    name: 'GLOBAL_MAX_GROUPS',
    key: 'globalMaxGroups',
    kind: 'int',
    default: '100',
    min: 1,
    description: 'Regional ACI container-group quota the controller stays within.',
  },
  {
    name: 'GLOBAL_MAX_CREATES_PER_5MIN',
    key: 'globalMaxCreatesPer5Min',
    kind: 'int',
    default: '100',
    min: 1,
    description: 'Regional ACI container-group creates per 5 minutes the controller stays within.',
  },
  {
    name: 'ADMISSION_POLL_SECONDS',
    key: 'admissionPollSeconds',
    kind: 'number',
    default: '300',
    min: 0.05,
    description:
      'Fallback re-check of a queued job: a freed slot wakes the next job at once (slot-granted event); this only covers a lost event or a cap that frees with time (creates per 5 minutes: the default is one such window). Each re-check costs the job about 8 Durable history events.',
  },
  {
    name: 'FAIR_SHARE_HALF_LIFE_MINUTES',
    key: 'fairShareHalfLifeMinutes',
    kind: 'number',
    default: '60',
    min: 0.01,
    description:
      "Half-life of each tenant's recent usage (vCPU-seconds) in weighted fair share: a freed slot goes to the tenant with the lowest usage ÷ weight among those with queued jobs.",
  },
  {
    name: 'QUEUE_TIMEOUT_MINUTES',
    key: 'queueTimeoutMinutes',
    kind: 'number',
    default: '1440',
    min: 0.1,
    description: 'How long a job may wait for a slot before it fails with QueueTimeout.',
  },
  {
    name: 'DEPENDENCY_TIMEOUT_HOURS',
    key: 'dependencyTimeoutHours',
    kind: 'number',
    default: '168',
    min: 0.01,
    description:
      'How long a job with dependsOn may wait, from its submit, for its dependencies to end before it fails with DependencyFailed (a dependency ending wakes it at once; ADMISSION_POLL_SECONDS is its fallback re-check).',
  },
  {
    name: 'ARM_RETRY_ATTEMPTS',
    key: 'armRetryAttempts',
    kind: 'int',
    default: '5',
    min: 1,
    description:
      'Attempts (durable, with exponential backoff) of an activity that failed with a transient Azure error (throttling, 5xx, network).',
  },
  {
    name: 'ARM_RETRY_FIRST_SECONDS',
    key: 'armRetryFirstSeconds',
    kind: 'number',
    default: '2',
    min: 0.05,
    description: 'First backoff of those retries (doubling, capped at 60 s).',
  },
  {
    name: 'CAPACITY_RETRY_ATTEMPTS',
    key: 'capacityRetryAttempts',
    kind: 'int',
    default: '6',
    min: 1,
    description:
      'Attempts to create a group while ACI reports no capacity (409 ServiceUnavailable) before the job fails with CapacityUnavailable.',
  },
  {
    name: 'CAPACITY_RETRY_FIRST_SECONDS',
    key: 'capacityRetryFirstSeconds',
    kind: 'number',
    default: '15',
    min: 0.05,
    description: 'First backoff of capacity retries (doubling, capped at 5 minutes).',
  },
  {
    name: 'HISTORY_STEPS_PER_GENERATION',
    key: 'historyStepsPerGeneration',
    kind: 'int',
    default: '100',
    min: 5,
    description: 'Waits (polls) per orchestration generation before continueAsNew: bounds history and replay cost.',
  },
  {
    name: 'MAX_REQUEST_BYTES',
    key: 'maxRequestBytes',
    kind: 'int',
    default: '1048576',
    min: 1024,
    description: 'Largest accepted request body (larger: 413).',
  },
  {
    name: 'RESULT_LINKS',
    key: 'resultLinks',
    kind: 'string',
    default: 'api',
    description:
      "How a status's result.urls are given: 'api' (links to this API, opened with the tenant's key) or 'sas' (short-lived read-only user-delegation SAS links to Blob, made with the managed identity).",
  },
  {
    name: 'OPERATOR_KEY_HASH',
    key: 'operatorKeyHash',
    kind: 'string',
    default: '',
    description:
      'SHA-256 (hex) of the operator key for /api/admin/*; empty: the operator routes answer 404. A Key Vault reference in Azure.',
  },
  {
    name: 'SWEEPER_SCHEDULE',
    key: 'sweeperSchedule',
    kind: 'ncrontab',
    default: '0 */5 * * * *',
    description: 'NCRONTAB schedule of the sweeper that deletes orphaned or expired groups.',
  },
  {
    name: 'LIVENESS_WATCH_SCHEDULE',
    key: 'livenessWatchSchedule',
    kind: 'ncrontab',
    default: '0 * * * * *',
    description:
      "NCRONTAB schedule of the liveness watch: one read of every running job's container group, which wakes the job whose group is gone or whose container stopped without calling back (a timer function, no Durable actions).",
  },
  {
    name: 'LOG_LEVEL',
    key: 'logLevel',
    kind: 'string',
    default: 'info',
    description: 'pino log level: trace, debug, info, warn, error.',
  },
] as const satisfies readonly SettingSpec[];
