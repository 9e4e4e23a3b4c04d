// Wires the agent together and runs it: job runner, callbacks, HTTP server, SIGTERM handling.
// main.ts supplies the configuration (from the environment) and the model.
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { CallbackSender } from './callbacks';
import { createCommandWork } from './command-runner';
import type { AgentConfig } from './config';
import { CancelRequest, JobRunner, type Work } from './job-runner';
import type { Logger } from './log';
import { createAgentServer } from './server';
import type { InputValidator } from './start-request';

/** What the agent needs from a model: validate `input`, then fit it into RESULT_DIR. */
export interface ModelPort {
  validateInput: InputValidator;
  createWork(input: unknown, resultDir: string, log: Logger): Work;
}

export interface RunningAgent {
  server: Server;
  runner: JobRunner;
  address: AddressInfo;
  /** Stops accepting, cancels the job, sends its final callback (bounded), closes the server. */
  shutdown(reason: string): Promise<void>;
}

export async function startAgent(config: AgentConfig, model: ModelPort, log: Logger): Promise<RunningAgent> {
  const runner = new JobRunner();
  const callbacks = config.callbackUrl
    ? new CallbackSender(config.callbackUrl, config.jobToken, config.callback, log)
    : undefined;
  runner.onEvent((event) => {
    if (event.type !== 'progress') {
      const s = event.status;
      log.info('job finished', { jobId: s.jobId, state: s.state, exitCode: s.exitCode, error: s.error });
    }
    callbacks?.handle(event);
  });

  let shuttingDown = false;
  const server = createAgentServer({
    config,
    runner,
    log,
    validateModelInput: model.validateInput,
    isShuttingDown: () => shuttingDown,
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
        : model.createWork(plan.input, config.resultDir, log.child({ jobId: plan.jobId })),
  });
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
  });

  let shutdownDone: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shutdownDone ??= (async () => {
      shuttingDown = true;
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

  return { server, runner, address, shutdown };
}

async function withDeadline(p: Promise<unknown>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (t = setTimeout(r, Math.max(0, ms))))]);
  clearTimeout(t);
}
