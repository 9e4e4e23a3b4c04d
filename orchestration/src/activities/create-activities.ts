// Activities: thin, one side effect each, small JSON in and out, built over injected clients
// (no config reading, no client construction here). Non-retryable failures are RETURNED as
// Outcome errors so callActivityWithRetry does not retry them; retryable ones are THROWN (with the
// coded error embedded in the message) and the orchestrator's retry policy backs off durably.
import {
  ACTIVITIES,
  blobNames,
  encodeJobError,
  JOB_ERROR_CODES,
  TAGS,
  type ActivityName,
  type ArchiveAnswer,
  type ArchiveRequest,
  type CreateGroupRequest,
  type GroupRef,
  type GroupView,
  type JobError,
  type NotifyRequest,
  type Observation,
  type ObserveRequest,
  type Outcome,
  type ResolvedImage,
  type ReleaseSlotRequest,
  type ResolveImageRequest,
  type SlotAnswer,
  type SlotRequest,
  type StartAgentRequest,
} from '../contracts';
import { CodedError, jobError } from '../errors';
import type { Logger } from '../logging';
import { scrubText } from '../logging';
import type { AgentClient } from '../agent/client';
import type { ContainerGroups } from '../azure/aci';
import type { ImageResolver } from '../azure/acr';
import type { ResultsStore } from '../api/job-backend';
import { release, tryGrant, type GlobalLimits, type LedgerStore } from '../tenants/admission';
import type { TenantDirectory } from '../tenants/types';
import { callbackToken } from '../security/callback-token';
import { openSecureEnv } from '../security/sealed-env';
import { postWebhook } from './webhook';

export interface ActivityDeps {
  groups: ContainerGroups;
  images: ImageResolver;
  agent: AgentClient;
  results: ResultsStore;
  ledger: LedgerStore;
  tenants: TenantDirectory;
  log: Logger;
  now(): Date;
  signingKey: string;
  callbackBaseUrl: string;
  acrLoginServer: string;
  jobIdentityResourceId: string;
  agentPort: number;
  globalLimits: GlobalLimits;
  /** Max bytes of one archived artifact. */
  maxArtifactBytes?: number;
}

type Handler = (input: never) => Promise<unknown>;

const fail = (e: JobError): Outcome<never> => ({ ok: false, error: e });
const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });

/** Throws retryable errors (with the code embedded), returns non-retryable ones. */
function settle<T>(e: unknown, fallbackCode: string): Outcome<T> {
  const coded =
    e instanceof CodedError ? e : jobError(fallbackCode, scrubText(e instanceof Error ? e.message : String(e)), true);
  if (coded.retryable) throw new Error(encodeJobError(coded.toJobError()));
  return fail(coded.toJobError());
}

/** Throws any failure as retryable (for activities whose failures are all transient). */
async function retryable<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const coded =
      e instanceof CodedError
        ? e
        : jobError(
            JOB_ERROR_CODES.transient,
            `${what}: ${scrubText(e instanceof Error ? e.message : String(e))}`,
            true,
          );
    throw new Error(encodeJobError({ ...coded.toJobError(), retryable: true }));
  }
}

