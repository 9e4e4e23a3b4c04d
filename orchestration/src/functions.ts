// The Function App's entry point (package.json "main") and the only module with registration side
// effects: it validates the settings and the tenants file (failing fast, naming the field), builds
// the clients once, and registers the HTTP routes, the orchestrator, the activities and the sweeper.
import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ACTIVITIES,
  FUNCTIONS,
  ORCHESTRATORS,
  ROUTES,
  type JobStatus,
  type RetryPolicy,
  type WorkflowSettings,
} from './contracts';
import { loadConfig } from './config';
import { createLogger } from './logging';
import { loadTenantsFile } from './tenants/loader';
import { createCredential } from './azure/credentials';
import { createArmContainerGroups } from './azure/aci';
import { createAcrResolver } from './azure/acr';
import { createBlobLedger, createBlobResults, createContainerClient } from './azure/blob';
import { createAgentClient } from './agent/client';
import { createActivities } from './activities/create-activities';
import { createJobOrchestrator, type OrchestrationContextLike } from './workflows/job-orchestrator';
import { createJobsApi } from './api/jobs';
import { createCallbackApi } from './api/callbacks';
import { buildOpenApi } from './api/openapi';
import { handle, json, type ApiRequest, type ApiResponse } from './api/http';
import { statusOf, type InstanceInfo, type JobsBackend } from './api/job-backend';
import { sweep } from './sweeper/sweep';

const appRoot = resolve(__dirname, '..', '..');
const version = (JSON.parse(readFileSync(resolve(appRoot, 'package.json'), 'utf8')) as { version: string }).version;

const cfg = loadConfig();
const log = createLogger(cfg.logLevel);
const tenants = loadTenantsFile(resolve(appRoot, cfg.tenantsFile));
log.info({ tenants: tenants.tenants.map((t) => t.id), version }, 'aci-batch starting');

const credential = createCredential(cfg.controllerClientId);
const groups = createArmContainerGroups(credential, {
  endpoint: cfg.armEndpoint,
  subscriptionId: cfg.subscriptionId,
  resourceGroup: cfg.jobsResourceGroup,
});
const images = createAcrResolver(credential, cfg.acrLoginServer);
const container = createContainerClient(credential, cfg.resultsBlobEndpoint, cfg.resultsContainer);
const results = createBlobResults(container);
const ledger = createBlobLedger(container);
const agent = createAgentClient({ port: cfg.agentPort });
const globalLimits = {
  maxCores: cfg.globalMaxCores,
  maxGroups: cfg.globalMaxGroups,
  maxCreatesPer5Min: cfg.globalMaxCreatesPer5Min,
};

const settings: WorkflowSettings = {
  pollIntervalSeconds: cfg.pollIntervalSeconds,
  admissionPollSeconds: cfg.admissionPollSeconds,
  queueTimeoutMinutes: cfg.queueTimeoutMinutes,
  provisionTimeoutSeconds: cfg.provisionTimeoutSeconds,
  startTimeoutSeconds: cfg.startTimeoutSeconds,
  teardownTimeoutSeconds: cfg.teardownTimeoutSeconds,
  stepsPerGeneration: cfg.historyStepsPerGeneration,
  armRetry: {
    firstRetryMs: Math.round(cfg.armRetryFirstSeconds * 1000),
    maxAttempts: cfg.armRetryAttempts,
    backoffCoefficient: 2,
    maxRetryMs: 60_000,
  },
  capacityRetry: {
    firstRetryMs: Math.round(cfg.capacityRetryFirstSeconds * 1000),
    maxAttempts: cfg.capacityRetryAttempts,
    backoffCoefficient: 2,
    maxRetryMs: 300_000,
  },
};

// ---- activities ---------------------------------------------------------------------------------
const activities = createActivities({
  groups,
  images,
  agent,
  results,
  ledger,
  tenants,
  log,
  now: () => new Date(),
  signingKey: cfg.callbackSigningKey,
  callbackBaseUrl: cfg.callbackBaseUrl,
  acrLoginServer: cfg.acrLoginServer,
  jobIdentityResourceId: cfg.jobIdentityResourceId,
  agentPort: cfg.agentPort,
  globalLimits,
});
for (const name of Object.values(ACTIVITIES)) {
  const fn = activities[name] as (input: unknown) => Promise<unknown>;
  df.app.activity(name, {
    handler: async (input: unknown) => {
      try {
        return await fn(typeof input === 'string' ? (JSON.parse(input) as unknown) : input);
      } catch (e) {
        const ids = (input ?? {}) as { tenant?: string; jobId?: string; instanceId?: string };
        log.warn(
          {
            activity: name,
            tenant: ids.tenant,
            jobId: ids.jobId,
            instanceId: ids.instanceId,
            err: (e as Error).message.split(' [aci-batch-error')[0],
          },
          'activity failed (will be retried if retryable)',
        );
        throw e;
      }
    },
  });
}

