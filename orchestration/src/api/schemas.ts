// JSON Schemas of the API's bodies. The validators compile these very objects and the OpenAPI
// document embeds them, so the two cannot drift (tests/unit/orchestration-openapi.test.ts).
import { JOB_STATES } from '../contracts';
import { FANOUT_REQUEST_PROPERTIES } from './job-fanout';
import { FANOUT_STATUS_PROPERTIES } from './job-array-schema';
import { RETRY_REQUEST_PROPERTIES } from './job-retry';

const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]{0,127}$';
const envMap = (description: string) => ({
  type: 'object',
  description,
  maxProperties: 100,
  propertyNames: { pattern: ENV_NAME },
  additionalProperties: { type: 'string', maxLength: 32768 },
});

/** Input of the default image's model (regime-switching regression), as `npm run fit` takes it. */
export const MODEL_INPUT_SCHEMA = {
  type: 'object',
  description: 'Input of the default regime-switching model (the same JSON as `npm run fit`).',
  additionalProperties: false,
  required: ['y', 'k'],
  properties: {
    y: {
      type: 'array',
      minItems: 3,
      maxItems: 1000000,
      items: { type: 'number' },
      description: 'Dependent series, oldest first.',
    },
    exog: {
      type: 'array',
      items: { type: 'array', minItems: 1, items: { type: 'number' } },
      description: 'One row of regressors per observation.',
    },
    k: { type: 'integer', minimum: 2, maximum: 4, description: 'Number of regimes.' },
    trend: { enum: ['c', 'n'] },
    switchingVariance: { type: 'boolean' },
    switchingCoefficients: { type: 'boolean' },
    starts: { type: 'integer', minimum: 1, maximum: 64 },
    seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
    maxIterations: { type: 'integer', minimum: 1, maximum: 100000 },
    tolerance: { type: 'number', exclusiveMinimum: 0, maximum: 0.1 },
  },
} as const;

export const JOB_REQUEST_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    image: {
      type: 'string',
      minLength: 1,
      maxLength: 512,
      description:
        'ACR image: "repo:tag", "repo@sha256:…" or "<ACR login server>/repo:tag". Default: the tenant\'s default image (the regime-switching model).',
    },
    cpu: { type: 'number', minimum: 0.1, maximum: 4, description: 'vCPUs (default from the tenant).' },
    memoryGb: { type: 'number', minimum: 0.1, maximum: 16, description: 'Memory in GB (default from the tenant).' },
    gpu: {
      deprecated: true,
      description: "Refused with 400: ACI's GPU offering was retired on 2025-07-14.",
    },
    command: {
      type: 'array',
      minItems: 1,
      maxItems: 64,
      items: { type: 'string', minLength: 1, maxLength: 4096 },
      description: "Command run under the agent instead of the image's model.",
    },
    env: envMap('Environment variables of the job container.'),
    secureEnv: envMap(
      'Secret environment variables: passed as ACI secure values; never logged, stored in history or echoed.',
    ),
    input: { description: 'Passed to the batch (POST /start). For the default image: RegimeSwitchingInput.' },
    timeoutMinutes: { type: 'integer', minimum: 1, maximum: 10080 },
    onComplete: { enum: ['delete', 'stop', 'keep'] },
    onFailure: { enum: ['delete', 'stop', 'restart'] },
    maxAttempts: {
      type: 'integer',
      minimum: 1,
      maximum: 10,
      description: 'Shorthand: with onFailure "restart", every failure is retried up to this many attempts in all.',
    },
    ...RETRY_REQUEST_PROPERTIES,
    ...FANOUT_REQUEST_PROPERTIES,
    priority: {
      anyOf: [{ type: 'integer', minimum: 0, maximum: 1000 }, { enum: ['Regular', 'Spot'] }],
      description:
        'An integer 0..1000 is the job\'s queue priority within its tenant\'s queue (higher first, FIFO among equals; default 0). The strings "Regular" and "Spot" remain accepted and mean the capacity type (same as `capacity`).',
    },
    capacity: {
      enum: ['Regular', 'Spot'],
      description:
        "ACI capacity type (default Regular; Spot needs the tenant's allowSpot). Use it to combine Spot with a queue priority.",
    },
    notify: {
      type: 'object',
      additionalProperties: false,
      properties: { webhookUrl: { type: 'string', minLength: 1, maxLength: 2048 } },
    },
  },
} as const;

