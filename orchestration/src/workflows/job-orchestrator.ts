// The job orchestrator (design.md steps 1–8) as a short story: run this generation's phases in
// turn — admission → resolve → create → provision → start → monitor (→ restart) — until the job's
// fate is decided, then tear down; or hand over to the next generation (continueAsNew) to keep
// history bounded during long queue waits and long runs. Each phase is its own small generator in
// phases/; the state they share is the RunContext. Events lost at a generation switch only delay
// detection: a cancel is also recorded in the admission ledger, and the poll is authoritative.
import { decodeJobError, envelopeOf, JOB_ERROR_CODES, type JobStatus, type Phase } from '../contracts';
import { admission } from './phases/admission';
import { create } from './phases/create';
import { dependencies } from './phases/dependencies';
import { fanout } from './phases/fanout';
import { monitor } from './phases/monitor';
import { provision } from './phases/provision';
import { resolve } from './phases/resolve';
import { restart } from './phases/restart';
import { start } from './phases/start';
import { teardown } from './phases/teardown';
import { RunContext, type OrchestrationContextLike, type Step, type WorkflowDeps } from './run-context';
import { fromEnvelope, toEnvelope } from './run-state';

export type { OrchestrationContextLike, TaskLike, TimerLike, WorkflowDeps } from './run-context';

/** The phase that runs while the run state is in each phase ('teardown' and 'done' end the loop). */
const PHASES: Partial<Record<Phase, (ctx: RunContext) => Step<void>>> = {
  dependencies,
  admission,
  fanout,
  resolving: resolve,
  creating: create,
  provisioning: provision,
  starting: start,
  running: monitor,
  restarting: restart,
};

export function createJobOrchestrator(deps: WorkflowDeps) {
  return function* jobOrchestrator(context: OrchestrationContextLike): Step<JobStatus | undefined> {
    const df = context.df;
    const env = envelopeOf(df.getInput<unknown>());
    if (!env) throw new Error('The orchestration input is not a job envelope.');
    const ctx = new RunContext(df, deps, fromEnvelope(env, df.currentUtcDateTime.toISOString()));
    const s = ctx.s;
    s.generation += 1;
    ctx.publish();
    try {
      while (!s.outcome && !ctx.continued) {
        if (ctx.cancelEvent.isCompleted) {
          ctx.canceled();
          break;
        }
        const phase = PHASES[s.phase];
        if (!phase) {
          ctx.fail({ code: JOB_ERROR_CODES.internal, message: `Unexpected phase ${s.phase}.` });
          break;
        }
        yield* phase(ctx);
      }
    } catch (e) {
      // An activity's retries ran out (or a bug): the job fails with that error, teardown still runs.
      ctx.fail(decodeJobError(e));
    }
    if (ctx.continued && !s.outcome) {
      ctx.publish();
      df.continueAsNew(toEnvelope(s));
      return undefined;
    }
    const outcome = s.outcome ?? { state: 'failed', error: { code: JOB_ERROR_CODES.internal, message: 'No outcome.' } };
    return yield* teardown(ctx, outcome);
  };
}
