// The agent's settings, read once from the environment (set by the controller as container env /
// secure env) and validated up front: a bad value stops the agent with a message naming the variable.
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export type AgentMode = 'model' | 'command';
/** push: the controller POSTs /start to the agent; pull: the agent fetches its start from the controller. */
export type StartMode = 'push' | 'pull';

export interface AgentConfig {
  port: number;
  host: string;
  jobId: string | undefined;
  jobToken: string;
  callbackUrl: URL | undefined;
  /** The image's default command (AGENT_COMMAND); used when /start carries none. */
  defaultCommand: string[] | undefined;
  /** Mode when /start carries no `command`. */
  mode: AgentMode;
  resultDir: string;
  /** True when the agent made RESULT_DIR itself (a temp folder): it removes it when it stops. */
  resultDirIsTemporary: boolean;
  maxBodyBytes: number;
  /** /cancel: SIGTERM to the command's process group, SIGKILL after this. */
  cancelGraceMs: number;
  /** SIGTERM to the agent: the whole shutdown (cancel + final callback) is bounded by this. */
  shutdownTimeoutMs: number;
  callback: CallbackTuning;
  /** AGENT_START_MODE: who sends the start (see README "Pull mode"). */
  startMode: StartMode;
  /** ACI_BATCH_TASK_INDEX / ACI_BATCH_TASK_COUNT: this container's place in a job array (issue 13). */
  task: { index: number; count: number } | undefined;
  startup: StartupTuning;
}

export interface StartupTuning {
  /** No new try of the ready callback starts after this long since listening. */
  readyDeadlineMs: number;
  /** Pull mode: no new request for the start after this long since listening (then the agent exits 3). */
  pullDeadlineMs: number;
  /** Backoff of the ready callback and of start pulls (equal jitter, doubling up to maxDelayMs). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** While running, a progress callback at least this often (0: never); it carries the cancel answer. */
  heartbeatIntervalMs: number;
  /** Pull mode: timeout of one upload (PUT of the result or of one artifact). */
  uploadTimeoutMs: number;
  /** Pull mode: no upload (try) starts after this long since the job ended; the rest are reported not uploaded. */
  uploadBudgetMs: number;
}

