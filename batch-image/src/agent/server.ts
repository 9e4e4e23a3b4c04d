// The agent's HTTP API. Built separately from listening (tests and main.ts call listen()).
// Every endpoint but /healthz needs `Authorization: Bearer <JOB_TOKEN>`.
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { findArtifact, listArtifacts } from './artifacts';
import { createTokenCheck } from './auth';
import {
  AgentError,
  agentBusy,
  internalError,
  invalidInput,
  methodNotAllowed,
  notFinished,
  notFound,
  shuttingDown,
  unauthorized,
} from './errors';
import { readJson, sendError, sendJson } from './http-io';
import { CancelRequest, type JobRunner, type Work } from './job-runner';
import type { Logger } from './log';
import { parseJobId, planStart, type InputValidator, type StartPlan } from './start-request';
import type { AgentConfig } from './config';

export interface AgentDeps {
  config: AgentConfig;
  runner: JobRunner;
  log: Logger;
  /** Model mode's input validator. */
  validateModelInput: InputValidator;
  /** Builds the work for a validated plan (model or command). */
  createWork(plan: StartPlan): Work;
  /** True once SIGTERM arrived: no new job starts. */
  isShuttingDown(): boolean;
}

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
    const id = parseJobId(body, config.jobId);
    // A retry of the current job answers with its state; another job is refused, whatever its body.
    const current = runner.snapshot();
    if ('jobId' in id && current.jobId !== null) {
      if (id.jobId !== current.jobId) throw agentBusy(current.jobId);
      sendJson(res, 202, current);
      return;
    }
    const planned = planStart(
      body,
      { expectedJobId: config.jobId, mode: config.mode, defaultCommand: config.defaultCommand },
      deps.validateModelInput,
    );
    if (!planned.ok) throw invalidInput(planned.errors);
    const { plan } = planned;
    // start() re-checks: two concurrent first requests cannot both start a job.
    const started = runner.start(plan.jobId, plan.mode, () => deps.createWork(plan));
    if (started)
      log.info('job started', {
        jobId: plan.jobId,
        mode: plan.mode,
        ...(plan.mode === 'command' ? { program: plan.command[0] } : {}),
      });
    sendJson(res, 202, runner.snapshot());
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
