// One OpenAPI operation per route of the routes table (contracts/routes.ts): the Record type makes a
// route without an operation a compile error. openapi.ts assembles them into the document.
import type { RouteName } from '../contracts';
import { LIST_QUERY_SCHEMA } from './schemas';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ref('Error') } },
});
const jsonResponse = (description: string, schema: unknown) => ({
  description,
  content: { 'application/json': { schema } },
});
export const tenantParam = {
  name: 'tenant',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
};
export const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^j-[a-z0-9]{20}$' },
};
export const pathParam = { name: 'path', in: 'path', required: true, schema: { type: 'string' } };
export const nameParam = {
  name: 'name',
  in: 'path',
  required: true,
  schema: { type: 'string', examples: ['chart.svg', 'artifacts/fit.csv'] },
};
const common = {
  '401': errorResponse('Missing or invalid API key.'),
  '404': errorResponse("Unknown tenant or job, or another tenant's."),
};
const security = [{ bearer: [] }, { apiKey: [] }];

const operatorSecurity = [{ operatorBearer: [] }, { operatorApiKey: [] }];
const operatorErrors = {
  '401': errorResponse('Missing or unknown key.'),
  '403': errorResponse("A tenant's key: the operator API needs the operator key."),
  '404': errorResponse('The operator API is off (OPERATOR_KEY_HASH unset).'),
};
const gauge = { type: 'object', properties: { used: { type: 'number' }, max: { type: 'number' } } };
const usageParams = [
  {
    name: 'from',
    in: 'query',
    required: false,
    schema: { type: 'string', description: 'ISO 8601; default to − 30 days' },
  },
  {
    name: 'to',
    in: 'query',
    required: false,
    schema: { type: 'string', description: 'ISO 8601, exclusive; default now' },
  },
  { name: 'groupBy', in: 'query', required: false, schema: { enum: ['day', 'none'], default: 'none' } },
];
const usageRow = {
  type: 'object',
  properties: {
    tenant: { type: 'string' },
    day: { type: ['string', 'null'] },
    jobs: { type: 'integer' },
    vcpuSeconds: { type: 'number' },
    gbSeconds: { type: 'number' },
    estimatedCost: { type: 'number' },
    currency: { type: 'string' },
  },
};
const usageContent = {
  description: 'Usage and cost of the jobs created in the period (JSON, or CSV with Accept: text/csv).',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: {
          from: { type: 'string' },
          to: { type: 'string' },
          groupBy: { type: 'string' },
          rows: { type: 'array', items: usageRow },
        },
      },
    },
    'text/csv': { schema: { type: 'string' } },
  },
};

