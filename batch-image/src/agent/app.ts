// Wires the agent together and runs it: job runner, callbacks (ready, progress, heartbeat, final),
// HTTP server, pull mode, SIGTERM handling. main.ts supplies the configuration (from the environment)
// and the model.
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { listArtifacts } from './artifacts';
import { CallbackSender } from './callbacks';
import { createCommandWork } from './command-runner';
import type { AgentConfig } from './config';
import { AgentError, errorMessage } from './errors';
import { CancelRequest, JobRunner, type JobEvent, type Work } from './job-runner';
import type { Logger } from './log';
import { pullStart, uploadResults } from './pull-mode';
import { createAgentServer } from './server';
import { acceptStart, type StartDeps } from './start-job';
import type { InputValidator } from './start-request';

/** What the agent needs from a model: validate `input`, then fit it into RESULT_DIR. */
export interface ModelPort {
  validateInput: InputValidator;
  createWork(input: unknown, resultDir: string, log: Logger, task?: { index: number; count: number }): Work;
  /** The few fields of a result the controller reads from the final callback (e.g. the log-likelihood). */
  summarize?(result: unknown): Record<string, unknown> | undefined;
}

/** Exit codes of a pull-mode agent once its job is over (README "Pull mode"). */
export const PULL_EXIT = { done: 0, noStart: 3, finalNotDelivered: 4 } as const;

export interface RunningAgent {
  server: Server;
  runner: JobRunner;
  address: AddressInfo;
  /** Stops accepting, cancels the job, sends its final callback (bounded), closes the server. */
  shutdown(reason: string): Promise<void>;
  /** Pull mode: resolves with the exit code once the job is over and reported (or no start came). */
  pullDone: Promise<number> | undefined;
}

