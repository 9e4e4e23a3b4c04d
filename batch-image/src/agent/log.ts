// One-line JSON logs on stdout (ACI keeps stdout for `az container logs`). The token is scrubbed
// from every line as a last line of defence: callers never pass it, but an error message might echo it.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const REDACTED = '[REDACTED]';
const SECRET_KEYS = /^(authorization|token|jobtoken|job_token|password|secret)$/i;

export function createLogger(opts: {
  secrets?: readonly string[];
  write?: (line: string) => void;
  base?: LogFields;
  minLevel?: LogLevel;
}): Logger {
  // Match the secret as it appears inside a JSON string too (escaped quotes, backslashes).
  const secrets = (opts.secrets ?? []).filter((s) => s.length > 0).flatMap((s) => [JSON.stringify(s).slice(1, -1), s]);
  const write = opts.write ?? ((line: string) => process.stdout.write(line));
  const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
  const min = order[opts.minLevel ?? 'info'];

  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
      if (order[level] < min) return;
      let line: string;
      try {
        line = JSON.stringify(
          { time: new Date().toISOString(), level, msg, ...base, ...fields },
          (key, value: unknown) =>
            SECRET_KEYS.test(key)
              ? REDACTED
              : value instanceof Error
                ? { name: value.name, message: value.message }
                : value,
        );
      } catch {
        line = JSON.stringify({ time: new Date().toISOString(), level, msg, logError: 'unserializable fields' });
      }
      for (const s of secrets) line = line.split(s).join(REDACTED);
      write(line + '\n');
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (f) => make({ ...base, ...f }),
    };
  };
  return make(opts.base ?? {});
}
