// createApp(deps): registers the whole Function App — the activities, the job orchestrator, every
// HTTP route of the routes table and the sweeper — over the ports it is given. functions.ts calls
// it with the production adapters (Azure SDKs); the fast replay tier calls it with in-memory ports
// inside the local host, so the orchestrator runs through the real durable-functions replay.
import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { wakeGranted } from './activities/admission';
import { createActivities } from './activities/create-activities';
import { createAdmission } from './admission/service';
import type { GlobalLimits } from './admission/ledger';
import { createCallbackApi } from './api/callbacks';
import { createPullApi } from './api/callbacks-pull';
import { handle, json, type ApiRequest, type ApiResponse } from './api/http';
import { jobViewOf, statusOf } from './api/job-view';
import { createJobsApi } from './api/jobs';
import { buildOpenApi } from './api/openapi';
import { uiResponse } from './api/ui';
import { createOperatorApi } from './api/operator';
import type { ResultLinkMode } from './api/result-links';
import { createTenantUsage } from './api/usage';
import { createWebhookSecret } from './api/webhook-secret';
import {
  ACTIVITIES,
  hostRouteTemplate,
  ORCHESTRATORS,
  ROUTES,
  SWEEPER_FUNCTION,
  type ActivityEnv,
  type RetryPolicy,
  type RouteName,
  type WorkflowSettings,
} from './contracts';
import { durableJobsBackend } from './durable/jobs-backend';
import type { Logger } from './logging';
import type { AgentClient, ContainerGroups, ImageResolver, JobsBackend, LedgerStore, ResultsStore } from './ports';
import { LIVENESS_WATCH_FUNCTION, watchLiveness } from './sweeper/liveness';
import { judgeGroup, sweep } from './sweeper/sweep';
import type { TenantDirectory } from './tenants/types';
import { createJobOrchestrator, type OrchestrationContextLike } from './workflows/job-orchestrator';

export interface AppDeps {
  version: string;
  log: Logger;
  tenants: TenantDirectory;
  groups: ContainerGroups;
  images: ImageResolver;
  agent: AgentClient;
  results: ResultsStore;
  ledger: LedgerStore;
  settings: WorkflowSettings;
  globalLimits: GlobalLimits;
  signingKey: string;
  callbackBaseUrl: string;
  acrLoginServer: string;
  jobIdentityResourceId: string;
  agentPort: number;
  defaultLocation: string;
  maxRequestBytes: number;
  sweeperSchedule: string;
  /** LIVENESS_WATCH_SCHEDULE; undefined: no liveness watch (the replay tier drives jobs by itself). */
  livenessWatchSchedule?: string;
  now(): Date;
  /** SHA-256 of the operator key (OPERATOR_KEY_HASH); undefined: the operator routes answer 404. */
  operatorKeyHash?: Buffer;
  /** RESULT_LINKS (default api). */
  resultLinks?: ResultLinkMode;
}

type Route = (req: ApiRequest, jobs: JobsBackend) => Promise<ApiResponse>;