export async function startAgent(config: AgentConfig, model: ModelPort, log: Logger): Promise<RunningAgent> {
  const runner = new JobRunner();
  const callbacks = config.callbackUrl
    ? new CallbackSender(config.callbackUrl, config.jobToken, config.callback, log)
    : undefined;
  const pull = config.startMode === 'pull';
  const pullAbort = new AbortController();
  let shuttingDown = false;

  /** The body GET /result answers with; in pull mode it is uploaded instead. */
  const resultBody = (): Record<string, unknown> => {
    const status = runner.snapshot();
    return {
      jobId: status.jobId,
      state: status.state,
      result: runner.result,
      artifacts: listArtifacts(config.resultDir),
    };
  };
  // Runs once, before the final callback's first try: it is then complete when the controller reads it.
  // Not while shutting down (SIGTERM, a Spot eviction): the final callback must fit in the budget.
  const beforeFinal = async (): Promise<Record<string, unknown>> => {
    const summary = model.summarize?.(runner.result);
    const uploads = pull && !shuttingDown ? await uploadResults({ config, resultBody: resultBody(), log }) : undefined;
    return { ...(summary ? { summary } : {}), ...(uploads ? { uploads } : {}) };
  };
  let finished: () => void = () => undefined;
  const jobFinished = new Promise<void>((r) => (finished = r));
  runner.onEvent((event) => {
    if (event.type !== 'progress') {
      const s = event.status;
      log.info('job finished', { jobId: s.jobId, state: s.state, exitCode: s.exitCode, error: s.error });
      finished();
    }
    callbacks?.handle(event, beforeFinal);
  });
  callbacks?.onCancelOrder(() => {
    const state = runner.snapshot().state;
    if (state === 'running') {
      runner.cancel(new CancelRequest('Canceled', 'canceled by the controller', config.cancelGraceMs));
    } else if (state === 'idle' && pull) {
      log.info('canceled by the controller before the start; not asking for it any more');
      pullAbort.abort();
    }
  });

  const startDeps: StartDeps = {
    config,
    runner,
    log,
    validateModelInput: model.validateInput,
    isShuttingDown: () => shuttingDown,
    onStarted: () => callbacks?.stopReady(),
    createWork: (plan) =>
      plan.mode === 'command'
        ? createCommandWork({
            jobId: plan.jobId,
            command: plan.command,
            env: plan.env,
            input: plan.input,
            resultDir: config.resultDir,
            defaultGraceMs: config.cancelGraceMs,
            log: log.child({ jobId: plan.jobId }),
          })
        : model.createWork(plan.input, config.resultDir, log.child({ jobId: plan.jobId }), config.task),
  };
  const server = createAgentServer(startDeps);
  // Polls come every few seconds: keep-alive sockets must not outlive a shutdown for long.
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  log.info('listening', {
    host: address.address,
    port: address.port,
    jobId: config.jobId ?? null,
    mode: config.mode,
    resultDir: config.resultDir,
    callbacks: callbacks ? 'on' : 'off',
    startMode: config.startMode,
    ...(config.task ? { taskIndex: config.task.index, taskCount: config.task.count } : {}),
  });
  const bound = { host: address.address, port: address.port };
  // Not awaited: the server answers whatever happens to the announcement.
  void callbacks?.ready(
    {
      ...(config.jobId !== undefined ? { jobId: config.jobId } : {}),
      address: bound,
      startMode: config.startMode,
      mode: config.mode,
      ...(config.task ? { taskIndex: config.task.index, taskCount: config.task.count } : {}),
    },
    config.startup,
  );

  // The heartbeat: a progress callback when none went out for a whole interval, so that a controller
  // that cannot poll /status (pull mode) still sees the job alive and can answer it with a cancel.
  const heartbeatMs = callbacks ? config.startup.heartbeatIntervalMs : 0;
  const heartbeat =
    heartbeatMs > 0
      ? setInterval(
          () => {
            const status = runner.snapshot();
            if (status.state === 'running' && Date.now() - callbacks!.lastActivityAt >= heartbeatMs)
              callbacks!.handle({ type: 'progress', status } satisfies JobEvent);
          },
          Math.max(50, Math.floor(heartbeatMs / 4)),
        )
      : undefined;
  heartbeat?.unref();

  const pullDone = pull ? runPull() : undefined;
  async function runPull(): Promise<number> {
    const outcome = await pullStart({ config, runner, log, signal: pullAbort.signal, address: bound });
    if (outcome.kind === 'gave-up') {
      log.error('no start received; exiting', { reason: outcome.reason });
      return PULL_EXIT.noStart;
    }
    if (outcome.kind === 'cancel' || outcome.kind === 'aborted') {
      if (outcome.kind === 'cancel') log.info('canceled by the controller before the start');
      return PULL_EXIT.done;
    }
    if (outcome.kind === 'bad-start') {
      // As POST /start would answer 413 / 400, but nobody can be answered: the job fails, saying why.
      log.error('pulled start is unusable', { code: outcome.code, reason: outcome.message });
      const error = { code: outcome.code, message: outcome.message };
      runner.start(config.jobId!, config.mode, () => ({
        run: async () => ({ ok: false, message: outcome.message, result: null, error }),
      }));
    } else if (outcome.kind === 'start') {
      const body = outcome.body as Record<string, unknown>;
      const withId = body.jobId === undefined ? { ...body, jobId: config.jobId } : body;
      try {
        acceptStart(startDeps, withId);
      } catch (err) {
        if (!(err instanceof AgentError) || err.code !== 'InvalidInput') {
          // ShuttingDown: SIGTERM handles the rest; AgentBusy cannot happen with JOB_ID set.
          log.warn('pulled start not accepted', { reason: errorMessage(err) });
          return PULL_EXIT.done;
        }
        // Nobody can be answered 400 here: the job fails, and its final callback names every field.
        const details = err.details ?? [];
        const message = `invalid start: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`;
        log.error('pulled start is invalid', { details });
        runner.start(config.jobId!, config.mode, () => ({
          run: async () => ({ ok: false, message, result: null, error: { code: 'InvalidInput', message } }),
        }));
      }
    }
    await jobFinished;
    const delivered = (await callbacks!.finalOutcome) ?? false;
    return delivered ? PULL_EXIT.done : PULL_EXIT.finalNotDelivered;
  }

  let shutdownDone: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shutdownDone ??= (async () => {
      shuttingDown = true;
      pullAbort.abort();
      callbacks?.close();
      if (heartbeat) clearInterval(heartbeat);
      const deadline = Date.now() + config.shutdownTimeoutMs;
      log.info('shutting down', { reason });
      const closed = new Promise<void>((r) => server.close(() => r()));
      if (runner.snapshot().state === 'running') {
        // Leave room in the budget for the final callback after the process is gone.
        const graceMs = Math.max(100, Math.min(config.cancelGraceMs, Math.floor(config.shutdownTimeoutMs / 3)));
        runner.cancel(new CancelRequest('AgentShutdown', `the agent received ${reason}`, graceMs));
        await withDeadline(runner.whenSettled(), deadline - Date.now());
      }
      await callbacks?.flush(Math.max(0, deadline - Date.now()));
      server.closeAllConnections();
      await withDeadline(closed, Math.max(0, deadline - Date.now()));
      if (config.resultDirIsTemporary) {
        // Nobody can fetch it once the agent is gone; local runs would otherwise fill /tmp.
        try {
          rmSync(config.resultDir, { recursive: true, force: true });
        } catch (err) {
          log.warn('could not remove the temporary result folder', { err });
        }
      }
      log.info('stopped', { state: runner.snapshot().state });
    })();
    return shutdownDone;
  };

  return { server, runner, address, shutdown, pullDone };
}

async function withDeadline(p: Promise<unknown>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (t = setTimeout(r, Math.max(0, ms))))]);
  clearTimeout(t);
}
