// The OpenAPI operations of the usage reports and the operator API (issue 14): their own security
// scheme (the operator key), gauges and the usage row shared by JSON and CSV.
import type { RouteName } from '../contracts';
import { common, errorResponse, jsonResponse, security } from './openapi-parts';

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
type AdminRoute =
  'getTenantUsage' | 'getWebhookSecret' | 'adminTenants' | 'adminGroups' | 'adminCapacity' | 'adminUsage';

export const ADMIN_OPERATIONS: Record<AdminRoute & RouteName, Record<string, unknown>> = {
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
};
