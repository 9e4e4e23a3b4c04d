// Serves the app's HTTP triggers: builds the worker's RPC http request, invokes the function
// through the programming model and writes back the RPC http response (status, headers, cookies, body).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RegisteredFunction } from './core-shim';
import type { InputData, Invoker } from './invoker';

interface Nullable<T> {
  value?: T;
}
interface RpcCookie {
  name: string;
  value: string;
  domain?: Nullable<string>;
  path?: Nullable<string>;
  expires?: Nullable<{ seconds?: number }>;
  secure?: Nullable<boolean>;
  httpOnly?: Nullable<boolean>;
  sameSite?: string;
  maxAge?: Nullable<number>;
}
interface RpcHttpResponse {
  statusCode?: string;
  headers?: Record<string, string>;
  cookies?: RpcCookie[];
  body?: { bytes?: Uint8Array; string?: string; json?: string };
}

export interface HttpResult {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

export function serializeCookie(c: RpcCookie): string {
  let s = `${c.name}=${c.value}`;
  if (c.domain?.value) s += `; Domain=${c.domain.value}`;
  if (c.path?.value) s += `; Path=${c.path.value}`;
  if (c.expires?.value?.seconds !== undefined)
    s += `; Expires=${new Date(c.expires.value.seconds * 1000).toUTCString()}`;
  if (c.maxAge?.value !== undefined) s += `; Max-Age=${c.maxAge.value}`;
  if (c.secure?.value) s += '; Secure';
  if (c.httpOnly?.value) s += '; HttpOnly';
  if (c.sameSite === 'lax') s += '; SameSite=Lax';
  else if (c.sameSite === 'strict') s += '; SameSite=Strict';
  else if (c.sameSite === 'explicitNone') s += '; SameSite=None';
  return s;
}

export async function invokeHttpFunction(
  invoker: Invoker,
  fn: RegisteredFunction,
  req: IncomingMessage,
  origin: string,
  body: Buffer,
  params: Record<string, string>,
  clientInputs: InputData[],
): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    headers[k] = Array.isArray(v) ? v.join(k === 'cookie' ? '; ' : ', ') : v;
  }
  // The query is left out so that HttpRequest reads it from the URL and keeps repeated keys.
  const http = { method: req.method ?? 'GET', url: origin + (req.url ?? '/'), headers, params, body: { bytes: body } };
  const inv = await invoker.invoke(fn, [{ name: fn.triggerName, data: { http } }, ...clientInputs]);
  const response = await inv.model.getResponse(inv.context, inv.result);
  const rpc = (response.returnValue as { http?: RpcHttpResponse } | undefined)?.http;
  if (!rpc) return { status: 204, headers: [], body: Buffer.alloc(0) };
  const out: [string, string][] = Object.entries(rpc.headers ?? {});
  for (const c of rpc.cookies ?? []) out.push(['set-cookie', serializeCookie(c)]);
  let payload: Buffer;
  if (rpc.body?.bytes)
    payload = Buffer.from(rpc.body.bytes.buffer, rpc.body.bytes.byteOffset, rpc.body.bytes.byteLength);
  else if (rpc.body?.string !== undefined) payload = Buffer.from(rpc.body.string);
  else if (rpc.body?.json !== undefined) payload = Buffer.from(rpc.body.json);
  else payload = Buffer.alloc(0);
  const status = Number(rpc.statusCode ?? 200);
  return {
    status: Number.isInteger(status) && status >= 100 && status <= 999 ? status : 500,
    headers: out,
    body: payload,
  };
}

export function writeResult(res: ServerResponse, r: HttpResult, head: boolean): void {
  const cookies: string[] = [];
  for (const [k, v] of r.headers) {
    if (k.toLowerCase() === 'set-cookie') cookies.push(v);
    else res.setHeader(k, v);
  }
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  res.statusCode = r.status;
  res.end(head ? undefined : r.body);
}