export function createActivities(deps: ActivityDeps): Record<ActivityName, Handler> {
  const token = (jobId: string) => callbackToken(deps.signingKey, jobId);
  const log = deps.log;

  const acquireSlot = async (req: SlotRequest): Promise<SlotAnswer> =>
    retryable('acquire slot', async () => {
      const tenant = deps.tenants.get(req.tenant);
      if (!tenant) return { granted: false, reason: 'notQueued' } as const;
      const r = await deps.ledger.update((doc) => {
        const before = JSON.stringify(doc.tenants);
        const g = tryGrant(
          doc,
          req.tenant,
          tenant.limits,
          deps.globalLimits,
          req.instanceId,
          deps.now(),
          (id) => deps.tenants.get(id)?.limits,
        );
        return { changed: JSON.stringify(doc.tenants) !== before, result: g };
      });
      if (r.result === 'granted') return { granted: true } as const;
      if (r.result === 'waiting')
        return { granted: false, reason: 'waiting', position: r.position, blockedBy: r.blockedBy } as const;
      return { granted: false, reason: r.result } as const;
    });

  const releaseSlot = async (req: ReleaseSlotRequest): Promise<boolean> =>
    retryable('release slot', () =>
      deps.ledger.update((doc) => {
        const changed = release(doc, req.tenant, req.instanceId, req.owner);
        return { changed, result: changed };
      }),
    );

  const resolveImage = async (req: ResolveImageRequest): Promise<Outcome<ResolvedImage>> => {
    const tenant = deps.tenants.get(req.tenant);
    if (!tenant || !tenant.allowedRepositories.includes(req.repository)) {
      return fail({
        code: JOB_ERROR_CODES.imageNotAllowed,
        message: `Repository ${req.repository} is not allowed for tenant ${req.tenant}.`,
      });
    }
    try {
      const digest = await deps.images.resolve(req.repository, req.digest ?? req.tag ?? 'latest');
      if (req.digest && req.digest !== digest)
        return fail({
          code: JOB_ERROR_CODES.imageNotFound,
          message: `Digest mismatch for ${req.repository}: asked ${req.digest}, registry has ${digest}.`,
        });
      return ok({ digest, imageRef: `${deps.acrLoginServer}/${req.repository}@${digest}` });
    } catch (e) {
      return settle(e, JOB_ERROR_CODES.transient);
    }
  };

  const createGroup = async (req: CreateGroupRequest): Promise<Outcome<null>> => {
    let secure: Record<string, string> = {};
    try {
      if (req.sealedSecureEnv) secure = openSecureEnv(deps.signingKey, req.sealedSecureEnv, req.jobId);
    } catch {
      return fail({
        code: JOB_ERROR_CODES.internal,
        message: 'secureEnv could not be opened (was the signing key rotated?)',
      });
    }
    const tenant = deps.tenants.get(req.tenant);
    try {
      await deps.groups.create({
        name: req.groupName,
        location: req.location,
        image: req.imageRef,
        cpu: req.cpu,
        memoryGb: req.memoryGb,
        ...(req.gpu ? { gpu: req.gpu } : {}),
        env: { ...req.env, JOB_ID: req.jobId, PORT: String(deps.agentPort) },
        secureEnv: {
          ...secure,
          JOB_TOKEN: token(req.jobId),
          CALLBACK_URL: `${deps.callbackBaseUrl}/api/callbacks/tenants/${req.tenant}/jobs/${req.jobId}`,
        },
        port: deps.agentPort,
        registryServer: deps.acrLoginServer,
        jobIdentityResourceId: deps.jobIdentityResourceId,
        ...(tenant?.subnetId ? { subnetId: tenant.subnetId } : {}),
        tags: {
          [TAGS.managedBy]: TAGS.managedByValue,
          [TAGS.tenant]: req.tenant,
          [TAGS.jobId]: req.jobId,
          [TAGS.instanceId]: req.instanceId,
          [TAGS.expiresAt]: req.expiresAt,
        },
      });
      log.info(
        {
          tenant: req.tenant,
          jobId: req.jobId,
          instanceId: req.instanceId,
          group: req.groupName,
          image: req.imageRef,
          cpu: req.cpu,
          memoryGb: req.memoryGb,
        },
        'container group create requested',
      );
      return ok(null);
    } catch (e) {
      return settle(e, JOB_ERROR_CODES.transient);
    }
  };

  const getGroup = async (req: GroupRef): Promise<GroupView> =>
    retryable('get group', () => deps.groups.get(req.groupName));

  const checkAgentHealth = async (req: { ip: string }): Promise<boolean> => deps.agent.healthy(req.ip);

  const startAgent = async (req: StartAgentRequest): Promise<Outcome<null>> => {
    try {
      let input: unknown;
      if (req.inputBlob) {
        const stored = await deps.results.get(req.inputBlob);
        if (!stored) return fail({ code: JOB_ERROR_CODES.internal, message: 'The job input is missing from storage.' });
        input = JSON.parse(stored.body.toString('utf8')) as unknown;
      }
      const r = await deps.agent.start(req.ip, token(req.jobId), {
        jobId: req.jobId,
        ...(input !== undefined ? { input } : {}),
        ...(req.command ? { command: req.command } : {}),
      });
      if (r.ok) return ok(null);
      return fail({
        code: r.code,
        message: r.message,
        ...(r.details
          ? {
              details: r.details.map((d) => ({
                field: /^input\b/.test(d.field) ? d.field : `input.${d.field}`.replace(/\.$/, ''),
                message: d.message,
              })),
            }
          : {}),
      });
    } catch (e) {
      return settle(e, JOB_ERROR_CODES.agentUnreachable);
    }
  };

  const observeJob = async (req: ObserveRequest): Promise<Observation> =>
    retryable('observe job', async () => {
      const [group, cancelRequested] = await Promise.all([
        deps.groups.get(req.groupName),
        deps.results.exists(`${req.tenant}/${req.jobId}/cancel-requested`),
      ]);
      const ip = group.ip ?? req.ip;
      const agent =
        ip && group.exists
          ? await deps.agent.status(ip, token(req.jobId))
          : { reachable: false, state: null, progress: 0, message: '', exitCode: null, error: null };
      return { group, agent, cancelRequested };
    });

  const cancelAgent = async (req: { jobId: string; ip: string }): Promise<boolean> =>
    deps.agent.cancel(req.ip, token(req.jobId));

  const restartGroup = async (req: GroupRef): Promise<Outcome<null>> => {
    try {
      await deps.groups.restart(req.groupName);
      return ok(null);
    } catch (e) {
      return settle(e, JOB_ERROR_CODES.transient);
    }
  };

  const archiveLogs = async (req: ArchiveRequest): Promise<ArchiveAnswer> =>
    retryable('archive logs', async (): Promise<ArchiveAnswer> => {
      const names = blobNames(req.tenant, req.jobId);
      const logs = await deps.groups.logs(req.groupName);
      if (logs === undefined) return { urls: {}, notes: ['the group no longer exists; no logs to copy'] };
      const key = req.attempt ? `logs.attempt-${req.attempt}` : 'logs';
      const blob = req.attempt ? names.attemptLogs(req.attempt) : names.logs;
      return { urls: { [key]: await deps.results.put(blob, logs, 'text/plain; charset=utf-8') }, notes: [] };
    });

  const archiveResult = async (req: ArchiveRequest): Promise<ArchiveAnswer> =>
    retryable('archive result', async () => {
      const names = blobNames(req.tenant, req.jobId);
      if (!req.ip) return { urls: {}, notes: ['no agent address; no result to copy'] };
      const result = await deps.agent.result(req.ip, token(req.jobId));
      if (!result) return { urls: {}, notes: ['the agent had no result'] };
      const urls: Record<string, string> = {
        result: await deps.results.put(names.result, JSON.stringify(result), 'application/json'),
      };
      const notes: string[] = [];
      for (const a of result.artifacts.slice(0, 20)) {
        if (!/^[A-Za-z0-9._-]{1,100}$/.test(a.name)) {
          notes.push(`artifact ${JSON.stringify(a.name).slice(0, 40)} skipped: unsafe name`);
          continue;
        }
        if (a.bytes > (deps.maxArtifactBytes ?? 50 * 1024 * 1024)) {
          notes.push(`artifact ${a.name} skipped: ${a.bytes} bytes`);
          continue;
        }
        const body = await deps.agent.artifact(req.ip, token(req.jobId), a.name);
        if (!body) {
          notes.push(`artifact ${a.name} could not be read`);
          continue;
        }
        const chart = a.name === 'chart.svg';
        urls[chart ? 'chart.svg' : `artifacts/${a.name}`] = await deps.results.put(
          chart ? names.chart : names.artifact(a.name),
          body,
          a.contentType || 'application/octet-stream',
        );
      }
      return { urls, notes };
    });

  const deleteGroup = async (req: GroupRef): Promise<{ existed: boolean }> =>
    retryable('delete group', async () => {
      const existed = await deps.groups.delete(req.groupName);
      log.info(
        { tenant: req.tenant, jobId: req.jobId, group: req.groupName, existed },
        'container group delete requested',
      );
      return { existed };
    });

  const stopGroup = async (req: GroupRef): Promise<{ existed: boolean }> =>
    retryable('stop group', async () => {
      const existed = await deps.groups.stop(req.groupName);
      log.info({ tenant: req.tenant, jobId: req.jobId, group: req.groupName, existed }, 'container group stopped');
      return { existed };
    });

  const notifyWebhook = async (req: NotifyRequest): Promise<{ delivered: boolean; reason?: string }> => {
    const tenant = deps.tenants.get(req.tenant);
    const r = await postWebhook(
      req.webhookUrl,
      { event: 'job.finished', job: req.status },
      tenant?.allowPrivateWebhookTargets ?? false,
    );
    if (r.delivered) return { delivered: true };
    if (!r.permanent)
      throw new Error(encodeJobError({ code: 'WebhookFailed', message: `webhook: ${r.reason}`, retryable: true }));
    log.warn({ tenant: req.tenant, jobId: req.jobId, reason: r.reason }, 'webhook not delivered');
    return { delivered: false, reason: r.reason };
  };

  const handlers = {
    [ACTIVITIES.acquireSlot]: acquireSlot,
    [ACTIVITIES.releaseSlot]: releaseSlot,
    [ACTIVITIES.resolveImage]: resolveImage,
    [ACTIVITIES.createGroup]: createGroup,
    [ACTIVITIES.getGroup]: getGroup,
    [ACTIVITIES.checkAgentHealth]: checkAgentHealth,
    [ACTIVITIES.startAgent]: startAgent,
    [ACTIVITIES.observeJob]: observeJob,
    [ACTIVITIES.cancelAgent]: cancelAgent,
    [ACTIVITIES.restartGroup]: restartGroup,
    [ACTIVITIES.archiveLogs]: archiveLogs,
    [ACTIVITIES.archiveResult]: archiveResult,
    [ACTIVITIES.deleteGroup]: deleteGroup,
    [ACTIVITIES.stopGroup]: stopGroup,
    [ACTIVITIES.notifyWebhook]: notifyWebhook,
  } satisfies Record<ActivityName, (input: never) => Promise<unknown>>;
  return handlers as Record<ActivityName, Handler>;
}
