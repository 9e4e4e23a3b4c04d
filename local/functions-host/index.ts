// startHost(): listens, loads the app (with WEBSITE_HOSTNAME pointing at this host), opens the
// SQLite store, resumes unfinished orchestrations and serves HTTP triggers, the Durable HTTP API and
// timer triggers. One app per process (the core module shim is process-wide).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { loadApp, type LoadedApp } from './app-loader';
import type { RegisteredFunction } from './core-shim';
import { DurableHttpApi } from './durable/http-api';
import { DurableEngine } from './durable/engine';
import { HostError, errorBody, errorMessage } from './errors';
import { invokeHttpFunction, writeResult } from './http-triggers';
import { answerParserErrors } from './parser-errors';
import { Invoker, type InputData } from './invoker';
import { createLogger, type Logger } from './logger';
import { RouteTable, parseTemplate, splitPath } from './routes';
import { Store } from './durable/store';
import { TimerTriggers } from './timer-triggers';
import { answerExpectContinue, BodyTooLargeError, readBoundedBody, tooLargeHeaders } from '../kit';

export interface HostOptions {
  appDir: string;
  port: number;
  dataDir: string;
  host?: string;
  maxActivities?: number;
  maxBodyBytes?: number;
  logger?: Logger;
  /** What to do when the durable store cannot be written (default: exit the process with code 70). */
  onFatal?: (err: unknown) => void;
}

export interface RunningHost {
  baseUrl: string;
  /** Names of the functions the app registered, by trigger type. */
  functions: Record<string, string[]>;
  close(): Promise<void>;
}

export const defaultMaxBodyBytes = 10 * 1024 * 1024;
export const defaultMaxActivities = 16;

interface HttpRoute {
  fn: RegisteredFunction;
}

