// The seam between handlers and the Functions host: a minimal request/response shape that
// @azure/functions' HttpRequest satisfies structurally, so unit tests call handlers directly.
import type { Readable } from 'node:stream';
import {
  CodedError,
  internal,
  invalidJson,
  notFound,
  payloadTooLarge,
  unauthorized,
  unsupportedMediaType,
} from '../errors';
import { apiKeyFromHeaders, authenticate } from '../tenants/auth';
import type { Tenant, TenantDirectory } from '../tenants/types';
import type { Logger } from '../logging';
import { SEGMENT_PATTERN } from './schemas';

export interface ApiRequest {
  readonly method: string;
  readonly url: string;
  readonly params: Record<string, string | undefined>;
  readonly query: URLSearchParams;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
  /** The raw body (binary uploads); @azure/functions' HttpRequest has it. */
  arrayBuffer?(): Promise<ArrayBuffer>;
}

export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  jsonBody?: unknown;
  /** Text, bytes, or a stream (artifacts from Blob are streamed, not held in memory). */
  body?: string | Buffer | Readable;
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse => ({
  status,
  headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
  jsonBody: body,
});

export function errorResponse(err: CodedError): ApiResponse {
  return json(err.httpStatus, err.toBody(), err.headers ?? {});
}

/** Wraps a handler: coded errors become their response; anything else is a logged 500 without details. */
export function handle(
  log: Logger,
  name: string,
  fn: (req: ApiRequest) => Promise<ApiResponse>,
): (req: ApiRequest) => Promise<ApiResponse> {
  return async (req) => {
    try {
      return await fn(req);
    } catch (e) {
      if (e instanceof CodedError) {
        if (e.httpStatus >= 500) log.warn({ fn: name, code: e.code, msg: e.message }, 'request failed');
        return errorResponse(e);
      }
      log.error(
        { fn: name, err: e instanceof Error ? { message: e.message, name: e.name } : String(e) },
        'unhandled error',
      );
      return errorResponse(internal());
    }
  };
}

/** Reads a JSON body within the size limit (413 beyond it; checked on the header and on the bytes). */
export async function readJson(req: ApiRequest, limitBytes: number, required = true): Promise<unknown> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (Number.isFinite(declared) && declared > limitBytes) throw payloadTooLarge(limitBytes);
  const text = await req.text();
  if (Buffer.byteLength(text, 'utf8') > limitBytes) throw payloadTooLarge(limitBytes);
  if (text.trim() === '') {
    if (required) throw invalidJson('the body is empty; send a JSON object');
    return undefined;
  }
  const type = req.headers.get('content-type');
  if (type && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) throw unsupportedMediaType();
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw invalidJson((e as Error).message);
  }
}

/** A path segment that fails the pattern cannot name anything: 404, before any lookup. */
export function segment(req: ApiRequest, name: string, pattern: RegExp = SEGMENT_PATTERN): string {
  const v = req.params[name];
  if (!v || !pattern.test(v)) throw notFound(name === 'tenant' ? 'tenant' : 'job');
  return v;
}

/**
 * Auth rule: the key decides the tenant. A valid key for tenant A on /tenants/B/... is a 404 (as if
 * B did not exist), so keys cannot be used to probe for other tenants. No/unknown key is a 401.
 */
export function authorizeTenant(req: ApiRequest, directory: TenantDirectory): Tenant {
  const auth = authenticate(
    directory,
    apiKeyFromHeaders((n) => req.headers.get(n)),
  );
  if (!auth) throw unauthorized();
  const pathTenant = segment(req, 'tenant');
  if (auth.tenant.id !== pathTenant) throw notFound('tenant');
  return auth.tenant;
}
