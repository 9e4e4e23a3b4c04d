// Structured logs (pino) with secrets redacted wherever they might appear: secureEnv values,
// tokens, keys, Authorization headers. Job logs carry {tenant, jobId, instanceId}.
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'secureEnv',
  '*.secureEnv',
  '*.*.secureEnv',
  'sealedSecureEnv',
  '*.sealedSecureEnv',
  '*.*.sealedSecureEnv',
  'token',
  '*.token',
  'jobToken',
  '*.jobToken',
  'apiKey',
  '*.apiKey',
  'key',
  '*.key',
  'authorization',
  '*.authorization',
  'Authorization',
  '*.Authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'signingKey',
  '*.signingKey',
  'callbackSigningKey',
  '*.callbackSigningKey',
  'secureValue',
  '*.secureValue',
  '*.*.secureValue',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: 'aci-batch' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };

/** Strips anything secret-looking from text that may reach logs or job statuses (e.g. SDK error messages). */
export function scrubText(text: string): string {
  return text
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[redacted]')
    .replace(/("?(?:secureValue|password|token|access_token|refresh_token)"?\s*[:=]\s*)"[^"]*"/gi, '$1"[redacted]"')
    .replace(/([?&](?:sig|code|token)=)[^&\s"]+/gi, '$1[redacted]');
}
