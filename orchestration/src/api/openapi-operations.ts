// One OpenAPI operation per route of the routes table (contracts/routes.ts): the Record type makes a
// route without an operation a compile error. openapi.ts assembles them into the document; the
// usage and operator operations live in openapi-operations-admin.ts.
import type { RouteName } from '../contracts';
import { ADMIN_OPERATIONS } from './openapi-operations-admin';
import { common, errorResponse, jsonResponse, ref, security } from './openapi-parts';
import { TASKS_QUERY_SCHEMA } from './job-tasks';
import { LIST_QUERY_SCHEMA } from './schemas';

const queryParams = (schemas: Record<string, unknown>) =>
  Object.entries(schemas).map(([name, schema]) => ({ name, in: 'query', required: false, schema }));

export { idParam, nameParam, pathParam, tenantParam } from './openapi-parts';

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
    parameters: [
      ...queryParams(LIST_QUERY_SCHEMA),
      {
        name: 'includeTasks',
        in: 'query',
        required: false,
        schema: { type: 'boolean', default: false },
        description: 'Also list the tasks of job arrays (by default they are left out: see …/jobs/{id}/tasks).',
      },
    ],
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
      '202': jsonResponse('Cancel requested; the group is deleted (an array: every live task is cancelled too).', {
        type: 'object',
        properties: {
          id: { type: 'string' },
          state: { type: 'string' },
          cancelRequested: { type: 'boolean' },
          tasksCanceled: { type: 'integer', description: "An array's parent: live tasks cancelled by this request." },
        },
      }),
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
  listTasks: {
    operationId: 'listJobTasks',
    summary: "A job array's tasks, by index (each a job of its own at …/jobs/{id}-{index}).",
    security,
    parameters: queryParams(TASKS_QUERY_SCHEMA),
    responses: {
      '200': jsonResponse(
        'A page of the tasks that have started, by index; tasks not started yet are only counted (notStarted).',
        {
          type: 'object',
          required: ['parent', 'state', 'count', 'parallelism', 'counts', 'notStarted', 'tasks', 'continuationToken'],
          properties: {
            parent: { type: 'string', description: "The parent's job id." },
            state: { type: 'string', description: "The parent's state." },
            count: { type: 'integer', description: 'Tasks of the array.' },
            parallelism: { type: 'integer', description: 'Tasks in flight at once.' },
            counts: {
              type: 'object',
              additionalProperties: { type: 'integer' },
              description: 'Tasks per state, as the parent status shows them (not started: queued).',
            },
            notStarted: { type: 'integer', description: 'Tasks without an instance yet (not listed).' },
            tasks: { type: 'array', items: ref('JobStatus') },
            continuationToken: { type: ['string', 'null'] },
          },
        },
      ),
      '400': errorResponse('Bad query parameter (the field is named).'),
      ...common,
    },
  },
  ...ADMIN_OPERATIONS,
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
