// Activities that talk to the batch agent in the job's group: health, start, observe (with the
// instance view and the cancel record), cancel.
import { blobNames, JOB_ERROR_CODES, type ActivityHandlers, type AgentStatusView } from '../contracts';
import { callbackToken } from '../security/callback-token';
import type { ActivityDeps } from './deps';
import { fail, inputMissing, ok, retryable, settle } from './outcomes';

const NO_AGENT: AgentStatusView = {
  reachable: false,
  state: null,
  progress: 0,
  message: '',
  exitCode: null,
  error: null,
};

type AgentActivities = Pick<ActivityHandlers, 'CheckAgentHealth' | 'StartAgent' | 'ObserveJob' | 'CancelAgent'>;

export function agentActivities(deps: ActivityDeps): AgentActivities {
  const token = (jobId: string) => callbackToken(deps.signingKey, jobId);
  const uploadedState = async (req: { tenant: string; jobId: string }): Promise<{ state: string } | null> => {
    const stored = await deps.results.get(blobNames(req.tenant, req.jobId).result);
    if (!stored) return null;
    try {
      const state = (JSON.parse(stored.body.toString('utf8')) as { state?: unknown }).state;
      return { state: typeof state === 'string' ? state : 'unknown' };
    } catch {
      return { state: 'unknown' };
    }
  };
  return {
    CheckAgentHealth: async (req) => deps.agent.healthy(req.ip),
    StartAgent: async (req) => {
      try {
        let input: unknown;
        if (req.inputBlob) {
          const stored = await deps.results.get(req.inputBlob);
          if (!stored) return inputMissing(req.inputBlob);
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
    },
    ObserveJob: async (req) =>
      retryable('observe job', async () => {
        const [group, cancelRequested] = await Promise.all([
          deps.groups.get(req.groupName),
          deps.admission.cancelRequested(req.tenant, req.instanceId),
        ]);
        // Pull mode: nothing can call the agent; what it uploaded tells how a silent end went.
        if (req.pull) return { group, agent: NO_AGENT, cancelRequested, uploaded: await uploadedState(req) };
        const ip = group.ip ?? req.ip;
        const agent = ip && group.exists ? await deps.agent.status(ip, token(req.jobId)) : NO_AGENT;
        return { group, agent, cancelRequested };
      }),
    CancelAgent: async (req) => deps.agent.cancel(req.ip, token(req.jobId)),
  };
}