export function createApp(deps: AppDeps): void {
  const { log } = deps;
  const admission = createAdmission({
    store: deps.ledger,
    global: deps.globalLimits,
    limitsOf: (tenant) => deps.tenants.get(tenant)?.limits,
    now: deps.now,
  });
  registerActivities(deps, createActivities({ ...deps, admission }));
  registerOrchestrator(deps);

  const jobsApi = createJobsApi({
    ...deps,
    admission,
    liveLogs: (name) => deps.groups.logs(name),
    maxBodyBytes: deps.maxRequestBytes,
    globalMaxCores: deps.globalLimits.maxCores,
  });
  const operator = createOperatorApi({ ...deps, operatorKeyHash: deps.operatorKeyHash, judgeGroup });
  const tenantUsage = createTenantUsage(deps);
  const webhookSecret = createWebhookSecret(deps);
  const openapi = buildOpenApi(deps.version);
  const pull = createPullApi({ ...deps, cancelRequested: (t, id) => admission.cancelRequested(t, id) });
  const handlers: Record<RouteName, Route> = {
    submitJob: (r, j) => jobsApi.submit(r, j),
    listJobs: (r, j) => jobsApi.list(r, j),
    getJob: (r, j) => jobsApi.get(r, j),
    cancelJob: (r, j) => jobsApi.cancel(r, j),
    getJobLogs: (r, j) => jobsApi.logs(r, j),
    getJobResult: (r, j) => jobsApi.result(r, j),
    getTenant: (r, j) => jobsApi.tenant(r, j),
    listArtifacts: (r, j) => jobsApi.listArtifacts(r, j),
    getArtifact: (r, j) => jobsApi.getArtifact(r, j),
    listTasks: (r, j) => jobsApi.tasks(r, j),
    getTenantUsage: tenantUsage,
    getWebhookSecret: webhookSecret,
    adminTenants: operator.tenants,
    adminGroups: operator.groups,
    adminCapacity: operator.capacity,
    adminUsage: operator.usage,
    callback: createCallbackApi({
      tenants: deps.tenants,
      signingKey: deps.signingKey,
      log,
      cancelRequested: (t, id) => admission.cancelRequested(t, id),
    }),
    pullStart: pull.start,
    pullResult: pull.result,
    pullArtifact: pull.artifact,
    health: async () =>
      json(200, {
        status: 'ok',
        version: deps.version,
        tenants: deps.tenants.tenants.length,
        time: deps.now().toISOString(),
      }),
    openapi: async () => json(200, openapi, { 'Cache-Control': 'public, max-age=300' }),
    ui: async (r) => uiResponse(r.params.path, { requestUrl: r.url }),
  };
  for (const name of Object.keys(ROUTES) as RouteName[]) {
    const route = ROUTES[name];
    app.http(route.fn, {
      route: hostRouteTemplate(name),
      methods: [route.method],
      authLevel: 'anonymous',
      extraInputs: [df.input.durableClient()],
      handler: async (req: HttpRequest, context: InvocationContext) =>
        handle(log, route.fn, (r) => handlers[name](r, durableJobsBackend(df.getClient(context))))(req),
    });
  }

  app.timer(SWEEPER_FUNCTION, {
    schedule: deps.sweeperSchedule,
    extraInputs: [df.input.durableClient()],
    handler: async (_timer: unknown, context: InvocationContext) => {
      const backend = durableJobsBackend(df.getClient(context));
      const report = await sweep({
        groups: deps.groups,
        admission,
        log,
        now: deps.now,
        lookup: async (instanceId) => {
          const info = await backend.get(instanceId);
          return info ? { runtimeStatus: info.runtimeStatus, status: statusOf(info) } : undefined;
        },
      });
      await wakeGranted(deps, backend, report.granted);
      const summary = { ...report, deleted: report.deleted.length, kept: report.kept.length };
      log.info({ ...summary, deletedGroups: report.deleted }, 'sweep done');
    },
  });

  // One poll of every running job's group, outside the orchestrations (sweeper/liveness.ts).
  if (deps.livenessWatchSchedule)
    app.timer(LIVENESS_WATCH_FUNCTION, {
      schedule: deps.livenessWatchSchedule,
      extraInputs: [df.input.durableClient()],
      handler: async (_timer: unknown, context: InvocationContext) => {
        const backend = durableJobsBackend(df.getClient(context));
        const report = await watchLiveness({
          admission,
          groups: deps.groups,
          log,
          now: deps.now,
          lookup: async (instanceId) => {
            const info = await backend.get(instanceId);
            return info && jobViewOf(info);
          },
          raise: (instanceId, event, data) => backend.raise(instanceId, event, data),
        });
        log.info({ ...report, raised: report.raised.length, woken: report.raised }, 'liveness watch done');
      },
    });
}

function registerActivities(deps: AppDeps, activities: ReturnType<typeof createActivities>): void {
  for (const name of Object.values(ACTIVITIES)) {
    const fn = activities[name] as (input: unknown, env: ActivityEnv) => Promise<unknown>;
    df.app.activity(name, {
      extraInputs: [df.input.durableClient()],
      handler: async (input: unknown, context: InvocationContext) => {
        // Per invocation: the Durable client, so that an activity can wake other jobs and read their status.
        const jobs = durableJobsBackend(df.getClient(context));
        const env: ActivityEnv = {
          raise: (id, event, data) => jobs.raise(id, event, data),
          jobStatus: async (id) => {
            const info = await jobs.get(id);
            return info && statusOf(info);
          },
        };
        try {
          return await fn(typeof input === 'string' ? (JSON.parse(input) as unknown) : input, env);
        } catch (e) {
          const ids = (input ?? {}) as { tenant?: string; jobId?: string; instanceId?: string };
          const err = (e as Error).message.split(' [aci-batch-error')[0];
          deps.log.warn({ activity: name, ...pick(ids), err }, 'activity failed (will be retried if retryable)');
          throw e;
        }
      },
    });
  }
}

const pick = (ids: { tenant?: string; jobId?: string; instanceId?: string }) => ({
  tenant: ids.tenant,
  jobId: ids.jobId,
  instanceId: ids.instanceId,
});

function registerOrchestrator(deps: AppDeps): void {
  const retryOptions = (p: RetryPolicy): df.RetryOptions => {
    const r = new df.RetryOptions(p.firstRetryMs, p.maxAttempts);
    r.backoffCoefficient = p.backoffCoefficient;
    r.maxRetryIntervalInMilliseconds = p.maxRetryMs;
    return r;
  };
  const orchestrator = createJobOrchestrator({
    retryOptions,
    log: (level, fields, msg) => deps.log[level](fields, msg),
  });
  df.app.orchestration(ORCHESTRATORS.job, (context) => orchestrator(context as unknown as OrchestrationContextLike));
}
