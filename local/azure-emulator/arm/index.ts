// ARM front door for Microsoft.ContainerInstance: bearer check, api-version, injected faults and
// latency, and ARM's error body for every failure; the routes themselves are in routes.ts. Also
// serves the loopback-only admin API under /_emulator/.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { armHeaders, HttpError, isLoopback, sendJson } from '../http-util';
import { checkApiVersion } from './api-version';
import { authenticate } from './authenticate';
import { createArmContext, type ArmDeps } from './context';
import { decodeSegments } from './request';
import { route } from './routes';

export type { ArmDeps } from './context';
export { SUPPORTED_API_VERSIONS } from './api-version';

export function createArmHandler(deps: ArmDeps) {
  const { faults } = deps;
  const ctx = createArmContext(deps);
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', deps.armEndpoint());
    const hdrs = armHeaders(req);
    try {
      if (url.pathname.startsWith('/_emulator/')) {
        if (!isLoopback(req.socket.remoteAddress))
          throw new HttpError(403, 'Forbidden', 'The admin API is loopback-only.');
        await deps.admin(req, res, url.pathname);
        return;
      }
      const lat = faults.current.latencyMs;
      if (lat > 0) await new Promise((r) => setTimeout(r, lat));
      const claims = authenticate(deps, req);
      if (!url.searchParams.get('api-version')) {
        throw new HttpError(
          400,
          'MissingApiVersionParameter',
          'The api-version query parameter (?api-version=) is required for all requests.',
        );
      }
      checkApiVersion(url, deps.location);
      const method = req.method ?? 'GET';
      const th = faults.take('throttle', method);
      if (th) {
        const after = th.retryAfterSeconds ?? 1;
        const kind = method === 'GET' ? 'read' : method === 'DELETE' ? 'delete' : 'write';
        throw new HttpError(
          429,
          'SubscriptionRequestsThrottled',
          `Number of '${kind}' requests for subscription '${decodeSegments(url.pathname)[1] ?? ''}' actor '' exceeded. Please try again after '${after}' seconds after additional tooltip. Please refer to https://aka.ms/arm-throttling`,
          th.omitRetryAfter ? {} : { 'Retry-After': String(after) },
        );
      }
      const t5 = faults.take('transient5xx', method);
      if (t5) {
        const status = t5.status ?? 500;
        throw new HttpError(
          status,
          status === 503 ? 'ServiceUnavailable' : status === 502 ? 'BadGateway' : 'InternalServerError',
          'The server encountered an internal error. Please retry the request. (injected transient fault)',
        );
      }
      await route(ctx, req, res, url, hdrs, claims);
    } catch (err) {
      if (err instanceof HttpError) {
        const body: Record<string, unknown> = { code: err.code, message: err.message };
        if (err.target) body.target = err.target;
        if (err.status >= 500 || err.status === 429 || err.status === 401)
          deps.log.info({ status: err.status, code: err.code, method: req.method, path: url.pathname }, 'ARM error');
        else deps.log.debug({ status: err.status, code: err.code, path: url.pathname }, 'ARM error');
        sendJson(res, err.status, { error: body }, { ...hdrs, ...err.headers });
        return;
      }
      deps.log.error({ err }, 'ARM handler failed');
      sendJson(
        res,
        500,
        { error: { code: 'InternalServerError', message: 'An internal error occurred in the emulator.' } },
        hdrs,
      );
    }
  };
}
