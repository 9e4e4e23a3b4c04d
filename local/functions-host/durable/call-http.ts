// callHttp under replay schema V2: the host performs the request (and, with asynchronousPatternEnabled,
// follows 202 + Location until a final answer), then completes the task with
// {statusCode, content, headers} as the extension does (protocol doc §5.8).

export const httpActivityName = 'BuiltIn::HttpActivity';

export interface DurableHttpRequest {
  method?: string;
  uri?: string;
  content?: string;
  headers?: Record<string, string>;
  tokenSource?: unknown;
  asynchronousPatternEnabled?: boolean;
}

export interface DurableHttpResponse {
  statusCode: number;
  content: string;
  headers: Record<string, string>;
}

const requestTimeoutMs = 5 * 60_000;
const maxPollMs = 60 * 60_000;

export async function performDurableHttp(req: DurableHttpRequest): Promise<DurableHttpResponse> {
  if (!req.uri) throw new Error('callHttp needs a url.');
  const method = (req.method ?? 'GET').toUpperCase();
  let res = await send(method, req.uri, req);
  const started = Date.now();
  while (
    req.asynchronousPatternEnabled !== false &&
    res.statusCode === 202 &&
    res.headers.location &&
    Date.now() - started < maxPollMs
  ) {
    const retryAfter = Number(res.headers['retry-after']);
    await new Promise((r) =>
      setTimeout(r, Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.min(retryAfter, 60) * 1000 : 1000),
    );
    res = await send('GET', new URL(res.headers.location, req.uri).href, { headers: req.headers });
  }
  return res;
}

async function send(method: string, uri: string, req: DurableHttpRequest): Promise<DurableHttpResponse> {
  const hasBody = method !== 'GET' && method !== 'HEAD' && req.content !== undefined && req.content !== null;
  const res = await fetch(uri, {
    method,
    headers: req.headers,
    body: hasBody ? req.content : undefined,
    signal: AbortSignal.timeout(requestTimeoutMs),
    redirect: 'follow',
  });
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    headers[k] = v;
  });
  return { statusCode: res.status, content: await res.text(), headers };
}
