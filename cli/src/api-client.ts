// The CLI's HTTP client of the controller API: the key as a header (never in a URL), per-request
// deadlines, and every non-2xx answer turned into a CliError that carries the API's code and message
// and the exit code scripts branch on (auth, API error, or a route this controller does not have yet).
import { CliError, EXIT } from './exit-codes';
import type { Connection } from './config';

export interface JobStatus {
  id: string;
  tenant: string;
  state: string;
  phase: string;
  progress: number;
  message: string;
  attempts: number;
  maxAttempts?: number;
  image: { ref: string; digest: string | null };
  resources: { cpu: number; memoryGb: number };
  container: { name: string; state: string; exitCode: number | null; ip: string | null };
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  usage: { vcpuSeconds: number; gbSeconds: number; estimatedCost: number; currency?: string };
  result: { urls: Record<string, string> } | null;
  error: { code: string; message: string; details?: { field: string; message: string }[] } | null;
  links?: Record<string, string>;
  /** A task of a job array: its parent's id and its index. */
  parent?: string;
  index?: number;
  /** A job array's parent: its tasks per state (while it runs, tasks not started yet count as queued). */
  array?: {
    count: number;
    parallelism: number;
    counts: Record<string, number>;
    selected?: { id: string; index: number; logLikelihood: number } | null;
  };
}

export const TERMINAL_STATES = ['succeeded', 'failed', 'canceled', 'timed_out'];

/** API error codes that mean "the route exists and answered": any other 404 means the route is missing. */
const ROUTE_EXISTS_404 = new Set(['NotFound', 'NoResult', 'NoArtifact', 'ArtifactNotFound']);

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string | undefined>;
  /** Per-request deadline; 0 for none (a followed log stream ends when the job ends). */
  timeoutMs?: number;
  /** Human name of the feature, for the "not available" message of a missing route. */
  feature?: string;
  signal?: AbortSignal;
}

export class ApiClient {
  constructor(
    readonly conn: Connection,
    readonly timeoutMs = 30_000,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** Path under the tenant, e.g. `/jobs/j-…`. */
  tenantPath(path = ''): string {
    return `/tenants/${encodeURIComponent(this.conn.tenant)}${path}`;
  }

  url(path: string, query: Record<string, string | undefined> = {}): string {
    const u = new URL(this.conn.api + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
    return u.toString();
  }

  /** Sends a request; resolves with the response when it is 2xx, throws a CliError otherwise. */
  async request(path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.conn.key}`,
      accept: 'application/json',
      ...opts.headers,
    };
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const signals = [opts.signal, timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    const url = this.url(path, opts.query);
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method: opts.method ?? 'GET',
        headers,
        body,
        signal: signals.length ? AbortSignal.any(signals) : undefined,
        redirect: 'error',
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      if (opts.signal?.aborted) throw err;
      const why =
        err.name === 'TimeoutError'
          ? `no answer within ${Math.round(timeoutMs / 1000)} s`
          : (err.cause?.code ?? err.cause?.message ?? err.message);
      throw new CliError(`cannot reach the API at ${this.conn.api} (${why})`, EXIT.api);
    }
    if (res.ok) return res;
    throw await errorOf(res, opts.method ?? 'GET', path, opts.feature);
  }

  async json<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(path, opts);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(`the API answered ${path} with something that is not JSON: ${text.slice(0, 200)}`, EXIT.api);
    }
  }

  status(id: string): Promise<JobStatus> {
    return this.json<JobStatus>(this.tenantPath(`/jobs/${encodeURIComponent(id)}`));
  }
}

/** Builds the CliError of a non-2xx answer: the API's own code and message, and the exit code. */
export async function errorOf(res: Response, method: string, path: string, feature?: string): Promise<CliError> {
  const text = await res.text().catch(() => '');
  let parsed: { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const e = parsed?.error;
  const code = typeof e?.code === 'string' ? e.code : `HTTP${res.status}`;
  const message = typeof e?.message === 'string' ? e.message : text.trim().slice(0, 300) || res.statusText;
  const details = Array.isArray(e?.details)
    ? (e.details as { field?: unknown; message?: unknown }[]).map((d) =>
        typeof d === 'object' && d && 'field' in d ? `${String(d.field)}: ${String(d.message)}` : JSON.stringify(d),
      )
    : [];
  const apiError = { status: res.status, code, message, ...(e?.details !== undefined ? { details: e.details } : {}) };
  if (res.status === 401 || res.status === 403)
    return new CliError(`${res.status} ${code}: ${message}`, EXIT.auth, details, apiError);
  // A 404 without one of the API's own "not found" codes is a route this controller does not serve.
  if (res.status === 404 && !ROUTE_EXISTS_404.has(code)) {
    return new CliError(
      `${feature ?? `${method} ${path}`} is not available on this API (404 ${code}: ${message}); ` +
        'the controller is older than this CLI (the route arrives with issue 14)',
      EXIT.unavailable,
      details,
      apiError,
    );
  }
  const retry = res.headers.get('retry-after');
  return new CliError(
    `${res.status} ${code}: ${message}${retry ? ` (retry after ${retry} s)` : ''}`,
    EXIT.api,
    details,
    apiError,
  );
}
