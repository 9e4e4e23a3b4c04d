// POST /api/tenants/{tenant}/jobs: validate, claim the queue entry (owned by the body's hash),
// store the input, start the job's orchestration. Idempotency-Key: same body → the same job (200),
// another body → 409, also when two such requests race.
import {
  blobNames,
  dependentsPrefixOf,
  groupNameOf,
  instanceIdOf,
  jobLinks,
  type JobDependency,
  type JobInput,
} from '../contracts';
import {
  API_ERROR_CODES,
  CodedError,
  idempotencyConflict,
  queueFull,
  serviceUnavailable,
  validationFailed,
} from '../errors';
import { authorizeTenant, json, readJson, type ApiRequest, type ApiResponse } from './http';
import type { JobsApiDeps } from './jobs-deps';
import { jobViewOf } from './job-view';
import { jobIdForIdempotencyKey, newJobId, requestHash, validateSubmission } from './job-request';
import type { JobsBackend } from '../ports';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
/**
 * Retry-After of a full queue: a place frees when one of the tenant's jobs is admitted or ends, which
 * no client is told of; half a minute is a fair pace (not the admission fallback, now minutes long).
 */
const QUEUE_FULL_RETRY_AFTER_SECONDS = 30;

export function createSubmit(deps: JobsApiDeps): (req: ApiRequest, jobs: JobsBackend) => Promise<ApiResponse> {
  return async function submit(req, jobs) {
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
    await checkDependenciesExist(jobs, tenant.id, spec.dependsOn ?? []);

    if (key) {
      const existing = await jobs.get(instanceId);
      const prior = existing && jobViewOf(existing);
      if (prior) {
        if (prior.job.requestHash !== hash) throw idempotencyConflict();
        return json(
          200,
          { id: jobId, state: prior.status.state, links: jobLinks(tenant.id, jobId) },
          { Location: jobLinks(tenant.id, jobId).self },
        );
      }
    }

    const now = deps.now();
    const createdAt = now.toISOString();
    // The ledger entry is claimed first, owned by this body's hash: a racing submission with the
    // same Idempotency-Key but another body finds the entry owned by another and gets 409 before
    // it can touch the winner's input blob or queue entry.
    const queued = await deps.admission
      .enqueue(tenant.id, {
        instanceId,
        jobId,
        cores: spec.cpu,
        memoryGb: spec.memoryGb,
        enqueuedAt: createdAt,
        owner: hash,
        ...(spec.queuePriority ? { priority: spec.queuePriority } : {}),
        // An array's parent never runs a group; a job with dependencies may not run before they end.
        ...(spec.array || spec.dependsOn ? { held: true } : {}),
      })
      .catch((e: unknown) => {
        deps.log.error({ tenant: tenant.id, jobId, err: (e as Error).message }, 'could not enqueue the job');
        throw serviceUnavailable('The admission queue is busy; retry (with the same Idempotency-Key).');
      });
    if (queued.result === 'ownedByAnother') throw idempotencyConflict();
    if (queued.result === 'queueFull') throw queueFull(tenant.limits.maxQueuedJobs, QUEUE_FULL_RETRY_AFTER_SECONDS);
    // Only the request that wrote the entry may take it back, and only its own (owner-checked).
    const releaseOurs = async () => {
      if (queued.result !== 'enqueued') return;
      await deps.admission.release(tenant.id, instanceId, hash).catch(() => undefined);
    };
    // The batch input can be large: it goes to Blob once, not into every generation's history (an
    // array's inputs as one blob, split per task by the parent as it starts them).
    const stored = async (what: string, write: () => Promise<unknown>) =>
      write().catch(async (e: unknown) => {
        deps.log.error({ tenant: tenant.id, jobId, err: (e as Error).message }, `could not store the job ${what}`);
        await releaseOurs();
        throw serviceUnavailable(`The job ${what} could not be stored; retry (with the same Idempotency-Key).`);
      });
    const { input: bodyInput, array } = body as { input?: unknown; array?: { inputs?: unknown[] } };
    if (bodyInput !== undefined) {
      const name = blobNames(tenant.id, jobId).input;
      await stored('input', () => deps.results.put(name, JSON.stringify(bodyInput), 'application/json'));
      spec.inputBlob = name;
    }
    if (spec.array && array?.inputs) {
      const name = blobNames(tenant.id, jobId).inputs;
      await stored('inputs', () => deps.results.put(name, JSON.stringify(array.inputs), 'application/json'));
      spec.array.inputsBlob = name;
    }
    // Each dependency learns of this job (a marker under its dependents prefix) before the job
    // starts, so a dependency that ends from now on raises DependencyEnded on it.
    for (const d of spec.dependsOn ?? [])
      await stored('dependencies', () =>
        deps.results.put(dependentsPrefixOf(tenant.id, d.job) + jobId, '', 'text/plain'),
      );
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
      await jobs.start({ job: input });
    } catch (e) {
      // A concurrent repeat with the same Idempotency-Key may have started it first.
      const raced = key ? await jobs.get(instanceId).catch(() => undefined) : undefined;
      const racedView = raced && jobViewOf(raced);
      if (racedView) {
        if (racedView.job.requestHash !== hash) throw idempotencyConflict();
        const l = jobLinks(tenant.id, jobId);
        return json(200, { id: jobId, state: racedView.status.state, links: l }, { Location: l.self });
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
    const l = jobLinks(tenant.id, jobId);
    return json(202, { id: jobId, state: 'queued', links: l }, { Location: l.self });
  };
}

/** Every dependency must be a job of this tenant (another tenant's id is as unknown as a made-up one). */
async function checkDependenciesExist(jobs: JobsBackend, tenant: string, deps: JobDependency[]): Promise<void> {
  const found = await Promise.all(
    deps.map(async (d) => {
      const info = await jobs.get(instanceIdOf(tenant, d.job));
      return info && jobViewOf(info);
    }),
  );
  const missing = deps.map((d, i) => ({ d, i })).filter(({ i }) => found[i]?.job.tenant !== tenant);
  if (missing.length)
    throw new CodedError({
      code: API_ERROR_CODES.notFound,
      httpStatus: 404,
      message: missing.map(({ d, i }) => `dependsOn[${i}].job: no job ${d.job} in this tenant`).join('; '),
      details: missing.map(({ d, i }) => ({ field: `dependsOn[${i}].job`, message: `no job ${d.job} in this tenant` })),
    });
}
