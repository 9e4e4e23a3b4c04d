// POST /start body → a plan for the job, or every invalid field at once (400 InvalidInput).
// Unknown top-level fields are ignored so that the controller can add some without breaking
// older images.
import type { AgentMode } from './config';
import type { FieldError } from './errors';

export type InputValidation = { ok: true; value: unknown } | { ok: false; errors: FieldError[] };
/** Model mode's validator for `input` (fields named relative to the input). */
export type InputValidator = (raw: unknown) => InputValidation;

export type StartPlan =
  | { mode: 'command'; jobId: string; command: string[]; env: Record<string, string>; input: unknown }
  | { mode: 'model'; jobId: string; input: unknown };

export interface StartOptions {
  /** JOB_ID: when set, the only jobId this agent accepts. */
  expectedJobId: string | undefined;
  mode: AgentMode;
  defaultCommand: string[] | undefined;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_JOB_ID = 256;
/** Deeper input is refused: writing it to INPUT_FILE would overflow the stack (JSON.stringify recurses). */
export const MAX_INPUT_DEPTH = 64;
const MAX_INPUT_ERRORS = 20;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Every number in a command's input must be finite: JSON.parse reads 1e309 as Infinity, which
 * JSON.stringify would silently write to INPUT_FILE as null. Iterative, so any depth is safe to check.
 */
export function checkInputValues(input: unknown, field = 'input'): FieldError[] {
  const errors: FieldError[] = [];
  const stack: [unknown, string, number][] = [[input, field, 0]];
  while (stack.length > 0 && errors.length < MAX_INPUT_ERRORS) {
    const [value, path, depth] = stack.pop()!;
    if (typeof value === 'number') {
      if (!Number.isFinite(value))
        errors.push({
          field: path,
          message: `must be a finite number, got ${String(value)} (a literal like 1e309 overflows a double)`,
        });
    } else if (typeof value === 'object' && value !== null) {
      if (depth >= MAX_INPUT_DEPTH) {
        errors.push({ field: path, message: `is nested deeper than ${MAX_INPUT_DEPTH} levels; flatten the input` });
        continue;
      }
      const entries = Array.isArray(value)
        ? value.map((v, i): [unknown, string] => [v, `${path}[${i}]`])
        : Object.entries(value).map(([k, v]): [unknown, string] => [
            v,
            IDENTIFIER.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`,
          ]);
      // Reversed onto the stack so errors come out in document order.
      for (let i = entries.length - 1; i >= 0; i--) stack.push([entries[i]![0], entries[i]![1], depth + 1]);
    }
  }
  return errors;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasControlChars = (s: string): boolean => /[\u0000-\u001f\u007f]/.test(s);

/** Just the jobId: enough to answer an idempotent retry or a 409 without validating the rest. */
export function parseJobId(
  body: unknown,
  expectedJobId: string | undefined,
): { jobId: string } | { errors: FieldError[] } {
  if (!isRecord(body)) return { errors: [{ field: 'body', message: 'must be a JSON object' }] };
  const jobId = body.jobId;
  if (jobId === undefined) return { errors: [{ field: 'jobId', message: 'is required' }] };
  if (typeof jobId !== 'string' || jobId === '')
    return { errors: [{ field: 'jobId', message: 'must be a non-empty string' }] };
  if (jobId.length > MAX_JOB_ID || hasControlChars(jobId)) {
    return {
      errors: [{ field: 'jobId', message: `must be at most ${MAX_JOB_ID} characters, without control characters` }],
    };
  }
  if (expectedJobId !== undefined && jobId !== expectedJobId) {
    return { errors: [{ field: 'jobId', message: "does not match this container's JOB_ID" }] };
  }
  return { jobId };
}

function parseCommand(raw: unknown, errors: FieldError[]): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw) || raw.length === 0) {
    errors.push({ field: 'command', message: 'must be a non-empty array of strings, e.g. ["python", "main.py"]' });
    return undefined;
  }
  let ok = true;
  raw.forEach((arg: unknown, i) => {
    if (typeof arg !== 'string') {
      errors.push({ field: `command[${i}]`, message: 'must be a string' });
      ok = false;
    } else if (arg.includes('\u0000')) {
      errors.push({ field: `command[${i}]`, message: 'must not contain NUL characters' });
      ok = false;
    } else if (i === 0 && arg.trim() === '') {
      errors.push({ field: 'command[0]', message: 'must name the program to run' });
      ok = false;
    }
  });
  return ok ? (raw as string[]) : undefined;
}

function parseEnv(raw: unknown, errors: FieldError[]): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) {
    errors.push({ field: 'env', message: 'must be an object of string values' });
    return {};
  }
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!ENV_NAME.test(name))
      errors.push({ field: `env.${name}`, message: 'is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)' });
    else if (typeof value !== 'string') errors.push({ field: `env.${name}`, message: 'must be a string' });
    else if (value.includes('\u0000'))
      errors.push({ field: `env.${name}`, message: 'must not contain NUL characters' });
    else env[name] = value;
  }
  return env;
}

/**
 * The job runs in command mode when the request carries `command`, or when the agent is configured
 * for it (AGENT_MODE=command or AGENT_COMMAND); otherwise the model runs on `input`.
 */
export function planStart(
  body: unknown,
  opts: StartOptions,
  validateModelInput: InputValidator,
): { ok: true; plan: StartPlan } | { ok: false; errors: FieldError[] } {
  const id = parseJobId(body, opts.expectedJobId);
  if (!isRecord(body)) return { ok: false, errors: 'errors' in id ? id.errors : [] };
  const errors: FieldError[] = 'errors' in id ? [...id.errors] : [];

  const command = parseCommand(body.command, errors);
  const env = parseEnv(body.env, errors);
  const commandMode = body.command !== undefined && body.command !== null ? true : opts.mode === 'command';

  if (commandMode) {
    const effective =
      command ?? (body.command === undefined || body.command === null ? opts.defaultCommand : undefined);
    if (!effective && !errors.some((e) => e.field.startsWith('command'))) {
      errors.push({ field: 'command', message: 'is required in command mode (this image has no AGENT_COMMAND)' });
    }
    // Model mode's validator checks its own numbers (every field of the model's input is known).
    errors.push(...checkInputValues(body.input));
    if (errors.length > 0 || !effective || 'errors' in id) return { ok: false, errors };
    return { ok: true, plan: { mode: 'command', jobId: id.jobId, command: effective, env, input: body.input } };
  }

  if (Object.keys(env).length > 0) {
    errors.push({ field: 'env', message: 'applies to command mode only (no command was given)' });
  }
  const checked = validateModelInput(body.input);
  if (!checked.ok) {
    for (const e of checked.errors) errors.push({ field: e.field ? `input.${e.field}` : 'input', message: e.message });
  }
  if (errors.length > 0 || !checked.ok || 'errors' in id) return { ok: false, errors };
  return { ok: true, plan: { mode: 'model', jobId: id.jobId, input: checked.value } };
}
