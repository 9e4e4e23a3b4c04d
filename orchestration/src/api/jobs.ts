// Job routes: list, get, cancel, logs, result, artifacts; submit (submit.ts), logs (job-logs.ts),
// artifacts (artifacts.ts), an array's tasks (job-tasks.ts) and the tenant summary (tenant-summary.ts)
// are composed in here.
import {
  blobNames,
  EVENTS,
  instanceIdOf,
  instancePrefixOf,
  isTerminalState,
  JOB_STATES,
  jobLinks,
  type JobInput,
  type JobStatus,
} from '../contracts';
import { API_ERROR_CODES, CodedError, jobAlreadyFinished, notFinished, notFound, validationFailed } from '../errors';
import type { InstanceInfo, JobsBackend } from '../ports';
import type { Tenant } from '../tenants/types';
import { authorizeTenant, json, segment, type ApiRequest, type ApiResponse } from './http';
import { jobViewOf, type JobView } from './job-view';
import type { JobsApiDeps } from './jobs-deps';
import { JOB_ID_PATTERN } from './schemas';
import { createSubmit } from './submit';
import { createTenantSummary } from './tenant-summary';
import { createArtifactsApi } from './artifacts';
import { createJobLogs } from './job-logs';
import { presentStatus } from './result-links';
import { cancelLiveTasks, createJobTasks, liveTasks, refineArrayStatus, tasksOf } from './job-tasks';

export type { JobsApiDeps } from './jobs-deps';

