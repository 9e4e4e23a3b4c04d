// Building blocks of the OpenAPI operations (parameters, responses, security), shared by the job
// operations (openapi-operations.ts) and the usage/operator ones (openapi-operations-admin.ts).
import { JOB_ID_PATTERN } from '../contracts';

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ref('Error') } },
});
export const jsonResponse = (description: string, schema: unknown) => ({
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
  schema: { type: 'string', pattern: JOB_ID_PATTERN.source },
};
export const pathParam = { name: 'path', in: 'path', required: true, schema: { type: 'string' } };
export const nameParam = {
  name: 'name',
  in: 'path',
  required: true,
  schema: { type: 'string', examples: ['chart.svg', 'artifacts/fit.csv'] },
};
export const common = {
  '401': errorResponse('Missing or invalid API key.'),
  '404': errorResponse("Unknown tenant or job, or another tenant's."),
};
export const security = [{ bearer: [] }, { apiKey: [] }];
