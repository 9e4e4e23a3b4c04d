// The OpenAPI 3.1 document, built from the same schema objects the validators compile and from the
// routes table, with one operation per route (openapi-operations.ts).
import { ROUTE_PREFIX, ROUTES, type RouteName } from '../contracts';
import { idParam, nameParam, OPERATIONS, pathParam, tenantParam } from './openapi-operations';
import {
  ERROR_SCHEMA,
  JOB_REQUEST_SCHEMA,
  JOB_STATUS_SCHEMA,
  MODEL_INPUT_SCHEMA,
  SUBMIT_RESPONSE_SCHEMA,
} from './schemas';

/** The paths object, assembled from the routes table: path → its parameters and one entry per method. */
function paths(): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, route] of Object.entries(ROUTES) as [RouteName, (typeof ROUTES)[RouteName]][]) {
    const key = `${ROUTE_PREFIX}/${route.path.replace('{*', '{')}`;
    const params = [
      ...(route.path.includes('{tenant}') ? [tenantParam] : []),
      ...(route.path.includes('{id}') ? [idParam] : []),
      ...(route.path.includes('{*path}') ? [pathParam] : []),
      ...(/\{\*?name\}/.test(route.path) ? [nameParam] : []),
    ];
    out[key] ??= params.length ? { parameters: params } : {};
    out[key][route.method.toLowerCase()] = OPERATIONS[name];
  }
  return out;
}

export function buildOpenApi(version: string): Record<string, unknown> {
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
        operatorBearer: { type: 'http', scheme: 'bearer', description: 'The operator key (/api/admin/* only).' },
        operatorApiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
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
    paths: paths(),
  };
}
