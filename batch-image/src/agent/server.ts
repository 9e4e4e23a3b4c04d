// The agent's HTTP API. Built separately from listening (tests and main.ts call listen()).
// Every endpoint but /healthz needs `Authorization: Bearer <JOB_TOKEN>`.
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { findArtifact, listArtifacts } from './artifacts';
import { createTokenCheck } from './auth';
import {
  AgentError,
  internalError,
  shuttingDown,
  methodNotAllowed,
  notFinished,
  notFound,
  unauthorized,
} from './errors';
import { readJson, sendError, sendJson } from './http-io';
import { CancelRequest } from './job-runner';
import { acceptStart, type StartDeps } from './start-job';

export type AgentDeps = StartDeps;

type Handler = (req: IncomingMessage, res: ServerResponse, param: string) => Promise<void> | void;
interface Route {
  pattern: RegExp;
  methods: Partial<Record<string, Handler>>;
  auth: boolean;
}

export function createAgentServer(deps: AgentDeps): Server {
  const { config, runner, log } = deps;
  const tokenOk = createTokenCheck(config.jobToken);

  const start: Handler = async (req, res) => {
    if (deps.isShuttingDown()) throw shuttingDown();
    const body = await readJson(req, config.maxBodyBytes);
    sendJson(res, 202, acceptStart(deps, body));
  };

  const routes: Route[] = [
    { pattern: /^\/healthz$/, auth: false, methods: { GET: (_req, res) => sendJson(res, 200, { status: 'ok' }) } },
    { pattern: /^\/start$/, auth: true, methods: { POST: start } },
    { pattern: /^\/status$/, auth: true, methods: { GET: (_req, res) => sendJson(res, 200, runner.snapshot()) } },
    {
      pattern: /^\/cancel$/,
      auth: true,
      methods: {
        POST: (_req, res) => {
          const status = runner.cancel(new CancelRequest('Canceled', 'canceled by POST /cancel', config.cancelGraceMs));
          log.info('cancel requested', { jobId: status.jobId });
          sendJson(res, 202, status);
        },
      },
    },
    {
      pattern: /^\/result$/,
      auth: true,
      methods: {
        GET: (_req, res) => {
          const status = runner.snapshot();
          if (!runner.isFinished()) throw notFinished(status.state);
          sendJson(res, 200, {
            jobId: status.jobId,
            state: status.state,
            result: runner.result,
            artifacts: listArtifacts(config.resultDir),
          });
        },
      },
    },
    {
      pattern: /^\/artifacts\/([^/]+)$/,
      auth: true,
      methods: {
        GET: (_req, res, encodedName) => {
          if (!runner.isFinished()) throw notFinished(runner.snapshot().state);
          let name: string;
          try {
            name = decodeURIComponent(encodedName);
          } catch {
            throw notFound('Artifact');
          }
          const artifact = findArtifact(config.resultDir, name);
          if (!artifact) throw notFound(`Artifact '${name}'`);
          res.writeHead(200, {
            'Content-Type': artifact.contentType,
            'Content-Length': String(artifact.bytes),
            'Cache-Control': 'no-store',
            'X-Content-Type-Options': 'nosniff',
            // An SVG or HTML artifact opened straight from here must not run scripts.
            'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
          });
          const stream = createReadStream(artifact.path);
          stream.on('error', (err) => {
            log.error('artifact read failed', { name, err });
            res.destroy(err);
          });
          stream.pipe(res);
        },
      },
    },
  ];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    for (const route of routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      if (route.auth && !tokenOk(req.headers.authorization)) throw unauthorized();
      const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
      const handler = route.methods[method];
      if (!handler) throw methodNotAllowed(Object.keys(route.methods));
      await handler(req, res, match[1] ?? '');
      return;
    }
    // Unknown paths tell an unauthenticated caller nothing either.
    if (!tokenOk(req.headers.authorization)) throw unauthorized();
    throw notFound(`Route ${path}`);
  };

  return createServer((req, res) => {
    const started = Date.now();
    res.on('finish', () => {
      const quiet = req.url === '/status' || req.url === '/healthz';
      (quiet ? log.debug : log.info)('request', {
        method: req.method,
        path: req.url,
        status: res.statusCode,
        ms: Date.now() - started,
      });
    });
    handle(req, res).catch((err: unknown) => {
      const agentErr = err instanceof AgentError ? err : internalError();
      if (!(err instanceof AgentError)) log.error('request failed', { method: req.method, path: req.url, err });
      if (res.headersSent) res.destroy();
      else sendError(res, agentErr);
    });
  });
}
