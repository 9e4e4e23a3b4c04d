// Retry rules (issue 13): the pure decision after a failed attempt, table by table (first matching
// rule, the infrastructure / batch defaults, the maxAttempts + onFailure shorthand, the attempt
// limit and deadline, onOomKilled's doubled memory within the tenant's and ACI's limit), and the
// validation of the request's retry fields (every bad field named, one 400).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateSubmission } from '../../orchestration/src/api/job-request';
import { BATCH_REASONS, INFRASTRUCTURE_REASONS, type JobSpec } from '../../orchestration/src/contracts';
import { CodedError } from '../../orchestration/src/errors';
import { afterAttemptFailure, type FailedAttempt } from '../../orchestration/src/workflows/retry-decision';
import { initialRunState } from '../../orchestration/src/workflows/run-state';
import { goodInput, LOGIN_SERVER, SIGNING_KEY, tenantsFixture } from '../fixtures/tenants/harness';
import { jobInput } from '../fixtures/workflow/fake-context';

const NOW = '2026-01-01T00:00:10.000Z';

function decide(spec: Partial<JobSpec>, failed: FailedAttempt, attemptsSoFar = 1, memoryGb?: number) {
  const s = initialRunState(jobInput(spec), '2026-01-01T00:00:00.000Z');
  s.status.attempts = attemptsSoFar;
  if (memoryGb !== undefined) s.status.resources.memoryGb = memoryGb;
  return afterAttemptFailure(s, failed, NOW);
}

const exit = (code: number, reason = 'JobFailed'): FailedAttempt => ({ reason, exitCode: code });
const reason = (r: string): FailedAttempt => ({ reason: r, exitCode: null });
const rules3: Partial<JobSpec> = {
  maxAttempts: 3,
  retry: {
    attempts: 3,
    backoffSeconds: 5,
    rules: [
      { onExitCode: [3], action: 'retry' },
      { onExitCode: [4, 5], action: 'fail' },
      { onReason: 'AgentUnreachable', action: 'fail' },
      { onReason: 'ContainerExited', action: 'retry' },
    ],
  },
};

describe('retry decision (afterAttemptFailure)', () => {
  const table: [string, Partial<JobSpec>, FailedAttempt, number, 'retry' | 'fail'][] = [
    ['exit 3 matches a retry rule', rules3, exit(3), 1, 'retry'],
    ['exit 3 again, attempts left', rules3, exit(3), 2, 'retry'],
    ['exit 3 with every attempt used', rules3, exit(3), 3, 'fail'],
    ['exit 4 matches a fail rule', rules3, exit(4), 1, 'fail'],
    ['exit 5, the second code of that rule', rules3, exit(5), 1, 'fail'],
    ['a rule on a reason overrides its default (infrastructure → fail)', rules3, reason('AgentUnreachable'), 1, 'fail'],
    ['a rule on a reason overrides its default (batch → retry)', rules3, exit(9, 'ContainerExited'), 1, 'retry'],
    ['the first matching rule decides (exit 3 of a ContainerExited)', rules3, exit(3, 'ContainerExited'), 1, 'retry'],
    ['no rule: an infrastructure failure retries', rules3, reason('ProvisioningTimeout'), 1, 'retry'],
    ['no rule: a group that disappeared retries', rules3, reason('GroupDisappeared'), 1, 'retry'],
    ['no rule: a batch failure fails', rules3, exit(1), 1, 'fail'],
    ['no rule: an OOM kill fails', rules3, exit(137, 'OOMKilled'), 1, 'fail'],
    ['an exit-code rule never matches an unknown exit code', rules3, reason('JobFailed'), 1, 'fail'],
    [
      'shorthand onFailure restart retries a batch failure',
      { onFailure: 'restart', maxAttempts: 2 },
      exit(1),
      1,
      'retry',
    ],
    ['shorthand: up to maxAttempts', { onFailure: 'restart', maxAttempts: 2 }, exit(1), 2, 'fail'],
    [
      'shorthand onFailure delete retries nothing',
      { onFailure: 'delete', maxAttempts: 3 },
      reason('ProvisioningTimeout'),
      1,
      'fail',
    ],
  ];
  for (const [name, spec, failed, attempts, want] of table)
    test(name, () => assert.equal(decide(spec, failed, attempts).kind, want));

  test('every reason is in exactly one default set', () => {
    const infra = new Set<string>(INFRASTRUCTURE_REASONS);
    for (const r of BATCH_REASONS) assert.ok(!infra.has(r), r);
    for (const r of INFRASTRUCTURE_REASONS)
      assert.equal(decide({ retry: { attempts: 2, rules: [], backoffSeconds: 0 } }, reason(r)).kind, 'retry', r);
    for (const r of BATCH_REASONS)
      assert.equal(decide({ retry: { attempts: 2, rules: [], backoffSeconds: 0 } }, exit(1, r)).kind, 'fail', r);
  });

  test('a retry carries the backoff and keeps the memory', () => {
    assert.deepEqual(decide(rules3, exit(3)), {
      kind: 'retry',
      why: 'rule onExitCode [3]',
      backoffSeconds: 5,
      memoryGb: 2,
    });
  });

  test('a passed run deadline fails even with attempts left', () => {
    const s = initialRunState(jobInput(rules3), '2026-01-01T00:00:00.000Z');
    s.status.attempts = 1;
    s.runDeadline = '2026-01-01T00:00:05.000Z';
    assert.equal(afterAttemptFailure(s, exit(3), NOW).kind, 'fail');
  });

  const oom = exit(137, 'OOMKilled');
  const grow = (over: Partial<JobSpec> = {}): Partial<JobSpec> => ({
    onOomKilled: 'retry-with-more-memory',
    memoryCeilingGb: 4,
    maxAttempts: 3,
    ...over,
  });
  const memoryTable: [string, Partial<JobSpec>, number, 'fail' | number][] = [
    ['doubles memoryGb', grow(), 2, 4],
    ['within the ceiling', grow(), 3, 4],
    ['at the ceiling there is nothing to add: fail', grow(), 4, 'fail'],
    ["never over ACI's 16 GB", grow({ memoryCeilingGb: 32 }), 12, 16],
    ['keeps 0.1 GB steps', grow(), 1.5, 3],
    ['with retry rules and no rule for it', grow({ retry: { attempts: 3, rules: [], backoffSeconds: 1 } }), 1, 2],
    [
      'a rule that fails OOM kills wins',
      grow({ retry: { attempts: 3, rules: [{ onReason: 'OOMKilled', action: 'fail' }], backoffSeconds: 0 } }),
      1,
      'fail',
    ],
  ];
  for (const [name, spec, memoryGb, want] of memoryTable)
    test(`onOomKilled: ${name}`, () => {
      const d = decide(spec, oom, 1, memoryGb);
      if (want === 'fail') assert.equal(d.kind, 'fail');
      else assert.equal(d.kind === 'retry' && d.memoryGb, want);
    });

  test('onOomKilled leaves other failures to the rules', () => {
    assert.equal(decide(grow(), exit(1)).kind, 'fail');
    const d = decide(grow({ onFailure: 'restart' }), exit(1));
    assert.equal(d.kind === 'retry' && d.memoryGb, 2, 'retried without more memory');
  });
});

