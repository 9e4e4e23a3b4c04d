// The retry fields of a job request (issue 13): their JSON Schema (spread into JOB_REQUEST_SCHEMA,
// so the validator and the OpenAPI document read the same object) and the checks a schema cannot
// say (the shorthand's conflicts, attempts for onOomKilled, the memory ceiling), normalized into
// JobSpec's retry, maxAttempts, onOomKilled and memoryCeilingGb.
import { ACI_MAX_MEMORY_GB, RETRY_LIMITS, RETRY_REASONS, type JobRetry, type RetryRule } from '../contracts';
import type { FieldProblem } from '../errors';

const action = {
  enum: ['retry', 'fail'],
  description: 'What a failed attempt this rule matches leads to: another attempt (while attempts last) or the end.',
} as const;

/** The request properties `retry` and `onOomKilled`. */
export const RETRY_REQUEST_PROPERTIES = {
  retry: {
    type: 'object',
    additionalProperties: false,
    required: ['attempts'],
    description:
      'Which failed attempts are retried. The first matching rule decides; with none matching, infrastructure failures (ProvisioningFailed, ProvisioningTimeout, AgentUnreachable, GroupDisappeared, Evicted, ArmError, ArmThrottled, TransientError) are retried and batch failures (JobFailed, ContainerExited, OOMKilled) fail the job. Replaces the shorthand maxAttempts + onFailure "restart" (which retries every failure).',
    properties: {
      attempts: {
        type: 'integer',
        minimum: 1,
        maximum: RETRY_LIMITS.maxAttempts,
        description: 'Attempts in all, the first included.',
      },
      rules: {
        type: 'array',
        maxItems: RETRY_LIMITS.maxRules,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['action'],
          description:
            "Exactly one of onExitCode and onReason. Matches by the exit code of the attempt's container (or the batch's, as the agent reports it) or by the job error code that ended the attempt.",
          properties: {
            onExitCode: {
              type: 'array',
              minItems: 1,
              maxItems: RETRY_LIMITS.maxExitCodes,
              items: { type: 'integer', minimum: 0, maximum: 255 },
            },
            onReason: { enum: [...RETRY_REASONS] },
            action,
          },
        },
      },
      backoffSeconds: {
        type: 'number',
        minimum: 0,
        maximum: RETRY_LIMITS.maxBackoffSeconds,
        description: 'Wait between a failed attempt and the next (default 0).',
      },
    },
  },
  onOomKilled: {
    enum: ['retry-with-more-memory'],
    description:
      "After an OOM kill, the next attempt doubles memoryGb, up to the tenant's maxMemoryGb and ACI's 16 GB (the group is created again: ACI cannot change an existing group's memory). Needs 2 or more attempts (retry.attempts or maxAttempts); the status lists each attempt's memory (attemptHistory).",
  },
} as const;

export interface RetryRequestFields {
  retry?: { attempts: number; rules?: RetryRule[]; backoffSeconds?: number };
  onOomKilled?: 'retry-with-more-memory';
  maxAttempts?: number;
  onFailure?: string;
}

/** What the retry fields become in the JobSpec. */
export interface RetrySpecFields {
  maxAttempts: number;
  retry?: JobRetry;
  onOomKilled?: 'retry-with-more-memory';
  memoryCeilingGb?: number;
}

/**
 * Checks a schema cannot express (`usable(f)`: the field passed the schema) and the normalized
 * fields. `defaultAttempts` is the tenant's maxAttempts default; `maxMemoryGb` its memory limit.
 */
export function checkRetryFields(
  b: RetryRequestFields,
  usable: (field: string) => boolean,
  tenant: { defaultAttempts: number; maxMemoryGb: number },
): { problems: FieldProblem[]; spec: RetrySpecFields } {
  const problems: FieldProblem[] = [];
  // Exactly one matcher per rule: checked here rather than by a oneOf, whose Ajv message names no fix.
  const rules: unknown = b.retry && typeof b.retry === 'object' ? b.retry.rules : undefined;
  if (Array.isArray(rules))
    rules.forEach((r: unknown, i) => {
      if (!r || typeof r !== 'object') return;
      const matchers = ['onExitCode', 'onReason'].filter((k) => k in r).length;
      if (matchers !== 1)
        problems.push({
          field: `retry.rules[${i}]`,
          message: `needs exactly one of onExitCode (a list of exit codes) or onReason (a job error code), ${matchers ? 'not both' : 'found neither'}`,
        });
    });
  const retry = b.retry && usable('retry') ? b.retry : undefined;
  if (retry && b.maxAttempts !== undefined)
    problems.push({
      field: 'maxAttempts',
      message: 'is the shorthand of retry.attempts; set one of them (retry.attempts)',
    });
  if (retry && b.onFailure === 'restart')
    problems.push({
      field: 'onFailure',
      message:
        '"restart" is the shorthand of retry (retry every failure); with retry, set onFailure to "delete" or "stop" (what happens to the group after the last failure)',
    });
  const maxAttempts = retry?.attempts ?? b.maxAttempts ?? tenant.defaultAttempts;
  const oom = b.onOomKilled && usable('onOomKilled') ? b.onOomKilled : undefined;
  if (oom && maxAttempts < 2)
    problems.push({
      field: 'onOomKilled',
      message: `needs a second attempt to retry with; set retry.attempts (or maxAttempts) to 2 or more (now ${maxAttempts})`,
    });
  return {
    problems,
    spec: {
      maxAttempts,
      ...(retry
        ? { retry: { attempts: retry.attempts, rules: retry.rules ?? [], backoffSeconds: retry.backoffSeconds ?? 0 } }
        : {}),
      ...(oom ? { onOomKilled: oom, memoryCeilingGb: Math.min(tenant.maxMemoryGb, ACI_MAX_MEMORY_GB) } : {}),
    },
  };
}