export interface JobsApi {
  submit(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
  list(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
  get(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
  cancel(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
  logs(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
  result(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
  tenant(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
  listArtifacts(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
  getArtifact(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
  tasks(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
}

export function createJobsApi(deps: JobsApiDeps): JobsApi {
  /** Loads a job of this tenant; another tenant's (or an unknown) job is the same 404. */
  async function load(
    req: ApiRequest,
    jobs: JobsBackend,
  ): Promise<{ tenant: Tenant; info: InstanceInfo; status: JobStatus; input: JobInput }> {
    const tenant = authorizeTenant(req, deps.tenants);
    const id = segment(req, 'id', JOB_ID_PATTERN);
    const info = await jobs.get(instanceIdOf(tenant.id, id));
    const view = info && jobViewOf(info);
    if (!info || !view || view.job.tenant !== tenant.id) throw notFound('job');
    return { tenant, info, status: view.status, input: view.job };
  }

  const present = (s: JobStatus) => presentStatus(s, deps.resultLinks ?? 'api', deps.results, deps.now());
  const artifacts = createArtifactsApi({
    results: deps.results,
    load: async (req, jobs) => {
      const { tenant, input } = await load(req, jobs);
      return { tenant: tenant.id, jobId: input.jobId };
    },
  });

  return {
    submit: createSubmit(deps),
    tenant: createTenantSummary(deps),
    listArtifacts: artifacts.list,
    getArtifact: artifacts.get,
    tasks: createJobTasks({ load, present }),
    logs: createJobLogs({
      results: deps.results,
      liveLogs: deps.liveLogs,
      load,
      followWaitMs: deps.logFollowWaitMs ?? 20_000,
      followPollMs: 1000,
    }),
    async list(req, jobs) {
      const tenant = authorizeTenant(req, deps.tenants);
      const problems: { field: string; message: string }[] = [];
      const state = req.query.get('state');
      if (state !== null && !(JOB_STATES as readonly string[]).includes(state))
        problems.push({ field: 'state', message: `must be one of ${JOB_STATES.join(', ')}` });
      const sinceText = req.query.get('since');
      const since = sinceText === null ? undefined : new Date(sinceText);
      if (since && Number.isNaN(since.getTime()))
        problems.push({ field: 'since', message: 'must be an ISO 8601 date-time' });
      const limitText = req.query.get('limit');
      const limit = limitText === null ? 50 : Number(limitText);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200)
        problems.push({ field: 'limit', message: 'must be an integer from 1 to 200' });
      const token = req.query.get('continuationToken');
      let after: { t: string; i: string } | undefined;
      if (token !== null) {
        try {
          after = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { t: string; i: string };
          if (typeof after.t !== 'string' || typeof after.i !== 'string') throw new Error('shape');
        } catch {
          problems.push({ field: 'continuationToken', message: 'is not a token this API issued' });
        }
      }
      // An array's tasks are listed under their parent (GET …/jobs/{id}/tasks) unless asked for here.
      const includeTasks = req.query.get('includeTasks');
      if (includeTasks !== null && includeTasks !== 'true' && includeTasks !== 'false')
        problems.push({ field: 'includeTasks', message: 'must be true or false' });
      if (problems.length) throw validationFailed(problems);
      const infos = await jobs.list(instancePrefixOf(tenant.id), since);
      // Ordered by the job's own createdAt (the instance's createdTime resets at continueAsNew on
      // Azure Storage), newest first; ties broken by instance id, so the token is a stable cursor.
      const rows = infos
        .filter((i) => i.instanceId.startsWith(instancePrefixOf(tenant.id)))
        .map((i) => ({ info: i, view: jobViewOf(i) }))
        .filter((r): r is { info: InstanceInfo; view: JobView } => !!r.view && r.view.job.tenant === tenant.id)
        .filter((r) => includeTasks === 'true' || !r.view.job.task)
        .map((r) => ({ id: r.info.instanceId, t: r.view.job.createdAt, status: r.view.status, job: r.view.job }))
        .filter((r) => !since || Date.parse(r.t) >= since.getTime())
        .sort((a, b) => (a.t === b.t ? (a.id < b.id ? -1 : 1) : a.t > b.t ? -1 : 1))
        .filter((r) => !after || r.t < after.t || (r.t === after.t && r.id > after.i))
        .filter((r) => !state || r.status.state === state);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const next =
        rows.length > limit && last
          ? Buffer.from(JSON.stringify({ t: last.t, i: last.id })).toString('base64url')
          : null;
      // A running parent's counts come from its tasks, which the same listing holds (no further call).
      const shown = page.map((r) =>
        r.job.spec.array && !isTerminalState(r.status.state)
          ? refineArrayStatus(r.status, tasksOf(infos, r.job))
          : r.status,
      );
      return json(200, { jobs: await Promise.all(shown.map(present)), continuationToken: next });
    },

    async get(req, jobs) {
      const { status, input } = await load(req, jobs);
      const running = input.spec.array && !isTerminalState(status.state);
      return json(200, await present(running ? (await liveTasks(jobs, input, status)).status : status));
    },

    async cancel(req, jobs) {
      const { tenant, status, input } = await load(req, jobs);
      if (isTerminalState(status.state)) throw jobAlreadyFinished(status.state);
      // One record of the cancel, in the admission ledger (a queued job's grant attempt and a
      // running job's poll both read it); the event only wakes the orchestrator up at once.
      await deps.admission.cancel(tenant.id, input.instanceId);
      await jobs.raise(input.instanceId, EVENTS.cancel, { requestedAt: deps.now().toISOString() });
      // An array's parent: its live tasks too, now (its orchestrator also cancels those it started).
      const tasksCanceled = input.spec.array ? await cancelLiveTasks(deps, jobs, input) : undefined;
      deps.log.info(
        { tenant: tenant.id, jobId: input.jobId, instanceId: input.instanceId, tasksCanceled },
        'cancel requested',
      );
      return json(202, {
        id: input.jobId,
        state: status.state,
        cancelRequested: true,
        ...(tasksCanceled === undefined ? {} : { tasksCanceled }),
        links: jobLinks(tenant.id, input.jobId),
      });
    },

    async result(req, jobs) {
      const { tenant, status, input } = await load(req, jobs);
      if (!isTerminalState(status.state)) throw notFinished(status.state);
      const stored = await deps.results.get(blobNames(tenant.id, input.jobId).result);
      if (!stored)
        throw new CodedError({
          code: API_ERROR_CODES.noResult,
          httpStatus: 404,
          message: `The job ended ${status.state} without a result${status.error ? ` (${status.error.code}: ${status.error.message})` : ''}.`,
        });
      const doc = JSON.parse(stored.body.toString('utf8')) as { result?: unknown };
      return json(200, doc.result ?? null);
    },
  };
}
