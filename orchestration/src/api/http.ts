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
  validationFailed,
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
  const depth = maxNesting(text);
  if (depth > MAX_JSON_DEPTH)
    throw invalidJson(`it nests ${depth} levels deep; at most ${MAX_JSON_DEPTH} are accepted (flatten the input)`);
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    throw invalidJson((e as Error).message);
  }
  const infinite = nonFinite(value);
  if (infinite.length)
    throw validationFailed(
      infinite.map((field) => ({ field, message: 'must be a finite number (it overflows a 64-bit float)' })),
    );
  return value;
}

/** Deepest nesting a JSON body may have (bounded before parsing: deep input overflowed the stack). */
export const MAX_JSON_DEPTH = 64;

/** The deepest bracket nesting of a JSON text, strings skipped (linear, no recursion). */
function maxNesting(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/** Paths of numbers JSON.parse turned into ±Infinity (e.g. 1e309), walked without recursion. */
function nonFinite(root: unknown): string[] {
  const found: string[] = [];
  const stack: { v: unknown; path: string }[] = [{ v: root, path: '' }];
  while (stack.length && found.length < 20) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'number' && !Number.isFinite(v)) found.push(path || '(body)');
    else if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, path: `${path}[${i}]` }));
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) stack.push({ v: x, path: path ? `${path}.${k}` : k });
  }
  return found.sort();
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
