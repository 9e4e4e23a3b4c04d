// Entry point of the batch container: environment → configuration → agent, plus process signals.
// Launched as `node dist/agent/main.js` (the image's ENTRYPOINT; the local ACI emulator does the same).
import { startAgent, type RunningAgent } from './app';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './log';
import { regimeSwitchingModel } from './model-runner';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : `cannot start: ${(err as Error).message}`;
    // JOB_TOKEN may be set but something else wrong: scrub it here too.
    createLogger({ secrets: [process.env.JOB_TOKEN ?? ''] }).error(message);
    process.exitCode = 2;
    return;
  }
  const log = createLogger({
    secrets: [config.jobToken],
    minLevel: process.env.AGENT_LOG_LEVEL === 'debug' ? 'debug' : 'info',
  });

  // Handlers go in before the agent announces itself: a SIGTERM that arrives before them would
  // kill the process outright (the default action), skipping the clean shutdown.
  let agent: RunningAgent | undefined = undefined;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return; // repeated signals: the shutdown below is already bounded
    stopping = true;
    setTimeout(() => {
      log.warn('shutdown overran its budget; exiting now');
      process.exit(0);
    }, config.shutdownTimeoutMs + 2_000).unref();
    if (!agent) {
      log.info('stopped before listening', { signal });
      process.exit(0);
    }
    agent.shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { err }));

  agent = await startAgent(config, regimeSwitchingModel, log);
  const running = agent;
  // Pull mode: once the job is reported nobody can reach the agent any more; exiting ends the
  // container (restartPolicy Never), and its exit code tells the controller how it ended.
  void running.pullDone?.then((code) => {
    if (stopping) return;
    stopping = true;
    running.shutdown('pull mode: job over').then(
      () => process.exit(code),
      () => process.exit(code),
    );
  });
}

main().catch((err: unknown) => {
  // Typically EADDRINUSE / EADDRNOTAVAIL on listen.
  console.error(
    JSON.stringify({
      time: new Date().toISOString(),
      level: 'error',
      msg: 'agent failed to start',
      reason: (err as Error).message,
    }),
  );
  process.exit(1);
});