export interface CallbackTuning {
  progressIntervalMs: number;
  finalAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** No new attempt of the final callback starts after this much time. */
  totalBudgetMs: number;
  requestTimeoutMs: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): AgentConfig {
  const errors: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      errors.push(`${name} must be an integer in [${min}, ${max}] (got '${raw}')`);
      return fallback;
    }
    return n;
  };

  const jobToken = env.JOB_TOKEN ?? '';
  if (jobToken === '') errors.push('JOB_TOKEN is required (every endpoint but /healthz needs it as a bearer token)');

  let callbackUrl: URL | undefined;
  if (env.CALLBACK_URL) {
    try {
      callbackUrl = new URL(env.CALLBACK_URL);
      if (callbackUrl.protocol !== 'http:' && callbackUrl.protocol !== 'https:') {
        errors.push('CALLBACK_URL must be an http(s) URL');
        callbackUrl = undefined;
      }
    } catch {
      // Don't echo the value: it could carry a query-string secret.
      errors.push('CALLBACK_URL is not a valid URL');
    }
  }

  let defaultCommand: string[] | undefined;
  if (env.AGENT_COMMAND) {
    try {
      const parsed: unknown = JSON.parse(env.AGENT_COMMAND);
      if (
        !Array.isArray(parsed) ||
        parsed.length === 0 ||
        !parsed.every((a) => typeof a === 'string') ||
        parsed[0] === ''
      ) {
        errors.push(
          'AGENT_COMMAND must be a JSON array of strings whose first element is the program, e.g. ["python","main.py"]',
        );
      } else {
        defaultCommand = parsed as string[];
      }
    } catch {
      errors.push('AGENT_COMMAND must be a JSON array of strings (it is not valid JSON)');
    }
  }

  let mode: AgentMode = defaultCommand ? 'command' : 'model';
  if (env.AGENT_MODE) {
    if (env.AGENT_MODE === 'model' || env.AGENT_MODE === 'command') mode = env.AGENT_MODE;
    else errors.push(`AGENT_MODE must be 'model' or 'command' (got '${env.AGENT_MODE}')`);
  }
  if (mode === 'model' && defaultCommand)
    errors.push("AGENT_COMMAND is set but AGENT_MODE is 'model': drop one of them");

  let startMode: StartMode = 'push';
  if (env.AGENT_START_MODE) {
    if (env.AGENT_START_MODE === 'push' || env.AGENT_START_MODE === 'pull') startMode = env.AGENT_START_MODE;
    else errors.push(`AGENT_START_MODE must be 'push' or 'pull' (got '${env.AGENT_START_MODE}')`);
  }
  if (startMode === 'pull') {
    // The start is fetched from CALLBACK_URL + '/start' and must name this container's job.
    if (!env.CALLBACK_URL) errors.push('AGENT_START_MODE=pull needs CALLBACK_URL (the start is fetched from it)');
    if (!env.JOB_ID) errors.push('AGENT_START_MODE=pull needs JOB_ID (the job whose start it fetches)');
  }

  // Both or neither: an index without its count (or the reverse) is a controller bug worth stopping on.
  let task: AgentConfig['task'];
  const rawIndex = env.ACI_BATCH_TASK_INDEX;
  const rawCount = env.ACI_BATCH_TASK_COUNT;
  if ((rawIndex ?? '') !== '' || (rawCount ?? '') !== '') {
    const count = int('ACI_BATCH_TASK_COUNT', -1, 1, 100_000);
    const index = int('ACI_BATCH_TASK_INDEX', -1, 0, 99_999);
    if (count === -1 && (rawCount ?? '') === '')
      errors.push('ACI_BATCH_TASK_COUNT is required with ACI_BATCH_TASK_INDEX');
    else if (index === -1 && (rawIndex ?? '') === '')
      errors.push('ACI_BATCH_TASK_INDEX is required with ACI_BATCH_TASK_COUNT');
    else if (index >= 0 && count >= 1) {
      if (index >= count)
        errors.push(`ACI_BATCH_TASK_INDEX must be below ACI_BATCH_TASK_COUNT (got ${index} of ${count})`);
      else task = { index, count };
    }
  }

  const config: AgentConfig = {
    port: int('PORT', 8080, 0, 65535),
    host: env.HOST || '0.0.0.0',
    jobId: env.JOB_ID || undefined,
    jobToken,
    callbackUrl,
    defaultCommand,
    mode,
    resultDir: '',
    resultDirIsTemporary: false,
    maxBodyBytes: int('AGENT_MAX_BODY_BYTES', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    cancelGraceMs: int('AGENT_CANCEL_GRACE_MS', 10_000, 0, 600_000),
    shutdownTimeoutMs: int('AGENT_SHUTDOWN_TIMEOUT_MS', 8_000, 500, 600_000),
    callback: {
      progressIntervalMs: int('AGENT_CALLBACK_PROGRESS_INTERVAL_MS', 1_000, 0, 600_000),
      finalAttempts: int('AGENT_CALLBACK_ATTEMPTS', 8, 1, 100),
      baseDelayMs: int('AGENT_CALLBACK_BASE_DELAY_MS', 1_000, 1, 600_000),
      maxDelayMs: int('AGENT_CALLBACK_MAX_DELAY_MS', 30_000, 1, 600_000),
      totalBudgetMs: int('AGENT_CALLBACK_BUDGET_MS', 120_000, 1, 3_600_000),
      requestTimeoutMs: int('AGENT_CALLBACK_TIMEOUT_MS', 10_000, 100, 600_000),
    },
    startMode,
    task,
    startup: {
      readyDeadlineMs: int('AGENT_READY_DEADLINE_MS', 120_000, 0, 3_600_000),
      pullDeadlineMs: int('AGENT_PULL_DEADLINE_MS', 600_000, 1_000, 86_400_000),
      baseDelayMs: int('AGENT_STARTUP_BASE_DELAY_MS', 250, 1, 600_000),
      maxDelayMs: int('AGENT_STARTUP_MAX_DELAY_MS', 5_000, 1, 600_000),
      // Pull mode has no /status to poll: the heartbeat is the controller's liveness signal and cancel channel.
      heartbeatIntervalMs: int('AGENT_HEARTBEAT_INTERVAL_MS', startMode === 'pull' ? 15_000 : 0, 0, 3_600_000),
      uploadTimeoutMs: int('AGENT_UPLOAD_TIMEOUT_MS', 300_000, 100, 3_600_000),
      uploadBudgetMs: int('AGENT_UPLOAD_BUDGET_MS', 900_000, 100, 86_400_000),
    },
  };
  if (errors.length > 0) throw new ConfigError(`Invalid agent configuration: ${errors.join('; ')}`);

  // Created here (not lazily) so a read-only or missing volume fails at start, not at the job's end.
  if (env.RESULT_DIR) {
    config.resultDir = resolve(env.RESULT_DIR);
    try {
      mkdirSync(config.resultDir, { recursive: true });
    } catch (err) {
      throw new ConfigError(`RESULT_DIR '${config.resultDir}' cannot be created: ${(err as Error).message}`);
    }
  } else {
    config.resultDir = mkdtempSync(join(tmpdir(), 'aci-batch-result-'));
    config.resultDirIsTemporary = true;
  }
  return config;
}
