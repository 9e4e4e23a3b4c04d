// Job routes: submit, list, get, cancel, logs, result, and the tenant summary.
import {
  blobNames,
  EVENTS,
  instanceIdOf,
  instancePrefixOf,
  groupNameOf,
  isTerminalState,
  JOB_STATES,
  type JobInput,
  type JobState,
  type JobStatus,
  type WorkflowSettings,
} from '../contracts';
import {
  CodedError,
  idempotencyConflict,
  jobAlreadyFinished,
  notFinished,
  notFound,
  queueFull,
  serviceUnavailable,
  validationFailed,
} from '../errors';
import type { Logger } from '../logging';
import { enqueue, markCanceled, release, tenantUsage, type LedgerStore } from '../tenants/admission';
import type { Tenant, TenantDirectory } from '../tenants/types';
import { authorizeTenant, json, readJson, segment, type ApiRequest, type ApiResponse } from './http';
import { jobInputOf, statusOf, type InstanceInfo, type JobsBackend, type ResultsStore } from './job-backend';
import { jobIdForIdempotencyKey, newJobId, requestHash, validateSubmission } from './job-request';
import { JOB_ID_PATTERN } from './schemas';

export interface JobsApiDeps {
  tenants: TenantDirectory;
  log: Logger;
  ledger: LedgerStore;
  results: ResultsStore;
  /** Live logs of a group that still exists (the archived copy is used after teardown). */
  liveLogs(groupName: string): Promise<string | undefined>;
  settings: WorkflowSettings;
  acrLoginServer: string;
  signingKey: string;
  defaultLocation: string;
  maxBodyBytes: number;
  globalMaxCores: number;
  now(): Date;
}