// ---- orchestrator -------------------------------------------------------------------------------
const retryOptions = (p: RetryPolicy): df.RetryOptions => {
  const r = new df.RetryOptions(p.firstRetryMs, p.maxAttempts);
  r.backoffCoefficient = p.backoffCoefficient;
  r.maxRetryIntervalInMilliseconds = p.maxRetryMs;
  return r;
};
const jobOrchestrator = createJobOrchestrator({ retryOptions, log: (level, fields, msg) => log[level](fields, msg) });
df.app.orchestration(ORCHESTRATORS.job, (context) => jobOrchestrator(context as unknown as OrchestrationContextLike));

// ---- HTTP ---------------------------------------------------------------------------------------
function durableBackend(client: df.DurableClient): JobsBackend {
  const toInfo = (s: df.DurableOrchestrationStatus): InstanceInfo => ({
    instanceId: s.instanceId,
    runtimeStatus: String(s.runtimeStatus),
    createdTime: new Date(s.createdTime).toISOString(),
    input: s.input,
    customStatus: s.customStatus,
    output: s.output,
  });
  return {
    async start(input) {
      await client.startNew(ORCHESTRATORS.job, { instanceId: input.instanceId, input });
    },
    async get(instanceId) {
      try {
        const s = await client.getStatus(instanceId, { showInput: true });
        return s && s.instanceId ? toInfo(s) : undefined;
      } catch (e) {
        if (/\b404\b/.test((e as Error).message)) return undefined;
        throw e;
      }
    },
    async list(prefix, since) {
      const all = since ? await client.getStatusBy({ createdTimeFrom: since }) : await client.getStatusAll();
      return all.filter((s) => s.instanceId.startsWith(prefix)).map(toInfo);
    },
    async raise(instanceId, event, data) {
      await client.raiseEvent(instanceId, event, data);
    },
  };
}

const jobsApi = createJobsApi({
  tenants,
  log,
  ledger,
  results,
  liveLogs: (name) => groups.logs(name),
  settings,
  acrLoginServer: cfg.acrLoginServer,
  signingKey: cfg.callbackSigningKey,
  defaultLocation: cfg.jobsLocation,
  maxBodyBytes: cfg.maxRequestBytes,
  globalMaxCores: cfg.globalMaxCores,
  now: () => new Date(),
});
const callbackApi = createCallbackApi({ tenants, signingKey: cfg.callbackSigningKey, log });
const openapi = buildOpenApi(version);

type Route = (req: ApiRequest, jobs: JobsBackend) => Promise<ApiResponse>;
function route(name: string, path: string, method: 'GET' | 'POST', fn: Route): void {
  app.http(name, {
    route: path,
    methods: [method],
    authLevel: 'anonymous',
    extraInputs: [df.input.durableClient()],
    handler: async (req: HttpRequest, context: InvocationContext) => {
      const wrapped = handle(log, name, (r) => fn(r, durableBackend(df.getClient(context))));
      return wrapped(req);
    },
  });
}

route(FUNCTIONS.submitJob, ROUTES.jobs, 'POST', (r, j) => jobsApi.submit(r, j));
route(FUNCTIONS.listJobs, ROUTES.jobs, 'GET', (r, j) => jobsApi.list(r, j));
route(FUNCTIONS.getJob, ROUTES.job, 'GET', (r, j) => jobsApi.get(r, j));
route(FUNCTIONS.cancelJob, ROUTES.cancel, 'POST', (r, j) => jobsApi.cancel(r, j));
route(FUNCTIONS.getJobLogs, ROUTES.logs, 'GET', (r, j) => jobsApi.logs(r, j));
route(FUNCTIONS.getJobResult, ROUTES.result, 'GET', (r, j) => jobsApi.result(r, j));
route(FUNCTIONS.getTenant, ROUTES.tenant, 'GET', (r, j) => jobsApi.tenant(r, j));
route(FUNCTIONS.callback, ROUTES.callback, 'POST', callbackApi);

app.http(FUNCTIONS.health, {
  route: ROUTES.health,
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async () =>
    json(200, { status: 'ok', version, tenants: tenants.tenants.length, time: new Date().toISOString() }),
});
app.http(FUNCTIONS.openapi, {
  route: ROUTES.openapi,
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async () => json(200, openapi, { 'Cache-Control': 'public, max-age=300' }),
});

// ---- sweeper ------------------------------------------------------------------------------------
app.timer(FUNCTIONS.sweeper, {
  schedule: cfg.sweeperSchedule,
  extraInputs: [df.input.durableClient()],
  handler: async (_timer: unknown, context: InvocationContext) => {
    const backend = durableBackend(df.getClient(context));
    const report = await sweep({
      groups,
      ledger,
      log,
      now: () => new Date(),
      lookup: async (instanceId) => {
        const info = await backend.get(instanceId);
        return info
          ? { runtimeStatus: info.runtimeStatus, status: statusOf(info) as JobStatus | undefined }
          : undefined;
      },
    });
    log.info(
      { ...report, deleted: report.deleted.length, kept: report.kept.length, deletedGroups: report.deleted },
      'sweep done',
    );
  },
});
