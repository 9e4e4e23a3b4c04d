// `npm run host -- --app <folder> --port <port> --data <folder> [--host 127.0.0.1] [--max-activities 16]
//  [--max-body-bytes 10485760] [--log-level info]`
// Prints exactly one line to stdout when ready: {"ready":true,"baseUrl":"http://127.0.0.1:7071"}.
// Everything else (pino logs, the app's console output) goes to stderr.
import { resolve } from 'node:path';
import { startHost, defaultMaxActivities, defaultMaxBodyBytes, type RunningHost } from './index';
import { createLogger } from './logger';
import { HostError, errorMessage } from './errors';

const usage =
  'usage: npm run host -- --app <folder> [--port 7071] [--data <folder>] [--host 127.0.0.1] [--max-activities 16] [--max-body-bytes 10485760] [--log-level info]';

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      out.help = 'true';
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unexpected argument "${a}"`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${m[1]} needs a value`);
    out[m[1]!] = value;
  }
  return out;
}

function intOption(args: Record<string, string>, name: string, fallback: number, min: number): number {
  const text = args[name];
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got "${text}"`);
  return n;
}

async function main(): Promise<void> {
  let args: Record<string, string>;
  let port: number, maxActivities: number, maxBodyBytes: number;
  try {
    args = parseArgs(process.argv.slice(2));
    if (args.help) {
      process.stderr.write(usage + '\n');
      return;
    }
    if (!args.app) throw new Error('--app is required');
    const known = new Set(['app', 'port', 'data', 'host', 'max-activities', 'max-body-bytes', 'log-level']);
    for (const k of Object.keys(args)) if (!known.has(k)) throw new Error(`unknown option --${k}`);
    port = intOption(args, 'port', 7071, 0);
    maxActivities = intOption(args, 'max-activities', defaultMaxActivities, 1);
    maxBodyBytes = intOption(args, 'max-body-bytes', defaultMaxBodyBytes, 1);
  } catch (err) {
    process.stderr.write(`functions-host: ${errorMessage(err)}\n${usage}\n`);
    process.exit(2);
  }
  const logger = createLogger(args['log-level']);
  // The ready line is the only thing on stdout: the app's console output goes to stderr.
  console.log = console.error;
  console.info = console.error;
  console.debug = console.error;
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection in the app'));
  process.on('uncaughtException', (err) => logger.error({ err }, 'uncaught exception in the app'));

  let host: RunningHost;
  try {
    host = await startHost({
      appDir: resolve(args.app),
      port,
      dataDir: resolve(args.data ?? '.data/functions-host'),
      host: args.host,
      maxActivities,
      maxBodyBytes,
      logger,
    });
  } catch (err) {
    const code = err instanceof HostError ? err.code : 'StartFailed';
    logger.error({ code, err }, 'host failed to start');
    logger.flush();
    process.stderr.write(`functions-host: ${code}: ${errorMessage(err)}\n`);
    process.exit(1);
  }
  process.stdout.write(JSON.stringify({ ready: true, baseUrl: host.baseUrl }) + '\n');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    host.close().then(
      () => {
        logger.flush();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