export interface JobsApi {
  submit(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
  list(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
  get(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
  cancel(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
  logs(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
  result(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
  tenant(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse>;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

export function createJobsApi(deps: JobsApiDeps): JobsApi {
  const links = (tenant: string, id: string) => {
    const self = `/api/tenants/${tenant}/jobs/${id}`;
    return { self, cancel: `${self}/cancel`, logs: `${self}/logs`, result: `${self}/result` };
  };

  /** Loads a job of this tenant; another tenant's (or an unknown) job is the same 404. */
  async function load(
    req: ApiRequest,
    jobs: JobsBackend,
  ): Promise<{ tenant: Tenant; info: InstanceInfo; status: JobStatus; input: JobInput }> {
    const tenant = authorizeTenant(req, deps.tenants);
    const id = segment(req, 'id', JOB_ID_PATTERN);
    const info = await jobs.get(instanceIdOf(tenant.id, id));
    const input = info && jobInputOf(info);
    const status = info && statusOf(info);
    if (!info || !input || !status || input.tenant !== tenant.id) throw notFound('job');
    return { tenant, info, status, input };
  }

  return {
    async submit(req, jobs) {
      const tenant = authorizeTenant(req, deps.tenants);
      const body = await readJson(req, deps.maxBodyBytes);
      const key = req.headers.get('idempotency-key');
      if (key !== null && !IDEMPOTENCY_KEY.test(key))
        throw validationFailed([{ field: 'Idempotency-Key', message: 'must be 1-200 printable ASCII characters' }]);
      const jobId = key ? jobIdForIdempotencyKey(tenant.id, key) : newJobId();
      const instanceId = instanceIdOf(tenant.id, jobId);
      const spec = validateSubmission(tenant, body, {
        acrLoginServer: deps.acrLoginServer,
        signingKey: deps.signingKey,
        jobId,
      });
      if (spec.cpu > deps.globalMaxCores)
        throw validationFailed([
          { field: 'cpu', message: `${spec.cpu} exceeds the controller's regional core cap ${deps.globalMaxCores}` },
        ]);
      const hash = requestHash(deps.signingKey, body);

      if (key) {
        const existing = await jobs.get(instanceId);
        const prior = existing && jobInputOf(existing);
        if (existing && prior) {
          if (prior.requestHash !== hash) throw idempotencyConflict();
          const status = statusOf(existing);
          return json(
            200,
            { id: jobId, state: status?.state ?? 'queued', links: links(tenant.id, jobId) },
            { Location: links(tenant.id, jobId).self },
          );
        }
      }

      const now = deps.now();
      const createdAt = now.toISOString();
      // The ledger entry is claimed first, owned by this body's hash: a racing submission with the
      // same Idempotency-Key but another body finds the entry owned by another and gets 409 before
      // it can touch the winner's input blob or queue entry.
      const queued = await deps.ledger
        .update((doc) => {
          const r = enqueue(doc, tenant.id, tenant.limits, {
            instanceId,
            jobId,
            cores: spec.cpu,
            memoryGb: spec.memoryGb,
            enqueuedAt: createdAt,
            owner: hash,
          });
          return { changed: r.result === 'enqueued', result: r };
        })
        .catch((e: unknown) => {
          deps.log.error({ tenant: tenant.id, jobId, err: (e as Error).message }, 'could not enqueue the job');
          throw serviceUnavailable('The admission queue is busy; retry (with the same Idempotency-Key).');
        });
      if (queued.result === 'ownedByAnother') throw idempotencyConflict();
      if (queued.result === 'queueFull')
        throw queueFull(tenant.limits.maxQueuedJobs, Math.max(5, Math.round(deps.settings.admissionPollSeconds * 4)));
      // Only the request that wrote the entry may take it back, and only its own (owner-checked).
      const releaseOurs = async () => {
        if (queued.result !== 'enqueued') return;
        await deps.ledger
          .update((doc) => ({ changed: release(doc, tenant.id, instanceId, hash), result: undefined }))
          .catch(() => undefined);
      };
      // The batch input can be large: it goes to Blob once, not into every generation's history.
      const bodyInput = (body as { input?: unknown }).input;
      if (bodyInput !== undefined) {
        const name = blobNames(tenant.id, jobId).input;
        await deps.results.put(name, JSON.stringify(bodyInput), 'application/json').catch(async (e: unknown) => {
          deps.log.error({ tenant: tenant.id, jobId, err: (e as Error).message }, 'could not store the job input');
          await releaseOurs();
          throw serviceUnavailable('The job input could not be stored; retry (with the same Idempotency-Key).');
        });
        spec.inputBlob = name;
      }
      const input: JobInput = {
        jobId,
        tenant: tenant.id,
        instanceId,
        groupName: groupNameOf(tenant.id, jobId),
        location: tenant.location ?? deps.defaultLocation,
        createdAt,
        requestHash: hash,
        spec,
        rates: tenant.costRates,
        settings: deps.settings,
      };
      try {
        await jobs.start(input);
      } catch (e) {
        // A concurrent repeat with the same Idempotency-Key may have started it first.
        const raced = key ? await jobs.get(instanceId).catch(() => undefined) : undefined;
        const racedInput = raced && jobInputOf(raced);
        if (raced && racedInput) {
          if (racedInput.requestHash !== hash) throw idempotencyConflict();
          const l = links(tenant.id, jobId);
          return json(200, { id: jobId, state: statusOf(raced)?.state ?? 'queued', links: l }, { Location: l.self });
        }
        await releaseOurs();
        deps.log.error(
          { tenant: tenant.id, jobId, instanceId, err: (e as Error).message },
          'could not start the orchestration',
        );
        throw serviceUnavailable('The job could not be started; retry (with the same Idempotency-Key).');
      }
      deps.log.info(
        {
          tenant: tenant.id,
          jobId,
          instanceId,
          image: spec.image.ref,
          cpu: spec.cpu,
          memoryGb: spec.memoryGb,
          position: queued.position,
        },
        'job submitted',
      );
      const l = links(tenant.id, jobId);
      return json(202, { id: jobId, state: 'queued', links: l }, { Location: l.self });
    },

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
      if (problems.length) throw validationFailed(problems);
      const infos = await jobs.list(instancePrefixOf(tenant.id), since);
      // Newest first; ties broken by instance id, so the continuation token is a stable cursor.
      const order = (a: InstanceInfo, b: InstanceInfo) =>
        a.createdTime === b.createdTime
          ? a.instanceId < b.instanceId
            ? -1
            : 1
          : a.createdTime > b.createdTime
            ? -1
            : 1;
      const rows = infos
        .filter((i) => i.instanceId.startsWith(instancePrefixOf(tenant.id)))
        .sort(order)
        .filter((i) => !after || i.createdTime < after.t || (i.createdTime === after.t && i.instanceId > after.i))
        .map((i) => ({ info: i, status: statusOf(i) }))
        .filter(
          (r): r is { info: InstanceInfo; status: JobStatus } =>
            !!r.status && r.status.tenant === tenant.id && (!state || r.status.state === state),
        );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const next =
        rows.length > limit && last
          ? Buffer.from(JSON.stringify({ t: last.info.createdTime, i: last.info.instanceId })).toString('base64url')
          : null;
      return json(200, { jobs: page.map((r) => r.status), continuationToken: next });
    },

    async get(req, jobs) {
      const { status } = await load(req, jobs);
      return json(200, status);
    },

    async cancel(req, jobs) {
      const { tenant, status, input } = await load(req, jobs);
      if (isTerminalState(status.state)) throw jobAlreadyFinished(status.state);
      // The ledger flag stops a queued job even if the event were lost; the marker blob does the
      // same for a running one (the monitor's poll reads it); the event makes it immediate.
      await deps.ledger.update((doc) => ({
        changed: markCanceled(doc, tenant.id, input.instanceId),
        result: undefined,
      }));
      await deps.results.put(
        `${tenant.id}/${input.jobId}/cancel-requested`,
        JSON.stringify({ at: deps.now().toISOString() }),
        'application/json',
      );
      await jobs.raise(input.instanceId, EVENTS.cancel, { requestedAt: deps.now().toISOString() });
      deps.log.info({ tenant: tenant.id, jobId: input.jobId, instanceId: input.instanceId }, 'cancel requested');
      return json(202, {
        id: input.jobId,
        state: status.state,
        cancelRequested: true,
        links: links(tenant.id, input.jobId),
      });
    },

    async logs(req, jobs) {
      const { tenant, status, input } = await load(req, jobs);
      const archived = await deps.results.get(blobNames(tenant.id, input.jobId).logs);
      if (archived)
        return {
          status: 200,
          headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
          body: archived.body.toString('utf8'),
        };
      if (!isTerminalState(status.state) && status.container.state !== 'none') {
        const live = await deps.liveLogs(input.groupName).catch(() => undefined);
        if (live !== undefined)
          return {
            status: 200,
            headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
            body: live,
          };
      }
      if (!isTerminalState(status.state)) throw notFinished(status.state);
      throw notFound('log (none was archived for this job)');
    },

    async result(req, jobs) {
      const { tenant, status, input } = await load(req, jobs);
      if (!isTerminalState(status.state)) throw notFinished(status.state);
      const stored = await deps.results.get(blobNames(tenant.id, input.jobId).result);
      if (!stored)
        throw new CodedError({
          code: 'NoResult',
          httpStatus: 404,
          message: `The job ended ${status.state} without a result${status.error ? ` (${status.error.code}: ${status.error.message})` : ''}.`,
        });
      const doc = JSON.parse(stored.body.toString('utf8')) as { result?: unknown };
      return json(200, doc.result ?? null);
    },

    async tenant(req, jobs) {
      const tenant = authorizeTenant(req, deps.tenants);
      const ledger = await deps.ledger.read();
      const usage = tenantUsage(ledger, tenant.id);
      const infos = await jobs.list(instancePrefixOf(tenant.id));
      const totals = {
        jobs: 0,
        vcpuSeconds: 0,
        gbSeconds: 0,
        estimatedCost: 0,
        currency: tenant.costRates.currency,
        byState: {} as Partial<Record<JobState, number>>,
      };
      for (const info of infos) {
        const s = statusOf(info);
        if (!s || s.tenant !== tenant.id) continue;
        totals.jobs++;
        totals.byState[s.state] = (totals.byState[s.state] ?? 0) + 1;
        totals.vcpuSeconds += s.usage.vcpuSeconds;
        totals.gbSeconds += s.usage.gbSeconds;
        totals.estimatedCost += s.usage.estimatedCost;
      }
      totals.estimatedCost = Math.round(totals.estimatedCost * 1e6) / 1e6;
      return json(200, {
        id: tenant.id,
        displayName: tenant.displayName,
        location: tenant.location ?? deps.defaultLocation,
        limits: tenant.limits,
        defaults: tenant.defaults,
        allowedRepositories: tenant.allowedRepositories,
        costRates: tenant.costRates,
        running: usage.running,
        queued: usage.queued,
        runningCores: usage.runningCores,
        usage: totals,
      });
    },
  };
}
