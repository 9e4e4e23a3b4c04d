// Activities on the job's container group: resolve its image, create (idempotent PUT), read,
// restart, delete and stop it.
import { JOB_ERROR_CODES, routeUrl, TAGS, type ActivityHandlers } from '../contracts';
import { CodedError } from '../errors';
import { callbackToken } from '../security/callback-token';
import { openSecureEnv } from '../security/sealed-env';
import { runsWithAddress, startAgent } from './agent';
import type { ActivityDeps } from './deps';
import { fail, inputMissing, ok, retryable, settle } from './outcomes';

type GroupActivities = Pick<
  ActivityHandlers,
  | 'ResolveImage'
  | 'CreateContainerGroup'
  | 'GetContainerGroup'
  | 'RestartContainerGroup'
  | 'DeleteContainerGroup'
  | 'StopContainerGroup'
>;

export function groupActivities(deps: ActivityDeps): GroupActivities {
  const log = deps.log;
  return {
    ResolveImage: async (req) => {
      // The policy the job was submitted under; a job from before snapshots reads the tenants file.
      const allowed = req.policy?.allowedRepositories ?? deps.tenants.get(req.tenant)?.allowedRepositories ?? [];
      if (!allowed.includes(req.repository)) {
        return fail({
          code: JOB_ERROR_CODES.imageNotAllowed,
          message: `Repository ${req.repository} is not allowed for tenant ${req.tenant}.`,
        });
      }
      try {
        // Before anything bills: a job whose stored input is gone cannot start (issue 10 finding 2).
        if (req.inputBlob && !(await deps.results.exists(req.inputBlob))) return inputMissing(req.inputBlob);
        const digest = await deps.images.resolve(req.repository, req.digest ?? req.tag ?? 'latest');
        if (req.digest && req.digest !== digest)
          return fail({
            code: JOB_ERROR_CODES.imageNotFound,
            message: `Digest mismatch for ${req.repository}: asked ${req.digest}, registry has ${digest}.`,
          });
        return ok({ digest, imageRef: `${req.repository}@${digest}` });
      } catch (e) {
        return settle(e, JOB_ERROR_CODES.transient);
      }
    },
    CreateContainerGroup: async (req) => {
      let secure: Record<string, string> = {};
      try {
        if (req.sealedSecureEnv)
          secure = openSecureEnv(deps.signingKey, req.sealedSecureEnv, req.sealedFor ?? req.jobId);
      } catch {
        return fail({
          code: JOB_ERROR_CODES.internal,
          message: 'secureEnv could not be opened (was the signing key rotated?)',
        });
      }
      const policy = req.policy ?? deps.tenants.get(req.tenant);
      try {
        await deps.groups.create({
          name: req.groupName,
          location: req.location,
          image: `${deps.acrLoginServer}/${req.imageRef}`,
          cpu: req.cpu,
          memoryGb: req.memoryGb,
          env: {
            ...req.env,
            JOB_ID: req.jobId,
            PORT: String(deps.agentPort),
            ...(req.startMode === 'pull' ? { AGENT_START_MODE: 'pull' } : {}),
          },
          secureEnv: {
            ...secure,
            JOB_TOKEN: callbackToken(deps.signingKey, req.jobId),
            CALLBACK_URL: `${deps.callbackBaseUrl}${routeUrl('callback', { tenant: req.tenant, id: req.jobId })}`,
          },
          port: deps.agentPort,
          registryServer: deps.acrLoginServer,
          jobIdentityResourceId: policy?.jobIdentityResourceId ?? deps.jobIdentityResourceId,
          ...(policy?.subnetId ? { subnetId: policy.subnetId } : {}),
          priority: req.priority,
          ...(req.startMode === 'pull' ? { noInbound: true } : {}),
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
            image: `${deps.acrLoginServer}/${req.imageRef}`,
            cpu: req.cpu,
            memoryGb: req.memoryGb,
          },
          'container group create requested',
        );
        return ok(null);
      } catch (e) {
        // A regional quota hit is returned, not retried here: the orchestrator waits for quota as
        // it waits for the global cap (bounded by the queue timeout), not CAPACITY_RETRY_* times.
        if (e instanceof CodedError && e.code === JOB_ERROR_CODES.quotaExceeded) return fail(e.toJobError());
        return settle(e, JOB_ERROR_CODES.transient);
      }
    },
    GetContainerGroup: async (req) => {
      const view = await retryable('get group', () => deps.groups.get(req.groupName));
      // After the agent's ready callback: start it at the address this read shows (agent.ts).
      if (!req.start || !view.ip || !runsWithAddress(view)) return view;
      const started = await startAgent(deps, { ...req.start, ip: view.ip }).catch(() => null);
      return { ...view, started };
    },
    RestartContainerGroup: async (req) => {
      try {
        await deps.groups.restart(req.groupName);
        return ok(null);
      } catch (e) {
        return settle(e, JOB_ERROR_CODES.transient);
      }
    },
    DeleteContainerGroup: async (req) =>
      retryable('delete group', async () => {
        const existed = await deps.groups.delete(req.groupName);
        log.info(
          { tenant: req.tenant, jobId: req.jobId, group: req.groupName, existed },
          'container group delete requested',
        );
        return { existed };
      }),
    StopContainerGroup: async (req) =>
      retryable('stop group', async () => {
        const existed = await deps.groups.stop(req.groupName);
        log.info({ tenant: req.tenant, jobId: req.jobId, group: req.groupName, existed }, 'container group stopped');
        return { existed };
      }),
  };
}