export const CALLBACK_SCHEMA = {
  type: 'object',
  required: ['jobId', 'type'],
  properties: {
    jobId: { type: 'string', maxLength: 64 },
    type: { enum: ['ready', 'progress', 'completed', 'failed', 'canceled'] },
    state: { enum: ['idle', 'running', 'succeeded', 'failed', 'canceled'] },
    progress: { type: 'number', minimum: 0, maximum: 1 },
    message: { type: 'string', maxLength: 4096 },
    at: { type: 'string', maxLength: 64 },
    exitCode: { type: ['integer', 'null'] },
    error: {},
  },
} as const;

export const LIST_QUERY_SCHEMA = {
  state: { enum: [...JOB_STATES] },
  since: { type: 'string', format: 'date-time' },
  limit: { type: 'integer', minimum: 1, maximum: 200 },
  continuationToken: { type: 'string', maxLength: 512 },
} as const;

const jobError = {
  type: ['object', 'null'],
  properties: { code: { type: 'string' }, message: { type: 'string' } },
  required: ['code', 'message'],
} as const;

export const JOB_STATUS_SCHEMA = {
  type: 'object',
  required: [
    'id',
    'tenant',
    'state',
    'phase',
    'progress',
    'message',
    'image',
    'resources',
    'attempts',
    'container',
    'createdAt',
    'startedAt',
    'finishedAt',
    'usage',
    'result',
    'error',
  ],
  properties: {
    id: { type: 'string' },
    tenant: { type: 'string' },
    state: { enum: [...JOB_STATES] },
    phase: { type: 'string' },
    progress: { type: 'number', minimum: 0, maximum: 1 },
    message: { type: 'string' },
    image: { type: 'object', properties: { ref: { type: 'string' }, digest: { type: ['string', 'null'] } } },
    resources: {
      type: 'object',
      properties: { cpu: { type: 'number' }, memoryGb: { type: 'number' } },
    },
    attempts: { type: 'integer' },
    maxAttempts: { type: 'integer' },
    attemptHistory: {
      type: 'array',
      description:
        'Each attempt begun: the memory it ran with, and the exit code and reason that ended it (null while it runs or once it succeeded).',
      items: {
        type: 'object',
        required: ['attempt', 'memoryGb', 'exitCode', 'reason'],
        properties: {
          attempt: { type: 'integer', minimum: 1 },
          memoryGb: { type: 'number' },
          exitCode: { type: ['integer', 'null'] },
          reason: { type: ['string', 'null'] },
        },
      },
    },
    evictions: { type: 'integer', minimum: 0, description: 'Spot evictions so far (each one a retried attempt).' },
    container: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        state: { enum: ['none', 'creating', 'running', 'terminated', 'deleted', 'stopped', 'kept', 'unknown'] },
        exitCode: { type: ['integer', 'null'] },
        ip: { type: ['string', 'null'] },
      },
    },
    createdAt: { type: 'string', format: 'date-time' },
    startedAt: { type: ['string', 'null'] },
    finishedAt: { type: ['string', 'null'] },
    usage: {
      type: 'object',
      properties: {
        vcpuSeconds: { type: 'number' },
        gbSeconds: { type: 'number' },
        estimatedCost: { type: 'number' },
        currency: { type: 'string' },
      },
    },
    result: {
      type: ['object', 'null'],
      properties: { urls: { type: 'object', additionalProperties: { type: 'string' } } },
    },
    error: jobError,
    ...FANOUT_STATUS_PROPERTIES,
  },
} as const;

export const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: {
          type: 'array',
          items: {
            type: 'object',
            required: ['field', 'message'],
            properties: { field: { type: 'string' }, message: { type: 'string' } },
          },
        },
      },
    },
  },
} as const;

export const SUBMIT_RESPONSE_SCHEMA = {
  type: 'object',
  required: ['id', 'state', 'links'],
  properties: {
    id: { type: 'string' },
    state: { enum: [...JOB_STATES] },
    links: {
      type: 'object',
      required: ['self', 'cancel', 'logs', 'result'],
      properties: {
        self: { type: 'string' },
        cancel: { type: 'string' },
        logs: { type: 'string' },
        result: { type: 'string' },
        artifacts: { type: 'string' },
      },
    },
  },
} as const;

/** Path segments: tenant ids and job ids. Anything else is a 404 before any lookup. */
export const SEGMENT_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export { JOB_ID_PATTERN } from '../contracts';
