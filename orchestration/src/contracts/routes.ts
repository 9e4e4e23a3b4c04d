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
  health: { fn: 'Health', method: 'GET', path: 'health' },
  openapi: { fn: 'OpenApi', method: 'GET', path: 'openapi.json' },
  callback: { fn: 'JobCallback', method: 'POST', path: 'callbacks/tenants/{tenant}/jobs/{id}' },
  ui: { fn: 'Dashboard', method: 'GET', path: 'ui/{*path}' },
} as const satisfies Record<string, { fn: string; method: 'GET' | 'POST'; path: string }>;
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

/** The links every job response carries. */
export const jobLinks = (tenant: string, id: string) => ({
  self: routeUrl('getJob', { tenant, id }),
  cancel: routeUrl('cancelJob', { tenant, id }),
  logs: routeUrl('getJobLogs', { tenant, id }),
  result: routeUrl('getJobResult', { tenant, id }),
});
