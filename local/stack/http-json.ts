// Small JSON-over-HTTP(S) client for the stack's own calls (emulator admin API, health checks).
// It takes the emulator's CA explicitly: NODE_EXTRA_CA_CERTS is read only when a process starts, and
// the process running the stack (the CLI, a test) started before the emulator made its CA.
import http from 'node:http';
import https from 'node:https';

export interface JsonResponse<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: T;
  text: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Raw body (sent as-is) instead of JSON. */
  rawBody?: string | Buffer;
  ca?: string;
  timeoutMs?: number;
}

export function requestJson<T = unknown>(url: string, opts: RequestOptions = {}): Promise<JsonResponse<T>> {
  const u = new URL(url);
  const isHttps = u.protocol === 'https:';
  const payload = opts.rawBody ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined);
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (
    payload !== undefined &&
    opts.rawBody === undefined &&
    !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')
  ) {
    headers['content-type'] = 'application/json';
  }
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(
      u,
      {
        method: opts.method ?? (payload !== undefined ? 'POST' : 'GET'),
        headers,
        // No keep-alive: the stack's own calls are few, and a pooled socket would keep a test
        // process alive after its stack stopped.
        agent: false,
        ...(isHttps && opts.ca ? { ca: opts.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          if (text && /json/i.test(String(res.headers['content-type'] ?? 'json'))) {
            try {
              body = JSON.parse(text);
            } catch {
              body = text;
            }
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body as T, text });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${req.method} ${url}: no response within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
