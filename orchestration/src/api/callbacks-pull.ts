// Pull mode's agent routes (batch-image README, "Pull mode" and "What the controller must
// implement"): a group nothing can call (Spot: no IP; network.mode pull: no inbound port) fetches
// its start with POST …/start and uploads its result and artifacts with PUT …/result and
// PUT …/artifacts/{name}, into the same blobs the push path's archive writes. Every route checks the
// job token before anything is looked up; the job must exist, run in pull mode and not be finished.
import { blobNames, EVENTS, instanceIdOf, isTerminalState, type JobStatus } from '../contracts';
import { API_ERROR_CODES, CodedError, invalidJson, notFound, payloadTooLarge } from '../errors';
import type { Logger } from '../logging';
import type { JobsBackend, ResultsStore } from '../ports';
import { verifyCallbackToken } from '../security/callback-token';
import type { TenantDirectory } from '../tenants/types';
import { json, readJson, segment, type ApiRequest, type ApiResponse } from './http';
import { jobViewOf, type JobView } from './job-view';
import { JOB_ID_PATTERN } from './schemas';

/** Artifact names the agent may upload (its own rule, batch-image README). */
export const ARTIFACT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
/** The agent's result upload: at least 64 MiB (a fit result), per the agent's contract. */
export const PULL_RESULT_LIMIT = 64 * 1024 * 1024;
/** Default per-artifact limit (the push path's archive skips larger ones too). */
export const PULL_ARTIFACT_LIMIT = 50 * 1024 * 1024;
/** How soon an agent that asked too early asks again. */
const RETRY_AFTER_SECONDS = 1;

export interface PullDeps {
  tenants: TenantDirectory;
  signingKey: string;
  log: Logger;
  results: ResultsStore;
  /** The admission ledger's cancel record (pull mode's only cancel channel is the answer). */
  cancelRequested(tenant: string, instanceId: string): Promise<boolean>;
  maxArtifactBytes?: number;
}

type Handler = (req: ApiRequest, jobs: JobsBackend) => Promise<ApiResponse>;

/** Phases in which the agent's start is answered (the orchestrator reached its start step). */
const STARTED_PHASES: readonly JobStatus['phase'][] = ['starting', 'running'];

export function createPullApi(deps: PullDeps): { start: Handler; result: Handler; artifact: Handler } {
  /** Token first, then the job: it must exist in this tenant, run in pull mode and not be over. */
  async function locate(req: ApiRequest, jobs: JobsBackend): Promise<JobView & { instanceId: string }> {
    const jobId = segment(req, 'id', JOB_ID_PATTERN);
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get('authorization') ?? '');
    if (!verifyCallbackToken(deps.signingKey, jobId, m?.[1])) {
      throw new CodedError({ code: API_ERROR_CODES.unauthorized, httpStatus: 401, message: 'Invalid callback token.' });
    }
    const tenant = deps.tenants.get(segment(req, 'tenant'));
    if (!tenant) throw notFound('job');
    const instanceId = instanceIdOf(tenant.id, jobId);
    const info = await jobs.get(instanceId);
    const view = info && jobViewOf(info);
    if (!view || view.job.jobId !== jobId || view.job.spec.startMode !== 'pull') throw notFound('job');
    if (isTerminalState(view.status.state) || view.status.phase === 'done') throw notFound('job');
    return { ...view, instanceId };
  }

  return {
    start: async (req, jobs) => {
      const view = await locate(req, jobs);
      const { job, status, instanceId } = view;
      if (await deps.cancelRequested(job.tenant, instanceId)) return json(200, { cancel: true });
      if (status.phase === 'teardown') throw notFound('job');
      if (!STARTED_PHASES.includes(status.phase)) {
        return { status: 204, headers: { 'Retry-After': String(RETRY_AFTER_SECONDS), 'Cache-Control': 'no-store' } };
      }
      let input: unknown;
      if (job.spec.inputBlob) {
        const stored = await deps.results.get(job.spec.inputBlob);
        if (!stored)
          throw new CodedError({
            code: API_ERROR_CODES.internal,
            httpStatus: 500,
            message: 'The job input is missing.',
          });
        input = JSON.parse(stored.body.toString('utf8')) as unknown;
      }
      // Same answer to every request of the attempt (idempotent); the orchestrator waits for this.
      await jobs.raise(instanceId, EVENTS.callback, {
        type: 'started',
        state: 'running',
        at: new Date().toISOString(),
      });
      deps.log.info({ tenant: job.tenant, jobId: job.jobId, attempt: status.attempts }, 'pull start answered');
      return json(200, {
        jobId: job.jobId,
        ...(input !== undefined ? { input } : {}),
        ...(job.spec.command ? { command: job.spec.command } : {}),
      });
    },

    result: async (req, jobs) => {
      const { job } = await locate(req, jobs);
      const body = await readJson(req, PULL_RESULT_LIMIT);
      if (!body || typeof body !== 'object' || Array.isArray(body))
        throw invalidJson('the result must be a JSON object');
      const names = blobNames(job.tenant, job.jobId);
      await deps.results.put(names.result, JSON.stringify(body), 'application/json');
      return json(201, { stored: 'result.json' });
    },

    artifact: async (req, jobs) => {
      const { job } = await locate(req, jobs);
      const name = req.params.name ?? '';
      if (!ARTIFACT_NAME_PATTERN.test(name)) throw notFound('artifact');
      const limit = deps.maxArtifactBytes ?? PULL_ARTIFACT_LIMIT;
      const declared = Number(req.headers.get('content-length') ?? '0');
      if (Number.isFinite(declared) && declared > limit) throw payloadTooLarge(limit);
      const body = req.arrayBuffer ? Buffer.from(await req.arrayBuffer()) : Buffer.from(await req.text(), 'utf8');
      if (body.length > limit) throw payloadTooLarge(limit);
      const names = blobNames(job.tenant, job.jobId);
      const type = req.headers.get('content-type') || 'application/octet-stream';
      await deps.results.put(name === 'chart.svg' ? names.chart : names.artifact(name), body, type);
      return json(201, { stored: name, bytes: body.length });
    },
  };
}
