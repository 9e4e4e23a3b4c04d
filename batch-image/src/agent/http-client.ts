// The agent's outbound HTTP (callbacks, start pulls, uploads): one request with a hard timeout, the
// bearer job token, and a bounded read of the answer, whose JSON body can carry the controller's
// orders (`{"cancel": true}`, a pulled start). Node builtins only: the image has no npm dependencies.
import { createReadStream } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  status: number;
  retryAfterMs: number | undefined;
  /** The answer's JSON body; undefined when empty, not JSON, or over the read limit. */
  body: unknown;
  /** Why a non-empty body was not read: over `maxAnswerBytes`, or not JSON. */
  unreadBody?: 'too-large' | 'not-json';
}

export interface SendOptions {
  method: 'POST' | 'PUT';
  token: string;
  timeoutMs: number;
  /** A JSON value, or a file streamed as the body (uploads), with its content type and size. */
  json?: unknown;
  file?: { path: string; contentType: string; bytes: number };
  /** Answers larger than this are drained unread (body undefined). */
  maxAnswerBytes?: number;
  signal?: AbortSignal;
}

const DEFAULT_MAX_ANSWER = 64 * 1024;

export function parseRetryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** One request; rejects on network errors and on the timeout (connect, send and the whole answer). */
export function sendRequest(url: URL, opts: SendOptions): Promise<HttpAnswer> {
  const payload = opts.json !== undefined ? Buffer.from(JSON.stringify(opts.json), 'utf8') : undefined;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const limit = opts.maxAnswerBytes ?? DEFAULT_MAX_ANSWER;
  const signal = opts.signal
    ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)])
    : AbortSignal.timeout(opts.timeoutMs);
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: opts.method,
        headers: {
          'Content-Type': payload ? 'application/json' : (opts.file?.contentType ?? 'application/octet-stream'),
          'Content-Length': String(payload ? payload.length : (opts.file?.bytes ?? 0)),
          Authorization: `Bearer ${opts.token}`,
          'User-Agent': 'aci-batch-agent',
        },
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= limit) chunks.push(c);
        });
        res.on('end', () => {
          let body: unknown = undefined;
          let unreadBody: HttpAnswer['unreadBody'];
          if (size > limit) unreadBody = 'too-large';
          else if (size > 0) {
            try {
              body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              unreadBody = 'not-json'; // nothing in it for the agent
            }
          }
          resolve({
            status: res.statusCode ?? 0,
            retryAfterMs: parseRetryAfter(res.headers['retry-after']),
            body,
            ...(unreadBody ? { unreadBody } : {}),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.file) {
      const stream = createReadStream(opts.file.path);
      stream.on('error', (err) => req.destroy(err));
      stream.pipe(req);
    } else {
      req.end(payload);
    }
  });
}

/** `base` with `suffix` appended to its path (query kept): CALLBACK_URL → its /start, /result, /artifacts/x. */
export function appendPath(base: URL, suffix: string): URL {
  const u = new URL(base.href);
  u.pathname = u.pathname.replace(/\/+$/, '') + suffix;
  return u;
}

/** True when the controller's answer orders the agent to stop (`{"cancel": true}`). */
export function isCancelAnswer(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { cancel?: unknown }).cancel === true;
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random. */
export function backoffDelayMs(
  attempt: number,
  tuning: { baseDelayMs: number; maxDelayMs: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(tuning.maxDelayMs, tuning.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** A sleep that ends early (resolving false) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(false);
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
