// The OpenAPI 3.1 document, built from the same schema objects the validators compile.
import { ROUTES } from '../contracts';
import {
  ERROR_SCHEMA,
  JOB_REQUEST_SCHEMA,
  JOB_STATUS_SCHEMA,
  LIST_QUERY_SCHEMA,
  MODEL_INPUT_SCHEMA,
  SUBMIT_RESPONSE_SCHEMA,
} from './schemas';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ref('Error') } },
});
const jsonResponse = (description: string, schema: unknown) => ({
  description,
  content: { 'application/json': { schema } },
});
const tenantParam = {
  name: 'tenant',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
};
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^j-[a-z0-9]{20}$' } };
const common = {
  '401': errorResponse('Missing or invalid API key.'),
  '404': errorResponse("Unknown tenant or job, or another tenant's."),
};
const security = [{ bearer: [] }, { apiKey: [] }];

export function buildOpenApi(version: string): Record<string, unknown> {
  const p = (route: string) => `/api/${route}`;
  return {
    openapi: '3.1.0',
    info: {
      title: 'aci-batch',
      version,
      description:
        "Serverless batch controller for Azure Container Instances. The tenant is the API key's; a key for another tenant's path gets 404.",
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: "The tenant's API key." },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        callbackToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'Per-job HMAC token given to the job container.',
        },
      },
      schemas: {
        JobRequest: JOB_REQUEST_SCHEMA,
        RegimeSwitchingInput: MODEL_INPUT_SCHEMA,
        JobStatus: JOB_STATUS_SCHEMA,
        SubmitResponse: SUBMIT_RESPONSE_SCHEMA,
        Error: ERROR_SCHEMA,
      },
    },
    paths: {
      [p(ROUTES.jobs)]: {
        parameters: [tenantParam],
        post: {
          operationId: 'submitJob',
          security,
          parameters: [
            { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 200 } },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: ref('JobRequest') } } },
          responses: {
            '200': jsonResponse(
              'Repeat of an earlier submission with the same Idempotency-Key.',
              ref('SubmitResponse'),
            ),
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
        get: {
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
      },
      [p(ROUTES.job)]: {
        parameters: [tenantParam, idParam],
        get: {
          operationId: 'getJob',
          security,
          responses: { '200': jsonResponse('The job status.', ref('JobStatus')), ...common },
        },
      },
      [p(ROUTES.cancel)]: {
        parameters: [tenantParam, idParam],
        post: {
          operationId: 'cancelJob',
          security,
          responses: {
            '202': jsonResponse('Cancel requested; the group is deleted.', { type: 'object' }),
            ...common,
            '409': errorResponse('The job already finished.'),
          },
        },
      },
      [p(ROUTES.logs)]: {
        parameters: [tenantParam, idParam],
        get: {
          operationId: 'getJobLogs',
          security,
          responses: {
            '200': { description: 'Container logs.', content: { 'text/plain': { schema: { type: 'string' } } } },
            ...common,
            '409': errorResponse('No logs yet.'),
          },
        },
      },
      [p(ROUTES.result)]: {
        parameters: [tenantParam, idParam],
        get: {
          operationId: 'getJobResult',
          security,
          responses: {
            '200': jsonResponse("The batch's result JSON (for the default model: the fit).", {}),
            ...common,
            '409': errorResponse('The job has not finished.'),
          },
        },
      },
      [p(ROUTES.tenant)]: {
        parameters: [tenantParam],
        get: {
          operationId: 'getTenant',
          security,
          responses: { '200': jsonResponse('Limits, running and queued jobs, usage.', { type: 'object' }), ...common },
        },
      },
      [p(ROUTES.health)]: {
        get: { operationId: 'health', security: [], responses: { '200': jsonResponse('Alive.', { type: 'object' }) } },
      },
      [p(ROUTES.openapi)]: {
        get: {
          operationId: 'openapi',
          security: [],
          responses: { '200': jsonResponse('This document.', { type: 'object' }) },
        },
      },
      [p(ROUTES.callback)]: {
        parameters: [tenantParam, idParam],
        post: {
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
      },
    },
  };
}
