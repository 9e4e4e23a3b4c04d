// Pino logger writing to stderr: stdout is reserved for the CLI's single ready line.
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string = process.env.EMULATOR_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name: 'azure-emulator',
      level,
      // Secure environment values and tokens must never reach a log line.
      redact: {
        paths: ['*.secureValue', '*.access_token', '*.refresh_token', '*.authorization', 'req.headers.authorization'],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}
