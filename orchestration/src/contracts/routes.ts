// Every HTTP route, once: its registered function name, method and path. Registration, the OpenAPI
// document, the links in responses and the callback URL baked into containers are all built from
// this table, so a path is spelled in exactly one place.

/** The `api` route prefix of host.json. */
export const ROUTE_PREFIX = '/api';

export const ROUTES = {
  submitJob: { fn: 'SubmitJob', method: 'POST', path: 'tenants/{tenant}/jobs' },
  listJobs: { fn: 'ListJobs', method: 'GET', path: 'tenants/{tenant}/jobs' },
  getJob: { fn: 'GetJob', method: 'GET', path: 'tenants/{tenant}/jobs/{id}' },
  cancelJob: { fn: 'CancelJob', method: 'POST', path: 'tenants/{tenant}/jobs/{id}/cancel' },
  getJobLogs: { fn: 'GetJobLogs', method: 'GET', path: 'tenants/{tenant}/jobs/{id}/logs' },
  getJobResult: { fn: 'GetJobResult', method: 'GET', path: 'tenants/{tenant}/jobs/{id}/result' },
  getTenant: { fn: 'GetTenant', method: 'GET', path: 'tenants/{tenant}' },
  listArtifacts: { fn: 'ListJobArtifacts', method: 'GET', path: 'tenants/{tenant}/jobs/{id}/artifacts' },
  // A job array's tasks (issue 13), each a job of its own at …/jobs/{id}-{index}.
  listTasks: { fn: 'ListJobTasks', method: 'GET', path: 'tenants/{tenant}/jobs/{id}/tasks' },
  getArtifact: { fn: 'GetJobArtifact', method: 'GET', path: 'tenants/{tenant}/jobs/{id}/artifacts/{*name}' },
  getTenantUsage: { fn: 'GetTenantUsage', method: 'GET', path: 'tenants/{tenant}/usage' },
  getWebhookSecret: { fn: 'GetWebhookSecret', method: 'GET', path: 'tenants/{tenant}/webhook-secret' },
  adminTenants: { fn: 'OperatorTenants', method: 'GET', path: 'admin/tenants' },
  adminGroups: { fn: 'OperatorGroups', method: 'GET', path: 'admin/groups' },
  adminCapacity: { fn: 'OperatorCapacity', method: 'GET', path: 'admin/capacity' },
  adminUsage: { fn: 'OperatorUsage', method: 'GET', path: 'admin/usage' },
  health: { fn: 'Health', method: 'GET', path: 'health' },
  openapi: { fn: 'OpenApi', method: 'GET', path: 'openapi.json' },
  callback: { fn: 'JobCallback', method: 'POST', path: 'callbacks/tenants/{tenant}/jobs/{id}' },
  // Pull mode (agent only, job token): the start fetched by a group nothing can call, and its uploads.
  pullStart: { fn: 'JobPullStart', method: 'POST', path: 'callbacks/tenants/{tenant}/jobs/{id}/start' },
  pullResult: { fn: 'JobPullResult', method: 'PUT', path: 'callbacks/tenants/{tenant}/jobs/{id}/result' },
  pullArtifact: { fn: 'JobPullArtifact', method: 'PUT', path: 'callbacks/tenants/{tenant}/jobs/{id}/artifacts/{name}' },
  ui: { fn: 'Dashboard', method: 'GET', path: 'ui/{*path}' },
} as const satisfies Record<string, { fn: string; method: 'GET' | 'POST' | 'PUT'; path: string }>;
export type RouteName = keyof typeof ROUTES;

/** The timer-triggered sweeper (not a route). */
export const SWEEPER_FUNCTION = 'Sweeper';

/** `/api/…` path of a route with its `{param}`s filled in (values are URL-encoded). */
export function routeUrl(route: RouteName, params: Record<string, string> = {}): string {
  const path = ROUTES[route].path.replace(/\{\*?(\w+)\}/g, (_, k: string) => {
    const v = params[k] ?? (ROUTES[route].path.includes(`{*${k}}`) ? '' : undefined);
    if (v === undefined) throw new Error(`routeUrl(${route}): missing {${k}}`);
    return encodeURIComponent(v);
  });
  return `${ROUTE_PREFIX}/${path}`;
}

/**
 * The route template given to the Functions host. Azure Functions refuses a template that starts with
 * `admin` ("The specified route conflicts with one or more built in routes", Azure/azure-functions-host
 * issue #1781, even under the `api` prefix), so the operator routes' first segment is a parameter
 * constrained to the literal: the URL stays /api/admin/… and the table keeps the plain path.
 */
export function hostRouteTemplate(route: RouteName): string {
  return ROUTES[route].path.replace(/^admin\//, '{area:regex(^admin$)}/');
}

/** `/api/…` link to one artifact of a job (each segment of a nested name encoded on its own). */
export const artifactUrl = (tenant: string, id: string, name: string): string =>
  `${routeUrl('listArtifacts', { tenant, id })}/${name.split('/').map(encodeURIComponent).join('/')}`;

/** The links every job response carries. */
export const jobLinks = (tenant: string, id: string) => ({
  self: routeUrl('getJob', { tenant, id }),
  cancel: routeUrl('cancelJob', { tenant, id }),
  logs: routeUrl('getJobLogs', { tenant, id }),
  result: routeUrl('getJobResult', { tenant, id }),
  artifacts: routeUrl('listArtifacts', { tenant, id }),
});
