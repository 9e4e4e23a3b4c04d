// JSON Schema of the tenants file. orchestration/tenants.schema.json is this object, written out
// (a unit test keeps the two identical), and tenants.example.json points at it with `$schema`.

const positive = (maximum?: number) => ({ type: 'number', exclusiveMinimum: 0, ...(maximum ? { maximum } : {}) });
const count = (minimum: number, maximum?: number) => ({ type: 'integer', minimum, ...(maximum ? { maximum } : {}) });

export const TENANT_ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,29}$';
export const REPOSITORY_PATTERN = '^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$';

export const TENANTS_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://github.com/aci-batch/aci-batch/orchestration/tenants.schema.json',
  title: 'aci-batch tenants file',
  type: 'object',
  additionalProperties: false,
  required: ['tenants'],
  properties: {
    $schema: { type: 'string' },
    tenants: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'displayName', 'apiKeys', 'allowedRepositories', 'limits', 'defaults', 'costRates'],
        properties: {
          id: {
            type: 'string',
            pattern: TENANT_ID_PATTERN,
            description:
              'Tenant id as it appears in URLs: lowercase letters, digits and dashes, at most 30 characters.',
          },
          displayName: { type: 'string', minLength: 1, maxLength: 200 },
          apiKeys: {
            type: 'array',
            minItems: 1,
            description: 'Several keys allow rotation. Only SHA-256 hashes (hex) are stored.',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['id', 'sha256'],
              properties: {
                id: { type: 'string', minLength: 1, maxLength: 64, description: 'Key id, logged instead of the key.' },
                sha256: {
                  type: 'string',
                  pattern: '^[0-9a-f]{64}$',
                  description: 'SHA-256 of the key, lowercase hex.',
                },
                note: { type: 'string', maxLength: 500 },
              },
            },
          },
          allowedRepositories: {
            type: 'array',
            minItems: 1,
            items: { type: 'string', pattern: REPOSITORY_PATTERN },
            description: 'ACR repositories (relative to the registry) this tenant may run.',
          },
          location: {
            type: 'string',
            pattern: '^[a-z0-9]+$',
            description: "Azure region for this tenant's groups (default: JOBS_LOCATION).",
          },
          limits: {
            type: 'object',
            additionalProperties: false,
            required: ['maxCpu', 'maxMemoryGb', 'maxConcurrentJobs', 'maxQueuedJobs', 'maxRuntimeMinutes'],
            properties: {
              maxCpu: positive(4),
              maxMemoryGb: positive(16),
              maxConcurrentJobs: count(1, 1000),
              maxQueuedJobs: count(0, 100000),
              maxRuntimeMinutes: count(1, 10080),
              weight: {
                ...positive(1000),
                description:
                  "Fair-share weight (default 1): when capacity is contended, a freed slot goes to the tenant with the lowest recent usage ÷ weight (README 'Priority and fair share'), so a tenant with weight 3 gets about three times the capacity of one with weight 1.",
              },
            },
          },
          defaults: {
            type: 'object',
            additionalProperties: false,
            required: ['image', 'cpu', 'memoryGb'],
            properties: {
              image: {
                type: 'string',
                minLength: 1,
                description: 'Default image, repository:tag relative to ACR_LOGIN_SERVER (the regime-switching model).',
              },
              cpu: positive(4),
              memoryGb: positive(16),
              onComplete: { enum: ['delete', 'stop', 'keep'] },
              onFailure: { enum: ['delete', 'stop', 'restart'] },
              maxAttempts: count(1, 10),
              timeoutMinutes: count(1, 10080),
            },
          },
          costRates: {
            type: 'object',
            additionalProperties: false,
            required: ['currency', 'vcpuHour', 'gbHour'],
            properties: {
              currency: { type: 'string', pattern: '^[A-Z]{3}$' },
              vcpuHour: { type: 'number', minimum: 0 },
              gbHour: { type: 'number', minimum: 0 },
            },
          },
          network: {
            type: 'object',
            additionalProperties: false,
            properties: {
              subnetId: {
                type: 'string',
                pattern: '^/subscriptions/.+/subnets/[^/]+$',
                description: "VNet-inject the tenant's groups into this subnet (private IP).",
              },
              mode: {
                enum: ['push', 'pull'],
                description:
                  'How the agent gets its start. push (default): the controller calls the agent at its IP. pull: the group has no IP and no inbound port at all; the agent fetches its start from the controller and reports only by callback (batch-image README, "Pull mode").',
              },
            },
          },
          allowSpot: {
            type: 'boolean',
            description:
              'Allow jobs to set priority "Spot" (cheaper, evictable ACI capacity; run in pull mode, evictions retried). Default false: 400 on priority "Spot".',
          },
          allowCommand: {
            type: 'boolean',
            description:
              "Allow jobs to set `command` (run their own program in an allowed image). Default false: the tenant's jobs run what the image runs (403 CommandNotAllowed otherwise).",
          },
          jobIdentityResourceId: {
            type: 'string',
            pattern:
              '^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.ManagedIdentity/userAssignedIdentities/[^/]+$',
            description:
              "User-assigned identity attached to this tenant's groups to pull its images (bicep output TENANT_JOB_IDENTITY_RESOURCE_IDS: it may pull only this tenant's repositories). Default: JOB_IDENTITY_RESOURCE_ID.",
          },
          webhooks: {
            type: 'object',
            additionalProperties: false,
            properties: {
              allowPrivateTargets: {
                type: 'boolean',
                description:
                  'Allow notify.webhookUrl to resolve to loopback/private/link-local addresses (default false: SSRF guard).',
              },
            },
          },
        },
      },
    },
  },
} as const;
