// Entry point of the batch container: environment → configuration → agent, plus process signals.
// Launched as `node dist/agent/main.js` (the image's ENTRYPOINT; the local ACI emulator does the same).
import { startAgent } from './app';
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
  const log = createLogger({ secrets: [config.jobToken], minLevel: process.env.AGENT_LOG_LEVEL === 'debug' ? 'debug' : 'info' });

  const agent = await startAgent(config, regimeSwitchingModel, log);

  const onSignal = (signal: NodeJS.Signals): void => {
    // A second signal, or a shutdown that overruns its budget, must still end the process.
    setTimeout(() => {
      log.warn('shutdown overran its budget; exiting now');
      process.exit(0);
    }, config.shutdownTimeoutMs + 2_000).unref();
    agent.shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { err }));
}

main().catch((err: unknown) => {
  // Typically EADDRINUSE / EADDRNOTAVAIL on listen.
  console.error(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'agent failed to start', reason: (err as Error).message }));
  process.exit(1);
});
