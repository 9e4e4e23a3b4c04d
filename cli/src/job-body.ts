// Turns `aci-batch submit` flags into the job request body of the API (README "Job fields", and
// issue 13's array / dependsOn / retry, passed through as given). Pure, so every flag's check and
// error message is unit-tested; every problem is reported at once, naming the flag and the fix.
import { usageError } from './exit-codes';

export interface SubmitFlags {
  input?: string;
  image?: string;
  cpu?: string;
  memory?: string;
  env?: string[];
  secureEnv?: string[];
  command?: string;
  timeout?: string;
  onComplete?: string;
  onFailure?: string;
  maxAttempts?: string;
  priority?: string;
  webhook?: string;
  array?: string;
  dependsOn?: string[];
  retry?: string;
}

export interface BodyContext {
  /** Reads the --input file (`-` is standard input). */
  readInput(path: string): string;
  /** For `--secure-env NAME` without a value: the variable's value in the CLI's environment. */
  env: NodeJS.ProcessEnv;
}

/** A job id (the API's): `j-` and 20 characters, `-N` for task N of an array. */
export const JOB_ID = /^j-[a-z0-9]{20}(-(0|[1-9][0-9]{0,3}))?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DEPENDENCY_CONDITIONS = ['succeeded', 'finished'];

export function buildJobBody(
  flags: SubmitFlags,
  positionalCommand: string[],
  ctx: BodyContext,
): Record<string, unknown> {
  const problems: string[] = [];
  const body: Record<string, unknown> = {};

  if (flags.input !== undefined) {
    let text: string | undefined;
    try {
      text = ctx.readInput(flags.input);
    } catch (e) {
      problems.push(
        `--input: cannot read ${flags.input} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    if (text !== undefined) {
      try {
        body.input = JSON.parse(text);
      } catch (e) {
        problems.push(`--input: ${flags.input} is not JSON (${(e as Error).message})`);
      }
    }
  }
  if (flags.image !== undefined) body.image = flags.image;
  const positive = (flag: string, v: string | undefined, field: string, integer = false) => {
    if (v === undefined) return;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
      problems.push(`${flag}: "${v}" must be a positive ${integer ? 'whole ' : ''}number`);
    else body[field] = n;
  };
  positive('--cpu', flags.cpu, 'cpu');
  positive('--memory', flags.memory, 'memoryGb');
  positive('--timeout', flags.timeout, 'timeoutMinutes');
  positive('--max-attempts', flags.maxAttempts, 'maxAttempts', true);

  const pairs = (flag: string, list: string[] | undefined, fromEnv: boolean): Record<string, string> | undefined => {
    if (!list?.length) return undefined;
    const out: Record<string, string> = {};
    for (const item of list) {
      const eq = item.indexOf('=');
      const name = eq < 0 ? item : item.slice(0, eq);
      if (!ENV_NAME.test(name)) {
        problems.push(`${flag}: "${name}" is not a variable name (letters, digits, _; not starting with a digit)`);
        continue;
      }
      if (eq >= 0) out[name] = item.slice(eq + 1);
      else if (fromEnv && ctx.env[name] !== undefined) out[name] = ctx.env[name]!;
      else
        problems.push(
          fromEnv
            ? `${flag}: ${name} has no value: write ${name}=VALUE, or export ${name} before running the CLI`
            : `${flag}: "${item}" must be NAME=VALUE`,
        );
    }
    return out;
  };
  const env = pairs('--env', flags.env, false);
  if (env) body.env = env;
  // NAME alone reads the value from the CLI's environment, so secrets stay out of argv and shell history.
  const secureEnv = pairs('--secure-env', flags.secureEnv, true);
  if (secureEnv) body.secureEnv = secureEnv;

  if (flags.command !== undefined && positionalCommand.length)
    problems.push('--command: give the command either as --command JSON or after --, not both');
  if (flags.command !== undefined) {
    const parsed = parseJson('--command', flags.command, problems, '["python", "run.py"]');
    if (parsed !== undefined) {
      if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((s) => typeof s === 'string'))
        body.command = parsed;
      else problems.push('--command: must be a non-empty JSON array of strings, e.g. \'["python", "run.py"]\'');
    }
  } else if (positionalCommand.length) body.command = positionalCommand;

  if (flags.onComplete !== undefined) body.onComplete = flags.onComplete;
  if (flags.onFailure !== undefined) body.onFailure = flags.onFailure;
  // Today Regular | Spot; issue 13 makes it 0..1000: a number is sent as a number.
  if (flags.priority !== undefined)
    body.priority = /^\d+$/.test(flags.priority) ? Number(flags.priority) : flags.priority;
  if (flags.webhook !== undefined) body.notify = { webhookUrl: flags.webhook };

  // Pass-through of the fields issue 13 adds: checked as JSON objects here, validated by the API.
  for (const [flag, v, field, example] of [
    ['--array', flags.array, 'array', '{"count": 10, "parallelism": 3}'],
    ['--retry', flags.retry, 'retry', '{"attempts": 3, "rules": [{"onExitCode": [3], "action": "retry"}]}'],
  ] as const) {
    if (v === undefined) continue;
    const parsed = parseJson(flag, v, problems, example);
    if (parsed === undefined) continue;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      problems.push(`${flag}: must be a JSON object, e.g. '${example}'`);
    else body[field] = parsed;
  }
  if (flags.dependsOn?.length) {
    const deps: { job: string; condition?: string }[] = [];
    for (const d of flags.dependsOn) {
      const [job = '', condition, extra] = d.split(':');
      if (!JOB_ID.test(job) || extra !== undefined)
        problems.push(
          `--depends-on: "${d}" must be JOB_ID[:succeeded|finished], e.g. j-abcdefghij0123456789:succeeded`,
        );
      else if (condition !== undefined && !DEPENDENCY_CONDITIONS.includes(condition))
        problems.push(`--depends-on: condition "${condition}" must be one of ${DEPENDENCY_CONDITIONS.join(', ')}`);
      else deps.push(condition ? { job, condition } : { job });
    }
    body.dependsOn = deps;
  }
  if (problems.length) throw usageError('the job cannot be submitted:', problems);
  return body;
}

function parseJson(flag: string, text: string, problems: string[], example: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    problems.push(`${flag}: not JSON (${(e as Error).message}); e.g. '${example}'`);
    return undefined;
  }
}
