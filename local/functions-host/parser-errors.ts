// Answers requests that Node's HTTP parser refuses before any handler runs (headers or URL over
// --max-http-header-size, a malformed request line, a header timeout) with the host's JSON error shape, so a
// client sees the same `{"error":{"code","message"}}` there as everywhere else instead of a bare status line.
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody } from './errors';

interface ParserError extends Error {
  code?: string;
}

/** Status, code and message for one parser error code (llhttp's `HPE_*`, Node's `ERR_HTTP_*`). */
export function parserErrorResponse(err: ParserError): { status: number; code: string; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      // llhttp counts the request line and the headers together, so an over-long URL lands here too.
      return {
        status: 431,
        code: 'HeadersTooLarge',
        message:
          'The request line and headers are larger than the server accepts: shorten the URL (move data into the body) or the headers.',
      };
    case 'HPE_URI_OVERFLOW':
      return { status: 414, code: 'UriTooLong', message: 'The URL is too long: move data into the request body.' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADER_TIMEOUT':
      return { status: 408, code: 'RequestTimeout', message: 'The request headers did not arrive in time.' };
    default:
      return {
        status: 400,
        code: 'BadRequest',
        message: `The request is not valid HTTP/1.1 (${err.code ?? 'parse error'}): check the request line and headers.`,
      };
  }
}

const reasons: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
};

/** Installs the 'clientError' listener: a complete HTTP/1.1 response with a JSON body, then the socket closes. */
export function answerParserErrors(server: Server): void {
  server.on('clientError', (err: ParserError, socket: Duplex) => {
    // A reset or an already-closed socket has no one to answer (Node's own listener skips these too).
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const r = parserErrorResponse(err);
    const body = errorBody(r.code, r.message);
    socket.end(
      `HTTP/1.1 ${r.status} ${reasons[r.status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
      () => socket.destroy(),
    );
  });
}
