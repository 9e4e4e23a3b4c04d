// The settings, validated once at startup (one ConfigError naming every bad setting). Nothing else
// in orchestration/ reads process.env. The Config type is derived from the table in
// settings-table.ts (each setting's `key`), so a setting is declared once.
import type { WorkflowSettings } from './contracts';
import { SETTINGS, type SettingKind, type SettingSpec } from './settings-table';

export { SETTINGS, type SettingKind, type SettingSpec } from './settings-table';

export type SettingName = (typeof SETTINGS)[number]['name'];

type Spec = (typeof SETTINGS)[number];
type ValueOf<K extends SettingKind> = K extends 'int' | 'number' ? number : string;

/** The validated settings, derived from the table: one field per setting, numbers as numbers. */
export type Config = { [S in Spec as S['key']]: ValueOf<S['kind']> };

export class ConfigError extends Error {
  constructor(readonly problems: { setting: string; message: string }[]) {
    super('Invalid configuration:\n' + problems.map((p) => `  - ${p.setting}: ${p.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Reads and validates every setting; throws one ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: { setting: string; message: string }[] = [];
  const raw = {} as Record<SettingName, string>;
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    const value = env[spec.name]?.trim() || ('default' in spec ? spec.default : undefined);
    if (value === undefined) {
      problems.push({ setting: spec.name, message: `is required: ${spec.description}` });
      continue;
    }
    const problem = checkValue(spec, value);
    if (problem) problems.push({ setting: spec.name, message: problem });
    raw[spec.name as SettingName] = value;
  }
  if (problems.length) throw new ConfigError(problems);
  const config: Record<string, string | number> = {};
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    const value = raw[spec.name as SettingName];
    config[spec.key] =
      spec.kind === 'int' || spec.kind === 'number'
        ? Number(value)
        : spec.kind === 'url'
          ? value.replace(/\/+$/, '')
          : value;
  }
  return config as Config;
}

function checkValue(spec: SettingSpec, value: string): string | undefined {
  switch (spec.kind) {
    case 'url': {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return `"${value}" is not an absolute URL (expected e.g. https://host[:port])`;
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return `must be an http(s) URL, got ${url.protocol}`;
      return undefined;
    }
    case 'int':
    case 'number': {
      const n = Number(value);
      if (!Number.isFinite(n) || (spec.kind === 'int' && !Number.isInteger(n)))
        return `"${value}" is not ${spec.kind === 'int' ? 'a whole number' : 'a number'}`;
      if (spec.min !== undefined && n < spec.min) return `must be at least ${spec.min}, got ${n}`;
      return undefined;
    }
    case 'secret':
      return value.length < 32
        ? `must be at least 32 characters long (got ${value.length}); generate one with: openssl rand -base64 48`
        : undefined;
    case 'ncrontab':
      return value.split(/\s+/).length === 6
        ? undefined
        : `"${value}" is not a 6-field NCRONTAB expression (second minute hour day month weekday)`;
    case 'string':
      if (spec.name === 'LOG_LEVEL' && !LOG_LEVELS.includes(value)) return `must be one of ${LOG_LEVELS.join(', ')}`;
      return undefined;
    case 'path':
      return undefined;
  }
}

/** The settings the orchestrator needs, captured into each job's input at submit. */
export function workflowSettings(cfg: Config): WorkflowSettings {
  return {
    pollIntervalSeconds: cfg.pollIntervalSeconds,
    admissionPollSeconds: cfg.admissionPollSeconds,
    queueTimeoutMinutes: cfg.queueTimeoutMinutes,
    dependencyTimeoutHours: cfg.dependencyTimeoutHours,
    provisionTimeoutSeconds: cfg.provisionTimeoutSeconds,
    readyFallbackSeconds: cfg.readyFallbackSeconds,
    startTimeoutSeconds: cfg.startTimeoutSeconds,
    teardownTimeoutSeconds: cfg.teardownTimeoutSeconds,
    stepsPerGeneration: cfg.historyStepsPerGeneration,
    armRetry: {
      firstRetryMs: Math.round(cfg.armRetryFirstSeconds * 1000),
      maxAttempts: cfg.armRetryAttempts,
      backoffCoefficient: 2,
      maxRetryMs: 60_000,
    },
    capacityRetry: {
      firstRetryMs: Math.round(cfg.capacityRetryFirstSeconds * 1000),
      maxAttempts: cfg.capacityRetryAttempts,
      backoffCoefficient: 2,
      maxRetryMs: 300_000,
    },
  };
}
