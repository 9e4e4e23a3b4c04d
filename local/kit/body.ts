// The bounded request-body reader, with one 413 behaviour for every local server (host, emulator):
// - a declared Content-Length over the cap is refused before a byte is read;
// - a client that asks first (Expect: 100-continue) gets that refusal instead of "100 Continue", so it
//   never uploads the body (answerExpectContinue);
// - a body that turns out larger than declared (or chunked) stops being buffered at the cap and the
//   rest is drained, not reset: destroying the socket while the client still sends can make the
//   client's TCP stack discard the 413 unread;
// - every refusal says `Connection: close` (the connection carries an unread body).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export class BodyTooLargeError extends Error {
  readonly status = 413;
  constructor(readonly limit: number) {
    super(`The request body is larger than ${limit} bytes.`);
    this.name = 'BodyTooLargeError';
  }
}

/** True when the request's Content-Length already says it is over the cap. */
export function declaresTooLarge(req: IncomingMessage, limit: number): boolean {
  const declared = Number(req.headers['content-length']);
  return Number.isFinite(declared) && declared > limit;
}

/**
 * Reads the whole body, at most `limit` bytes; rejects with BodyTooLargeError beyond (the rest of the
 * body is drained in the background). Call before writing the response.
 */
export function readBoundedBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (declaresTooLarge(req, limit)) {
    req.resume();
    return Promise.reject(new BodyTooLargeError(limit));
  }
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        fail(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) ok(Buffer.concat(chunks));
    });
    req.on('error', fail);
  });
}

/** The headers every 413 carries: the connection has an unread body behind the answer. */
export const tooLargeHeaders: Readonly<Record<string, string>> = { Connection: 'close' };

/**
 * Answers `Expect: 100-continue` itself: over the cap → `refuse(req, res)` (the server's own 413 body,
 * with tooLargeHeaders) instead of "100 Continue"; otherwise "100 Continue" and the usual request event.
 */
export function answerExpectContinue(
  server: Server,
  limit: number,
  refuse: (req: IncomingMessage, res: ServerResponse) => void,
): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (declaresTooLarge(req, limit)) {
      req.resume();
      refuse(req, res);
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  });
}
