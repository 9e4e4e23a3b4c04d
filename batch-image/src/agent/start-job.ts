// Accepting a start, whichever way it came: POST /start (push) or the controller's answer to the
// agent's start request (pull mode). One rule for both, so a pulled start is validated exactly like
// a pushed one and an agent never runs two jobs.
import type { AgentConfig } from './config';
import { agentBusy, invalidInput, shuttingDown } from './errors';
import type { JobRunner, JobStatus, Work } from './job-runner';
import type { Logger } from './log';
import { parseJobId, planStart, type InputValidator, type StartPlan } from './start-request';

export interface StartDeps {
  config: AgentConfig;
  runner: JobRunner;
  log: Logger;
  /** Model mode's input validator. */
  validateModelInput: InputValidator;
  /** Builds the work for a validated plan (model or command). */
  createWork(plan: StartPlan): Work;
  /** True once SIGTERM arrived: no new job starts. */
  isShuttingDown(): boolean;
  /** Told when a job really started (the ready callback then stops retrying). */
  onStarted?(jobId: string): void;
}

/**
 * Starts the job described by a /start body and returns its status. The same jobId again → the
 * current status (idempotent). Throws AgentError: ShuttingDown, AgentBusy, InvalidInput (every field).
 */
export function acceptStart(deps: StartDeps, body: unknown): JobStatus {
  const { config, runner, log } = deps;
  if (deps.isShuttingDown()) throw shuttingDown();
  const id = parseJobId(body, config.jobId);
  // A retry of the current job answers with its state; another job is refused, whatever its body.
  const current = runner.snapshot();
  if ('jobId' in id && current.jobId !== null) {
    if (id.jobId !== current.jobId) throw agentBusy(current.jobId);
    return current;
  }
  const planned = planStart(
    body,
    { expectedJobId: config.jobId, mode: config.mode, defaultCommand: config.defaultCommand },
    deps.validateModelInput,
  );
  if (!planned.ok) throw invalidInput(planned.errors);
  const { plan } = planned;
  // start() re-checks: two concurrent first requests cannot both start a job.
  const started = runner.start(plan.jobId, plan.mode, () => deps.createWork(plan));
  if (started) {
    log.info('job started', {
      jobId: plan.jobId,
      mode: plan.mode,
      ...(plan.mode === 'command' ? { program: plan.command[0] } : {}),
    });
    deps.onStarted?.(plan.jobId);
  }
  return runner.snapshot();
}
