// The dashboard's only way to the API: the key from session storage as a header (never in a URL),
// same origin (the page is served by the API itself), and errors that keep the API's code and
// message. A 404 that is not one of the API's own answers means "this controller lacks the route".

const KEY = 'aci-batch.key';
const TENANT = 'aci-batch.tenant';

/** The API base (…/api/), from this module's own URL (…/api/ui/api.js). */
export const API_BASE = new URL('..', import.meta.url);

export const session = {
  get key() {
    return sessionStorage.getItem(KEY) ?? '';
  },
  get tenant() {
    return sessionStorage.getItem(TENANT) ?? '';
  },
  save(key, tenant) {
    sessionStorage.setItem(KEY, key);
    if (tenant) sessionStorage.setItem(TENANT, tenant);
    else sessionStorage.removeItem(TENANT);
  },
  forget() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(TENANT);
  },
};

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
  /** The route does not exist on this controller (an older one). */
  get unavailable() {
    return this.status === 404 && !['NotFound', 'NoResult', 'NoArtifact', 'ArtifactNotFound'].includes(this.code);
  }
  get text() {
    if (this.unavailable)
      return this.code.startsWith('HTTP') || this.code === 'RouteNotFound'
        ? 'not available on this API (the route does not exist yet)'
        : `not available on this API: ${this.message}`;
    if (this.status === 401) return 'the key was refused (401): check it';
    if (this.status === 403) return 'this key may not see this (403)';
    return `${this.status} ${this.code}: ${this.message}`;
  }
}

const ROUTE_OK = /^[a-z0-9._~/-]*$/i;

/**
 * Calls `path` (relative to /api/, e.g. "tenants/contoso/jobs") with the key. `as`: json | text | blob.
 * Query values go in `query` and are encoded; the key never does.
 */
export async function api(path, { method = 'GET', body, query, as = 'json', signal } = {}) {
  if (!ROUTE_OK.test(path)) throw new Error(`bad API path ${path}`);
  const url = new URL(path, API_BASE);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) url.searchParams.set(k, v);
  const headers = { Authorization: `Bearer ${session.key}`, Accept: as === 'json' ? 'application/json' : '*/*' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    credentials: 'omit',
    cache: 'no-store',
    redirect: 'error',
  });
  if (!res.ok) {
    let code = `HTTP${res.status}`;
    let message = res.statusText;
    let details;
    try {
      const e = (await res.json()).error;
      if (e && typeof e.code === 'string') ({ code, message, details } = e);
    } catch {
      // not the API's error shape (e.g. an empty 404 of a missing route)
    }
    throw new ApiError(res.status, code, message, details);
  }
  if (as === 'text') return res.text();
  if (as === 'blob') return res.blob();
  return res.json();
}

/** Path under the signed-in tenant. */
export function tenantPath(rest = '') {
  return `tenants/${encodeURIComponent(session.tenant)}${rest}`;
}
