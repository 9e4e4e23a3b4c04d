// POST /api/callbacks/tenants/{tenant}/jobs/{id}: the job container reports progress/completion.
// Authenticated by the per-job HMAC token (constant-time compare) before anything is looked up; the
// tenant in the URL (set by the controller in CALLBACK_URL) only locates the instance: a wrong one
// finds no such job (404). The event only wakes the monitor, which re-reads the agent's /status.
import { Ajv2020 } from 'ajv/dist/2020';
import { EVENTS, instanceIdOf, isTerminalState } from '../contracts';
import { API_ERROR_CODES, CodedError, notFound, validationFailed } from '../errors';
import type { Logger } from '../logging';
import { ajvProblems } from '../tenants/ajv-problems';
import type { TenantDirectory } from '../tenants/types';
import { verifyCallbackToken } from '../security/callback-token';
import { json, readJson, segment, type ApiRequest, type ApiResponse } from './http';
import type { JobsBackend } from '../ports';
import { jobViewOf } from './job-view';
import { CALLBACK_SCHEMA, JOB_ID_PATTERN } from './schemas';

const validate = new Ajv2020({ allErrors: true, strict: false }).compile(CALLBACK_SCHEMA);
const CALLBACK_LIMIT = 64 * 1024;

export interface CallbackDeps {
  tenants: TenantDirectory;
  signingKey: string;
  log: Logger;
  /** The admission ledger's cancel record: a pull-mode agent learns of a cancel only from an answer. */
  cancelRequested?(tenant: string, instanceId: string): Promise<boolean>;
}

export function createCallbackApi(deps: CallbackDeps): (req: ApiRequest, jobs: JobsBackend) => Promise<ApiResponse> {
  return async (req, jobs) => {
    const jobId = segment(req, 'id', JOB_ID_PATTERN);
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get('authorization') ?? '');
    if (!verifyCallbackToken(deps.signingKey, jobId, m?.[1])) {
      throw new CodedError({ code: API_ERROR_CODES.unauthorized, httpStatus: 401, message: 'Invalid callback token.' });
    }
    const body = await readJson(req, CALLBACK_LIMIT);
    if (!validate(body)) throw validationFailed(ajvProblems(validate.errors));
    const cb = body as {
      jobId: string;
      type: string;
      state?: string;
      progress?: number;
      message?: string;
      at?: string;
      exitCode?: number | null;
      uploads?: { result?: unknown };
      error?: unknown;
    };
    if (cb.jobId !== jobId) throw validationFailed([{ field: 'jobId', message: 'does not match the URL' }]);
    const tenant = deps.tenants.get(segment(req, 'tenant'));
    if (!tenant) throw notFound('job');
    const instanceId = instanceIdOf(tenant.id, jobId);
    const info = await jobs.get(instanceId);
    const view = info && jobViewOf(info);
    if (!view || view.job.jobId !== jobId) throw notFound('job');
    if (isTerminalState(view.status.state)) return json(200, { accepted: false, reason: 'job already finished' });
    const event = {
      type: cb.type,
      state: cb.state ?? null,
      progress: typeof cb.progress === 'number' ? cb.progress : null,
      message: typeof cb.message === 'string' ? cb.message.slice(0, 500) : '',
      at: cb.at ?? null,
      exitCode: cb.exitCode ?? null,
      // Pull mode's final callback says what was uploaded (absent after a SIGTERM, e.g. an eviction).
      ...(cb.uploads && typeof cb.uploads === 'object' ? { uploads: { result: cb.uploads.result === true } } : {}),
      ...(cb.error !== undefined && cb.error !== null
        ? { error: (typeof cb.error === 'string' ? cb.error : JSON.stringify(cb.error)).slice(0, 500) }
        : {}),
    };
    // `ready`: the agent listens — the job can start now; anything else wakes the monitor. A ready
    // once the job started is a restarted container (a Spot eviction restarts the group): the
    // monitor is woken to look.
    const started = ['starting', 'running'].includes(view.status.phase);
    await jobs.raise(instanceId, cb.type === 'ready' && !started ? EVENTS.ready : EVENTS.callback, event);
    deps.log.debug({ tenant: tenant.id, jobId, instanceId, type: cb.type }, 'callback');
    const asks = cb.type === 'ready' || cb.type === 'progress';
    if (asks && (await deps.cancelRequested?.(tenant.id, instanceId))) return json(200, { cancel: true });
    return json(202, { accepted: true });
  };
}