describe('retry fields of the job request', () => {
  const alpha = tenantsFixture().get('alpha')!; // defaults onFailure restart, maxAttempts 2; maxMemoryGb 4
  const ctx = { acrLoginServer: LOGIN_SERVER, signingKey: SIGNING_KEY, jobId: 'j-aaaaaaaaaaaaaaaaaaaa' };
  function problems(body: Record<string, unknown>): Map<string, string> {
    try {
      validateSubmission(alpha, { input: goodInput(), ...body }, ctx);
    } catch (e) {
      assert.ok(e instanceof CodedError && e.code === 'ValidationFailed' && e.httpStatus === 400, String(e));
      return new Map((e.details ?? []).map((d) => [d.field, d.message]));
    }
    assert.fail('expected a ValidationFailed error');
  }

  test('normalized into the JobSpec', () => {
    const spec = validateSubmission(
      alpha,
      {
        input: goodInput(),
        onFailure: 'delete',
        retry: {
          attempts: 4,
          rules: [
            { onExitCode: [3], action: 'retry' },
            { onReason: 'Evicted', action: 'fail' },
          ],
        },
        onOomKilled: 'retry-with-more-memory',
      },
      ctx,
    );
    assert.equal(spec.maxAttempts, 4);
    assert.deepEqual(spec.retry, {
      attempts: 4,
      rules: [
        { onExitCode: [3], action: 'retry' },
        { onReason: 'Evicted', action: 'fail' },
      ],
      backoffSeconds: 0,
    });
    assert.equal(spec.onOomKilled, 'retry-with-more-memory');
    assert.equal(spec.memoryCeilingGb, 4, "the tenant's maxMemoryGb");
  });

  test('without retry fields the spec is as before (shorthand)', () => {
    const spec = validateSubmission(alpha, { input: goodInput(), maxAttempts: 3 }, ctx);
    assert.equal(spec.maxAttempts, 3);
    assert.equal(spec.retry, undefined);
    assert.equal(spec.onOomKilled, undefined);
  });

  test('every bad retry field is named at once', () => {
    const p = problems({
      retry: {
        attempts: 11,
        backoffSeconds: -1,
        rules: [
          { onExitCode: [3], action: 'maybe' },
          { onReason: 'Tired', action: 'retry' },
          { onExitCode: [], action: 'fail' },
          { onExitCode: [1], onReason: 'OOMKilled', action: 'fail' },
          { action: 'retry' },
          { onExitCode: [3], action: 'retry', extra: 1 },
        ],
      },
      onOomKilled: 'more',
    });
    for (const field of [
      'retry.attempts',
      'retry.backoffSeconds',
      'retry.rules[0].action',
      'retry.rules[1].onReason',
      'retry.rules[2].onExitCode',
      'retry.rules[3]',
      'retry.rules[4]',
      'retry.rules[5].extra',
      'onOomKilled',
    ])
      assert.ok(p.has(field), `${field} named in ${JSON.stringify([...p])}`);
    assert.match(p.get('retry.rules[1].onReason')!, /OOMKilled/, 'lists the reasons');
    assert.match(p.get('retry.rules[3]')!, /exactly one of onExitCode .* or onReason .*, not both/);
    assert.match(p.get('retry.rules[4]')!, /found neither/);
  });

  test('the shorthand and retry together, and onOomKilled without a second attempt, are refused naming the fix', () => {
    const p = problems({ retry: { attempts: 2 }, maxAttempts: 2, onFailure: 'restart' });
    assert.match(p.get('maxAttempts')!, /retry\.attempts/);
    assert.match(p.get('onFailure')!, /"delete" or "stop"/);
    const q = problems({ retry: { attempts: 1 }, onFailure: 'delete', onOomKilled: 'retry-with-more-memory' });
    assert.match(q.get('onOomKilled')!, /2 or more/);
    const r = problems({ maxAttempts: 1, onOomKilled: 'retry-with-more-memory' });
    assert.ok(r.has('onOomKilled'));
  });
});
