// The webhook activity: the job's final status to the tenant's URL (SSRF-checked at send time).
import { artifactUrl, encodeJobError, JOB_ERROR_CODES, withResultLinks, type ActivityHandlers } from '../contracts';
import type { ActivityDeps } from './deps';
import { webhookSecret } from '../security/webhook-signature';
import { postWebhook } from './webhook';

export function notifyActivities(deps: ActivityDeps): Pick<ActivityHandlers, 'NotifyWebhook'> {
  const log = deps.log;
  return {
    NotifyWebhook: async (req) => {
      const policy = req.policy ?? deps.tenants.get(req.tenant);
      const r = await postWebhook(
        req.webhookUrl,
        // Links the tenant can open (its key on this API), not the Blob URLs only the controller may read.
        {
          event: 'job.finished',
          job: await withResultLinks(
            req.status,
            (name) => `${deps.callbackBaseUrl}${artifactUrl(req.tenant, req.jobId, name)}`,
          ),
        },
        policy?.allowPrivateWebhookTargets ?? false,
        10_000,
        { secret: webhookSecret(deps.signingKey, req.tenant), now: deps.now },
      );
      if (r.delivered) return { delivered: true };
      if (!r.permanent)
        throw new Error(
          encodeJobError({ code: JOB_ERROR_CODES.webhookFailed, message: `webhook: ${r.reason}`, retryable: true }),
        );
      log.warn({ tenant: req.tenant, jobId: req.jobId, reason: r.reason }, 'webhook not delivered');
      return { delivered: false, reason: r.reason };
    },
  };
}