/** One operation per route of the routes table (a route without one does not compile). */
export const OPERATIONS: Record<RouteName, Record<string, unknown>> = {
  submitJob: {
    operationId: 'submitJob',
    security,
    parameters: [
      { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 200 } },
    ],
    requestBody: { required: true, content: { 'application/json': { schema: ref('JobRequest') } } },
    responses: {
      '200': jsonResponse('Repeat of an earlier submission with the same Idempotency-Key.', ref('SubmitResponse')),
      '202': {
        ...jsonResponse('Accepted and queued.', ref('SubmitResponse')),
        headers: { Location: { schema: { type: 'string' } } },
      },
      '400': errorResponse('Validation failed (every field at once).'),
      ...common,
      '409': errorResponse('Idempotency-Key reused with a different body.'),
      '413': errorResponse('Body too large.'),
      '415': errorResponse('Not JSON.'),
      '429': {
        ...errorResponse("The tenant's queue is full."),
        headers: { 'Retry-After': { schema: { type: 'integer' } } },
      },
      '503': errorResponse('Could not start the job; retry.'),
    },
  },
  listJobs: {
    operationId: 'listJobs',
    security,
    parameters: Object.entries(LIST_QUERY_SCHEMA).map(([name, schema]) => ({
      name,
      in: 'query',
      required: false,
      schema,
    })),
    responses: {
      '200': jsonResponse('A page of jobs, newest first.', {
        type: 'object',
        properties: {
          jobs: { type: 'array', items: ref('JobStatus') },
          continuationToken: { type: ['string', 'null'] },
        },
      }),
      '400': errorResponse('Bad filter.'),
      ...common,
    },
  },
  getJob: {
    operationId: 'getJob',
    security,
    responses: { '200': jsonResponse('The job status.', ref('JobStatus')), ...common },
  },
  cancelJob: {
    operationId: 'cancelJob',
    security,
    responses: {
      '202': jsonResponse('Cancel requested; the group is deleted.', { type: 'object' }),
      ...common,
      '409': errorResponse('The job already finished.'),
    },
  },
  getJobLogs: {
    operationId: 'getJobLogs',
    security,
    parameters: [
      { name: 'tail', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } },
      {
        name: 'follow',
        in: 'query',
        required: false,
        schema: { type: 'boolean' },
        description: 'Long poll: waits (up to ~20 s) until the log grows past `since` or the job ends.',
      },
      {
        name: 'since',
        in: 'query',
        required: false,
        schema: { type: 'integer', minimum: 0 },
        description: 'With follow: the X-Log-Offset of the previous answer; only text after it is returned.',
      },
    ],
    responses: {
      '200': {
        description: 'Container logs (with follow: the new text).',
        headers: {
          'X-Log-Offset': { schema: { type: 'integer' }, description: 'Bytes of log so far: the next since.' },
          'X-Job-State': { schema: { type: 'string' }, description: "The job's state; follow ends at a final one." },
        },
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
      ...common,
      '409': errorResponse('No logs yet.'),
    },
  },
  getJobResult: {
    operationId: 'getJobResult',
    security,
    responses: {
      '200': jsonResponse("The batch's result JSON (for the default model: the fit).", {}),
      ...common,
      '409': errorResponse('The job has not finished.'),
    },
  },
  getTenant: {
    operationId: 'getTenant',
    security,
    responses: { '200': jsonResponse('Limits, running and queued jobs, usage.', { type: 'object' }), ...common },
  },
  listArtifacts: {
    operationId: 'listArtifacts',
    security,
    responses: {
      '200': jsonResponse("The job's archived files (empty before teardown archived them).", {
        type: 'object',
        properties: {
          artifacts: {
            type: 'array',
            items: {
              type: 'object',
              required: ['name', 'contentType', 'bytes', 'link'],
              properties: {
                name: { type: 'string', examples: ['chart.svg', 'result.json', 'logs.txt', 'artifacts/fit.csv'] },
                contentType: { type: 'string' },
                bytes: { type: 'integer' },
                link: { type: 'string', description: 'The artifact route (open it with the same key).' },
              },
            },
          },
        },
      }),
      ...common,
    },
  },
  getArtifact: {
    operationId: 'getArtifact',
    security,
    responses: {
      '200': {
        description: 'The file, with its content type (the chart is image/svg+xml).',
        content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
      },
      ...common,
    },
  },
  getTenantUsage: {
    operationId: 'getTenantUsage',
    security,
    parameters: usageParams,
    responses: { '200': usageContent, '400': errorResponse('Bad period.'), ...common },
  },
  getWebhookSecret: {
    operationId: 'getWebhookSecret',
    security,
    responses: {
      '200': jsonResponse(
        'The secret this tenant\'s webhook receiver verifies X-AciBatch-Signature with (t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">).',
        {
          type: 'object',
          properties: { secret: { type: 'string' }, header: { type: 'string' }, scheme: { type: 'string' } },
        },
      ),
      ...common,
    },
  },
  adminTenants: {
    operationId: 'adminTenants',
    security: operatorSecurity,
    parameters: usageParams.filter((p) => p.name !== 'groupBy'),
    responses: {
      '200': jsonResponse('Every tenant: limits, running, queued, cores, usage and cost in the period.', {
        type: 'object',
        properties: {
          from: { type: 'string' },
          to: { type: 'string' },
          tenants: { type: 'array', items: { type: 'object' } },
        },
      }),
      ...operatorErrors,
    },
  },
  adminGroups: {
    operationId: 'adminGroups',
    security: operatorSecurity,
    responses: {
      '200': jsonResponse('Every container group the controller owns (orphan: the sweeper will delete it).', {
        type: 'object',
        properties: {
          groups: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                name: { type: 'string' },
                tenant: { type: ['string', 'null'] },
                jobId: { type: ['string', 'null'] },
                state: { type: ['string', 'null'] },
                jobState: { type: ['string', 'null'] },
                createdAt: { type: ['string', 'null'] },
                ageSeconds: { type: ['integer', 'null'] },
                orphan: { type: 'boolean' },
                reason: { type: 'string' },
              },
            },
          },
        },
      }),
      ...operatorErrors,
    },
  },
  adminCapacity: {
    operationId: 'adminCapacity',
    security: operatorSecurity,
    responses: {
      '200': jsonResponse('Groups, cores and creates in the last 5 minutes against the caps; jobs queued.', {
        type: 'object',
        properties: {
          groups: gauge,
          cores: gauge,
          createsLast5Min: gauge,
          queued: { type: 'integer' },
          asOf: { type: 'string' },
        },
      }),
      ...operatorErrors,
    },
  },
  adminUsage: {
    operationId: 'adminUsage',
    security: operatorSecurity,
    parameters: usageParams,
    responses: { '200': usageContent, '400': errorResponse('Bad period.'), ...operatorErrors },
  },
  health: { operationId: 'health', security: [], responses: { '200': jsonResponse('Alive.', { type: 'object' }) } },
  openapi: {
    operationId: 'openapi',
    security: [],
    responses: { '200': jsonResponse('This document.', { type: 'object' }) },
  },
  ui: {
    operationId: 'dashboard',
    security: [],
    responses: {
      '200': {
        description: 'The dashboard page or one of its assets.',
        content: { 'text/html': { schema: { type: 'string' } } },
      },
      '404': errorResponse('No such asset.'),
    },
  },
  callback: {
    operationId: 'jobCallback',
    security: [{ callbackToken: [] }],
    requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
    responses: {
      '200': jsonResponse('Job already finished; ignored.', { type: 'object' }),
      '202': jsonResponse('Accepted.', { type: 'object' }),
      '400': errorResponse('Bad body.'),
      '401': errorResponse('Bad token.'),
      '404': errorResponse('Unknown job.'),
    },
  },
  pullStart: {
    operationId: 'jobPullStart',
    summary: "Pull mode: the agent fetches its start (batch-image README, 'Pull mode').",
    security: [{ callbackToken: [] }],
    requestBody: { required: false, content: { 'application/json': { schema: { type: 'object' } } } },
    responses: {
      '200': jsonResponse('The start (`{jobId, input?, command?}`), or `{"cancel": true}`.', { type: 'object' }),
      '204': { description: 'Not yet: ask again (after Retry-After seconds).' },
      '401': errorResponse('Bad token.'),
      '404': errorResponse('Unknown, finished or not a pull-mode job.'),
    },
  },
  pullResult: {
    operationId: 'jobPullResult',
    summary: "Pull mode: the agent uploads what GET /result would answer; stored as the job's result.json.",
    security: [{ callbackToken: [] }],
    requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
    responses: {
      '201': jsonResponse('Stored.', { type: 'object' }),
      '400': errorResponse('Not a JSON object.'),
      '401': errorResponse('Bad token.'),
      '404': errorResponse('Unknown, finished or not a pull-mode job.'),
      '413': errorResponse('Larger than the result limit (64 MiB).'),
    },
  },
  pullArtifact: {
    operationId: 'jobPullArtifact',
    summary: 'Pull mode: the agent uploads one artifact (raw bytes with its Content-Type).',
    security: [{ callbackToken: [] }],
    requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string' } } } },
    responses: {
      '201': jsonResponse('Stored.', { type: 'object' }),
      '401': errorResponse('Bad token.'),
      '404': errorResponse(
        'Unknown, finished or not a pull-mode job, or a name outside [A-Za-z0-9][A-Za-z0-9._-]{0,254}.',
      ),
      '413': errorResponse('Larger than the artifact limit.'),
    },
  },
};
