// Small helpers shared by the ARM, registry and identity listeners.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { answerExpectContinue, BodyTooLargeError, readBoundedBody, tooLargeHeaders } from '../kit';

export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly target?: string,
  ) {
    super(message);
  }
}

/** The request body, at most `limit` bytes; beyond → 413 `RequestEntityTooLarge` (local/kit's one 413 behaviour). */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  try {
    return await readBoundedBody(req, limit);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw tooLarge(limit);
    throw err;
  }
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'RequestEntityTooLarge', `The request body exceeds ${limit} bytes.`, {
    ...tooLargeHeaders,
  });
}

/** A client that sends `Expect: 100-continue` with a declared body over the cap gets the 413 instead of "100 Continue". */
export function refuseOversizedUploads(server: Server, limit = MAX_BODY_BYTES): void {
  answerExpectContinue(server, limit, (_req, res) => {
    const e = tooLarge(limit);
    sendJson(res, e.status, { error: { code: e.code, message: e.message } }, e.headers);
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  const h: Record<string, string | number> = { ...headers };
  if (text) {
    h['Content-Type'] = 'application/json; charset=utf-8';
  }
  h['Content-Length'] = Buffer.byteLength(text);
  res.writeHead(status, h);
  res.end(text);
}

/** Every ARM response carries the correlation headers real ARM sends (the SDK only reads them for tracing). */
export function armHeaders(req: IncomingMessage): Record<string, string> {
  const clientId = req.headers['x-ms-client-request-id'];
  const requestId = randomUUID();
  const h: Record<string, string> = {
    'x-ms-request-id': requestId,
    'x-ms-correlation-request-id': requestId,
    'x-ms-routing-request-id': `LOCAL:${new Date().toISOString().replace(/[-:.]/g, '')}:${requestId}`,
  };
  if (typeof clientId === 'string') h['x-ms-client-request-id'] = clientId;
  return h;
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
