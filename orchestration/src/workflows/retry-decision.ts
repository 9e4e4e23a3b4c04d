// The retry decision after a failed attempt (issue 13): retry rules, their infrastructure / batch
// defaults, the maxAttempts + onFailure shorthand and onOomKilled's doubled memory — and the
// per-attempt record the status shows. Pure, like job-decisions.ts (no I/O, the time passed in).
import {
  ACI_MAX_MEMORY_GB,
  INFRASTRUCTURE_REASONS,
  JOB_ERROR_CODES,
  type RetryAction,
  type RetryRule,
} from '../contracts';
import { isPast } from './job-decisions';
import type { JobRunState } from './run-state';

/** How a failed attempt ended: the job error code (or `Evicted`) and the container's exit code, if known. */
export interface FailedAttempt {
  reason: string;
  exitCode: number | null;
}

/** The first rule that matches the failed attempt (exit codes match only a known exit code). */
export function matchRule(rules: readonly RetryRule[] | undefined, f: FailedAttempt): RetryRule | undefined {
  return (rules ?? []).find((r) =>
    'onExitCode' in r ? f.exitCode !== null && r.onExitCode.includes(f.exitCode) : r.onReason === f.reason,
  );
}

export type RetryDecision =
  { kind: 'retry'; why: string; backoffSeconds: number; memoryGb: number } | { kind: 'fail'; why: string };

const describeRule = (r: RetryRule): string =>
  'onExitCode' in r ? `rule onExitCode [${r.onExitCode.join(', ')}]` : `rule onReason ${r.onReason}`;

/**
 * After a failed attempt: retry or fail, and with which memory after what wait. The first matching
 * rule decides; with none, `retry` retries infrastructure failures and fails batch failures
 * (contracts/retry.ts); without `retry`, the shorthand `onFailure: restart` retries every failure
 * and otherwise nothing is retried — except an OOM kill under `onOomKilled: retry-with-more-memory`,
 * whose retry doubles memoryGb up to the job's ceiling (a retry that cannot add memory fails).
 * Attempts (`retry.attempts`, else maxAttempts) and the run deadline bound every retry.
 */
export function afterAttemptFailure(s: JobRunState, f: FailedAttempt, nowIso: string): RetryDecision {
  const spec = s.input.spec;
  const oomGrows = f.reason === JOB_ERROR_CODES.oomKilled && spec.onOomKilled === 'retry-with-more-memory';
  const rule = matchRule(spec.retry?.rules, f);
  let action: RetryAction;
  let why: string;
  if (rule) [action, why] = [rule.action, describeRule(rule)];
  else if (oomGrows) [action, why] = ['retry', 'onOomKilled: retry-with-more-memory'];
  else if (spec.retry) {
    const infra = (INFRASTRUCTURE_REASONS as readonly string[]).includes(f.reason);
    [action, why] = infra ? ['retry', 'an infrastructure failure'] : ['fail', 'a batch failure (no rule matched)'];
  } else if (spec.onFailure === 'restart') [action, why] = ['retry', 'onFailure: restart'];
  else [action, why] = ['fail', 'no retry requested'];
  if (action === 'fail') return { kind: 'fail', why };
  const attempts = spec.retry?.attempts ?? spec.maxAttempts;
  if (s.status.attempts >= attempts) return { kind: 'fail', why: `${why}, but all ${attempts} attempt(s) are used` };
  if (isPast(nowIso, s.runDeadline)) return { kind: 'fail', why: `${why}, but timeoutMinutes has passed` };
  let memoryGb = s.status.resources.memoryGb;
  if (oomGrows) {
    const ceiling = Math.min(spec.memoryCeilingGb ?? ACI_MAX_MEMORY_GB, ACI_MAX_MEMORY_GB);
    const next = Math.min(Math.round(memoryGb * 2 * 10) / 10, ceiling);
    if (next <= memoryGb) return { kind: 'fail', why: `${why}, but memoryGb ${memoryGb} is already the limit` };
    memoryGb = next;
  }
  return { kind: 'retry', why, backoffSeconds: spec.retry?.backoffSeconds ?? 0, memoryGb };
}

/** Records the attempt that begins (its memory) in the status, replacing a record of the same number. */
export function recordAttemptStart(s: JobRunState): void {
  const list = (s.status.attemptHistory ??= []);
  const entry = { attempt: s.status.attempts, memoryGb: s.status.resources.memoryGb, exitCode: null, reason: null };
  const i = list.findIndex((a) => a.attempt === entry.attempt);
  if (i >= 0) list[i] = entry;
  else list.push(entry);
}

/** Records how the current attempt ended. */
export function recordAttemptEnd(s: JobRunState, f: FailedAttempt): void {
  const cur = s.status.attemptHistory?.find((a) => a.attempt === s.status.attempts);
  if (cur) Object.assign(cur, { exitCode: f.exitCode, reason: f.reason });
}
