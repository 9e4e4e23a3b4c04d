// pino to stderr: stdout is reserved for the single "ready" line a parent process reads.
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level = process.env.HOST_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { component: 'functions-host' } }, pino.destination({ fd: 2, sync: true }));
}
