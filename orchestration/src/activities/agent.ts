// Activities that talk to the batch agent in the job's group: health, start, observe (with the
// instance view and the cancel record), cancel.
import {
  blobNames,
  JOB_ERROR_CODES,
  type ActivityHandlers,
  type AgentStatusView,
  type GroupView,
  type Outcome,
  type StartAgentRequest,
} from '../contracts';
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
    StartAgent: (req) => startAgent(deps, req),
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

/**
 * POST /start to the agent at `req.ip` with the job's stored input: the agent's answer, a refusal
 * returned (retrying cannot help), an unreachable agent thrown as retryable.
 */
export async function startAgent(deps: ActivityDeps, req: StartAgentRequest): Promise<Outcome<null>> {
  const token = callbackToken(deps.signingKey, req.jobId);
  try {
    let input: unknown;
    if (req.inputBlob) {
      const stored = await deps.results.get(req.inputBlob);
      if (!stored) return inputMissing(req.inputBlob);
      input = JSON.parse(stored.body.toString('utf8')) as unknown;
    }
    const r = await deps.agent.start(req.ip, token, {
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
}

/** Does the view show the group running with an address (the container's own state wins when reported)? */
export function runsWithAddress(view: GroupView): boolean {
  const c = view.container;
  const running = c?.state ? c.state.toLowerCase() === 'running' : (view.state ?? '').toLowerCase() === 'running';
  return view.exists && (view.provisioningState ?? '').toLowerCase() !== 'failed' && running && !!view.ip;
}
