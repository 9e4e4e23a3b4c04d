// local/kit's bounded body reader and its one 413 behaviour, on a real HTTP server: a declared length
// over the cap is refused unread, an `Expect: 100-continue` client gets the 413 instead of "100
// Continue" (RFC 9110 §10.1.1: a server may answer with a final status instead of 100), and a
// chunked body that outgrows the cap is refused with the connection closed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { answerExpectContinue, BodyTooLargeError, readBoundedBody, tooLargeHeaders } from '../../local/kit';

const LIMIT = 1024;
let server: Server;
let port: number;
const seen: string[] = [];

before(async () => {
  const refuse = (res: import('node:http').ServerResponse): void => {
    res.writeHead(413, { ...tooLargeHeaders, 'content-type': 'text/plain' });
    res.end('too large');
  };
  server = createServer((req, res) => {
    readBoundedBody(req, LIMIT).then(
      (body) => {
        seen.push(`read ${body.length}`);
        res.end(`got ${body.length}`);
      },
      (err: unknown) => {
        seen.push(err instanceof BodyTooLargeError ? 'too large' : `error ${String(err)}`);
        refuse(res);
      },
    );
  });
  answerExpectContinue(server, LIMIT, (_req, res) => {
    seen.push('refused before upload');
    refuse(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(() => new Promise<void>((r) => server.close(() => r())));

/** Sends raw bytes and collects everything the server answers until it closes or `ms` pass. */
function raw(text: string, ms = 1500): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let answer = '';
    s.on('data', (d) => (answer += d.toString('latin1')));
    const t = setTimeout(() => {
      s.destroy();
      resolve(answer);
    }, ms);
    s.on('close', () => {
      clearTimeout(t);
      resolve(answer);
    });
    s.on('error', reject);
  });
}

test('a body within the cap is read whole', async () => {
  const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x'.repeat(LIMIT) });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), `got ${LIMIT}`);
});

test('a declared Content-Length over the cap is refused unread, with Connection: close', async () => {
  seen.length = 0;
  const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x'.repeat(LIMIT + 1) });
  assert.equal(res.status, 413);
  assert.equal(res.headers.get('connection'), 'close');
  assert.deepEqual(seen, ['too large']);
});

test('Expect: 100-continue over the cap: the first answer is the 413, never "100 Continue"', async () => {
  seen.length = 0;
  const answer = await raw(
    `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${LIMIT * 10}\r\nExpect: 100-continue\r\n\r\n`,
  );
  assert.match(answer, /^HTTP\/1\.1 413 /, answer.slice(0, 200));
  assert.doesNotMatch(answer, /100 Continue/);
  assert.deepEqual(seen, ['refused before upload']);
});

test('Expect: 100-continue within the cap: "100 Continue", then the body is read', async () => {
  const answer = await raw(
    `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhello`,
  );
  assert.match(answer, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
  assert.match(answer, /got 5$/);
});

test('a chunked body that outgrows the cap gets the 413 (drained, not reset) and the server keeps serving', async () => {
  seen.length = 0;
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    // No Content-Length: the cap is found on the bytes.
    for (let i = 0; i < 8; i++) req.write('y'.repeat(LIMIT / 2));
    req.end();
  });
  assert.equal(status, 413);
  assert.deepEqual(seen, ['too large']);
  const again = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'ok' });
  assert.equal(await again.text(), 'got 2');
});