export async function startHost(options: HostOptions): Promise<RunningHost> {
  const logger = options.logger ?? createLogger();
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  const maxActivities = Math.max(1, options.maxActivities ?? defaultMaxActivities);
  const serving: { handler?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const server = createServer((req, res) => {
    if (serving.handler) serving.handler(req, res);
    else sendError(res, 503, 'NotReady', 'The host is starting.');
  });
  server.keepAliveTimeout = 5_000;
  answerParserErrors(server);
  // One 413 behaviour with the emulator (local/kit/body.ts): a client that asks before sending
  // (Expect: 100-continue) gets the 413 instead of "100 Continue" when its declared body is over the cap.
  answerExpectContinue(server, maxBodyBytes, (_req, res) => rejectTooLarge(res, maxBodyBytes));
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const publicHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const baseUrl = `http://${publicHost}:${port}`;
  // durable-functions rewrites every management URL to localhost:7071 unless this is set (protocol doc §4.1).
  process.env.WEBSITE_HOSTNAME = `${publicHost}:${port}`;

  let app: LoadedApp;
  let store: Store | undefined;
  try {
    app = await loadApp(options.appDir);
    store = new Store(resolve(options.dataDir));
  } catch (err) {
    server.close();
    store?.close();
    throw err;
  }
  const { registry, settings } = app;
  registry.userLog = (level, category, msg) => logger.info({ level, category }, msg);
  const invoker = new Invoker(registry, logger);

  const routes = new RouteTable<HttpRoute>();
  const orchestrators = new Map<string, RegisteredFunction>();
  const activities = new Map<string, RegisteredFunction>();
  const timerFns: RegisteredFunction[] = [];
  const byType: Record<string, string[]> = {};
  for (const fn of registry.functions.values()) {
    const type = fn.trigger.type.toLowerCase();
    (byType[fn.trigger.type] ??= []).push(fn.metadata.name);
    if (type === 'httptrigger') {
      const template = typeof fn.trigger.route === 'string' ? fn.trigger.route : fn.metadata.name;
      try {
        parseTemplate(template);
      } catch (err) {
        store.close();
        server.close();
        throw new HostError('AppInvalid', `HTTP function "${fn.metadata.name}": ${errorMessage(err)}`);
      }
      routes.add(template, fn.trigger.methods, { fn });
    } else if (type === 'timertrigger') timerFns.push(fn);
    else if (type === 'orchestrationtrigger') orchestrators.set(fn.metadata.name.toLowerCase(), fn);
    else if (type === 'activitytrigger') activities.set(fn.metadata.name.toLowerCase(), fn);
    else if (type === 'entitytrigger')
      logger.warn(
        { fn: fn.metadata.name },
        'Durable entities are not supported by the local host; this function will not run.',
      );
    else
      logger.warn(
        { fn: fn.metadata.name, trigger: fn.trigger.type },
        `Trigger type ${fn.trigger.type} is not supported by the local host; this function will not run.`,
      );
  }

  const apiRef: { api?: DurableHttpApi } = {};
  const clientCache = new Map<RegisteredFunction, InputData[]>();
  const clientInputs = (fn: RegisteredFunction): InputData[] => {
    let cached = clientCache.get(fn);
    if (!cached) {
      const text = JSON.stringify(apiRef.api!.clientData());
      cached = Object.entries(fn.metadata.bindings)
        .filter(([, b]) => (b.type === 'durableClient' || b.type === 'orchestrationClient') && b.direction !== 'out')
        .map(([name]) => ({ name, data: { string: text } }));
      clientCache.set(fn, cached);
    }
    return cached;
  };

  const engine = new DurableEngine(store, invoker, { orchestrators, activities }, logger, {
    maxActivities,
    clientInputs,
    onFatal:
      options.onFatal ??
      (() => {
        process.exit(70);
      }),
  });
  const api = new DurableHttpApi(engine, { baseUrl, hubName: settings.hubName });
  apiRef.api = api;
  let timers: TimerTriggers;
  try {
    timers = new TimerTriggers(timerFns, invoker, logger, clientInputs);
  } catch (err) {
    store.close();
    server.close();
    throw err;
  }
  const durableApi = api;
  const routePrefix = settings.routePrefix ? splitPath(settings.routePrefix) : [];

  serving.handler = (req, res) => {
    void handleRequest(req, res).catch((err: unknown) => {
      logger.error({ err, url: req.url }, 'request failed');
      if (!res.headersSent) sendError(res, 500, 'InternalError', 'The host failed to process the request.');
      else res.destroy();
    });
  };

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const segments = splitPath(url.pathname);
    const method = (req.method ?? 'GET').toUpperCase();
    let body: Buffer;
    try {
      body = await readBoundedBody(req, maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLargeError) return rejectTooLarge(res, maxBodyBytes);
      throw err;
    }

    // Durable HTTP API: public webhook routes and the rpcBaseUrl the durable client uses.
    let apiSegments: string[] | undefined;
    if (segments[0] === 'runtime' && segments[1] === 'webhooks' && segments[2] === 'durabletask')
      apiSegments = segments.slice(3);
    else if (segments[0] === 'durabletask') apiSegments = segments.slice(1);
    if (apiSegments) {
      const r = await durableApi.handle({
        method,
        segments: apiSegments,
        query: url.searchParams,
        headers: req.headers,
        body,
      });
      for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v);
      if (r.body !== undefined) {
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.statusCode = r.status;
        res.end(JSON.stringify(r.body));
      } else {
        res.statusCode = r.status;
        res.end();
      }
      return;
    }
    if (segments[0] === 'admin' && segments[1] === 'host' && segments[2] === 'status') {
      sendJson(res, 200, { state: 'Running', baseUrl, functions: byType });
      return;
    }

    if (routePrefix.every((p, i) => segments[i]?.toLowerCase() === p.toLowerCase())) {
      const rest = segments.slice(routePrefix.length);
      const { found, allowed } = routes.match(method, rest);
      if (found) {
        const fn = found.value.fn;
        try {
          const result = await invokeHttpFunction(invoker, fn, req, baseUrl, body, found.params, clientInputs(fn));
          writeResult(res, result, method === 'HEAD');
        } catch (err) {
          logger.error({ fn: fn.metadata.name, err }, 'HTTP function failed');
          sendError(res, 500, 'FunctionError', `Function '${fn.metadata.name}' failed: ${errorMessage(err)}`);
        }
        return;
      }
      if (allowed) {
        res.setHeader('allow', allowed.join(', '));
        sendError(
          res,
          405,
          'MethodNotAllowed',
          `Method ${method} is not allowed for ${url.pathname}; allowed: ${allowed.join(', ')}.`,
        );
        return;
      }
    }
    sendError(res, 404, 'RouteNotFound', `No function serves ${method} ${url.pathname}.`);
  }

  const recovered = engine.recover();
  timers.start();
  logger.info({ baseUrl, app: app.dir, functions: byType, recovered, data: store.path }, 'host ready');

  let closed: Promise<void> | undefined;
  return {
    baseUrl,
    functions: byType,
    close(): Promise<void> {
      closed ??= (async () => {
        server.close();
        server.closeIdleConnections();
        await timers.stop();
        await engine.close();
        for (const hook of registry.hooks.appTerminate) {
          try {
            await hook({ hookData: {}, appHookData: invoker.appHookData });
          } catch (err) {
            logger.error({ err }, 'appTerminate hook failed');
          }
        }
        store.close();
        server.closeAllConnections();
        logger.info('host stopped');
      })();
      return closed;
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

function rejectTooLarge(res: ServerResponse, maxBodyBytes: number): void {
  for (const [k, v] of Object.entries(tooLargeHeaders)) res.setHeader(k, v);
  sendError(res, 413, 'BodyTooLarge', `The request body is larger than ${maxBodyBytes} bytes.`);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(errorBody(code, message));
}
