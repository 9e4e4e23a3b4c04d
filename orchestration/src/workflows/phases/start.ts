// Phase 5, start: POST /start to the agent at the IP ARM reported, retried until the start
// deadline; a refusal of the input fails the job (retrying cannot help). After the agent's ready
// callback the provisioning's ARM read already made the start (phases/provision.ts): then this phase
// runs only when the agent did not answer it.
import { decodeJobError, JOB_ERROR_CODES, type Outcome } from '../../contracts';
import { isPast } from '../job-decisions';
import type { RunContext, Step } from '../run-context';
import { isPull, startPull } from './pull';

export function* start(ctx: RunContext): Step<void> {
  const { s, settings } = ctx;
  if (isPull(ctx)) return yield* startPull(ctx);
  let r: Outcome<null> | undefined;
  try {
    r = yield* ctx.activity('StartAgent', { ...startRequest(ctx), ip: s.status.container.ip ?? '' }, null);
  } catch (e) {
    r = undefined; // unreachable for now: retried below until the start deadline
    ctx.log('warn', { err: decodeJobError(e).message }, 'start not accepted yet');
  }
  if (r) return answered(ctx, r);
  if (isPast(ctx.nowIso(), s.startDeadline)) {
    return ctx.attemptFailed(
      {
        code: JOB_ERROR_CODES.agentUnreachable,
        message: `The agent did not accept POST /start within ${settings.startTimeoutSeconds} s.`,
      },
      null,
    );
  }
  yield* ctx.pause(ctx.untilDeadline(s.startDeadline, Math.min(2, settings.pollIntervalSeconds)));
}

/** The agent answered POST /start (here, or in the provisioning's read after its ready callback). */
export function answered(ctx: RunContext, r: Outcome<null>): void {
  const { s, spec } = ctx;
  if (!r.ok) return ctx.fail(r.error);
  s.status.startedAt ??= ctx.nowIso();
  // timeoutMinutes bounds the batch's run (all attempts), from its first start.
  s.runDeadline ??= ctx.later(spec.timeoutMinutes * 60).toISOString();
  s.unreachablePolls = 0;
  // The agent just said it runs the job: the first look waits for its callbacks or the safety poll.
  s.justStarted = true;
  ctx.enter('running', 'running', 'Running');
  ctx.steps = 0;
}

/** What POST /start sends besides the address: the job's stored input or its command. */
export const startRequest = (ctx: RunContext) => ({
  jobId: ctx.s.input.jobId,
  ...(ctx.spec.inputBlob ? { inputBlob: ctx.spec.inputBlob } : {}),
  ...(ctx.spec.command ? { command: ctx.spec.command } : {}),
});
