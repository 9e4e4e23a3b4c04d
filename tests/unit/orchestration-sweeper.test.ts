// Sweeper and Azure error classification: which tagged groups go, which stay; which SDK failures
// are retried, which end the job with which code; coded errors survive the activity boundary.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judgeGroup, sweep } from '../../orchestration/src/sweeper/sweep';
import { classifyArmError } from '../../orchestration/src/azure/arm-errors';
import { buildContainerGroup, toGroupView } from '../../orchestration/src/azure/aci';
import type { ContainerGroups, GroupSummary } from '../../orchestration/src/ports';
import { createAdmission } from '../../orchestration/src/admission/service';
import { decodeJobError, encodeJobError, TAGS, type JobStatus } from '../../orchestration/src/contracts';
import { encodeForActivity, jobError } from '../../orchestration/src/errors';
import { enqueue } from '../../orchestration/src/admission/ledger';
import { MemoryLedger, silentLog } from '../fixtures/tenants/harness';
import { scrubText } from '../../orchestration/src/logging';

const NOW = new Date('2026-01-01T12:00:00Z');
const tags = (over: Record<string, string> = {}) => ({
  [TAGS.managedBy]: 'aci-batch',
  [TAGS.instanceId]: 'a--j-1',
  [TAGS.expiresAt]: '2026-01-01T13:00:00Z',
  ...over,
});
const status = (state: JobStatus['state'], container: JobStatus['container']['state']) =>
  ({ state, phase: 'done', container: { state: container } }) as unknown as JobStatus;

describe('sweeper', () => {
  test('verdicts', () => {
    assert.equal(judgeGroup(tags(), { runtimeStatus: 'Running', status: undefined }, NOW).delete, false);
    assert.equal(judgeGroup(tags(), undefined, NOW).delete, true);
    assert.equal(
      judgeGroup(tags(), { runtimeStatus: 'Completed', status: status('succeeded', 'deleted') }, NOW).delete,
      true,
    );
    assert.equal(
      judgeGroup(tags(), { runtimeStatus: 'Completed', status: status('succeeded', 'kept') }, NOW).delete,
      false,
    );
    assert.equal(
      judgeGroup(tags(), { runtimeStatus: 'Failed', status: status('running', 'running') }, NOW).delete,
      true,
    );
    assert.equal(
      judgeGroup(
        tags({ [TAGS.expiresAt]: '2026-01-01T11:00:00Z' }),
        { runtimeStatus: 'Running', status: undefined },
        NOW,
      ).delete,
      true,
    );
    assert.equal(
      judgeGroup(
        tags({ [TAGS.expiresAt]: '2026-01-01T11:00:00Z' }),
        { runtimeStatus: 'Completed', status: status('succeeded', 'kept') },
        NOW,
      ).delete,
      true,
    );
  });

  test('sweep deletes only controller-tagged groups that qualify and frees stale ledger entries', async () => {
    const deleted: string[] = [];
    const list: GroupSummary[] = [
      { name: 'mine-orphan', tags: tags({ [TAGS.instanceId]: 'a--gone' }), provisioningState: 'Succeeded' },
      { name: 'mine-running', tags: tags({ [TAGS.instanceId]: 'a--live' }), provisioningState: 'Succeeded' },
      { name: 'not-mine', tags: { owner: 'someone' }, provisioningState: 'Succeeded' },
    ];
    const groups = {
      list: async () => list,
      delete: async (n: string) => (deleted.push(n), true),
    } as unknown as ContainerGroups;
    const ledger = new MemoryLedger();
    const lim = { maxConcurrentJobs: 5, maxQueuedJobs: 5 };
    await ledger.update((d) => {
      enqueue(d, 'a', lim, {
        instanceId: 'a--gone',
        jobId: 'gone',
        cores: 1,
        memoryGb: 1,
        enqueuedAt: '2026-01-01T11:00:00Z',
      });
      enqueue(d, 'a', lim, {
        instanceId: 'a--fresh',
        jobId: 'fresh',
        cores: 1,
        memoryGb: 1,
        enqueuedAt: '2026-01-01T11:59:50Z',
      });
      enqueue(d, 'a', lim, {
        instanceId: 'a--live',
        jobId: 'live',
        cores: 1,
        memoryGb: 1,
        enqueuedAt: '2026-01-01T11:00:00Z',
      });
      return { changed: true, result: undefined };
    });
    const report = await sweep({
      groups,
      admission: createAdmission({
        store: ledger,
        global: { maxCores: 100, maxGroups: 100, maxCreatesPer5Min: 100 },
        limitsOf: () => lim,
        now: () => NOW,
      }),
      log: silentLog,
      now: () => NOW,
      lookup: async (id) => (id === 'a--live' ? { runtimeStatus: 'Running', status: undefined } : undefined),
    });
    assert.deepEqual(deleted, ['mine-orphan']);
    assert.equal(report.examined, 2);
    assert.deepEqual(report.ledgerRemoved, ['a--gone'], 'a just-submitted entry (instance not created yet) is kept');
    assert.deepEqual(report.errors, []);
  });
});

describe('Azure errors', () => {
  const rest = (statusCode: number | undefined, code: string | undefined, message = 'm') =>
    Object.assign(new Error(message), { statusCode, code });
  test('classification', () => {
    const cases: [unknown, string, boolean][] = [
      [
        rest(409, 'ServiceUnavailable', 'The requested resource is not available in the location'),
        'CapacityUnavailable',
        true,
      ],
      [rest(409, 'ServiceUnavailable', "container group quota 'ContainerGroups' exceeded"), 'QuotaExceeded', true],
      [rest(429, 'TooManyRequests'), 'ArmThrottled', true],
      [rest(503, undefined), 'TransientError', true],
      [rest(undefined, 'ECONNRESET'), 'TransientError', true],
      [rest(400, 'InaccessibleImage'), 'ImageNotFound', false],
      [rest(400, 'InvalidRequestContent'), 'ArmError', false],
      [rest(403, 'AuthorizationFailed'), 'ArmError', false],
      [
        new Error('The long-running operation has failed. ServiceUnavailable. not available in the location'),
        'CapacityUnavailable',
        true,
      ],
      [new Error('The long-running operation has failed. InternalServerError. boom'), 'ProvisioningFailed', false],
    ];
    for (const [err, code, retryable] of cases) {
      const c = classifyArmError(err, 'op');
      assert.equal(c.code, code, String((err as Error).message));
      assert.equal(c.retryable, retryable, code);
    }
  });

  test('coded errors survive the trip through an activity failure message', () => {
    const e = jobError('CapacityUnavailable', 'no room', true);
    const wire = new Error(`Activity function 'X' failed: ${encodeForActivity(e)} \n stack...`);
    assert.deepEqual(decodeJobError(wire), { code: 'CapacityUnavailable', message: 'no room', retryable: true });
    assert.equal(decodeJobError(new Error('plain\nmore')).code, 'InternalError');
    assert.equal(decodeJobError(new Error('plain'), 'ArmError').message, 'plain');
    assert.match(encodeJobError({ code: 'A', message: 'b' }), /^A: b /);
  });

  test('secrets are scrubbed from error text', () => {
    assert.equal(scrubText('Authorization: Bearer abc.def'), 'Authorization: Bearer [redacted]');
    assert.match(scrubText('{"secureValue":"hunter2"}'), /\[redacted\]/);
    assert.match(scrubText('https://x/y?sig=abcd&x=1'), /sig=\[redacted\]&x=1/);
  });
});

describe('container group shape', () => {
  test('restartPolicy Never, user-assigned identity for ACR pull, secure env as secureValue, tags', () => {
    const g = buildContainerGroup({
      name: 'acib-a-j-1',
      location: 'westeurope',
      image: 'acr.io/a@sha256:1',
      cpu: 1,
      memoryGb: 2,
      env: { A: '1' },
      secureEnv: { JOB_TOKEN: 't' },
      port: 8080,
      registryServer: 'acr.io',
      jobIdentityResourceId:
        '/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/jobs',
      tags: { managedBy: 'aci-batch' },
    });
    assert.equal(g.restartPolicy, 'Never');
    assert.deepEqual(g.identity?.userAssignedIdentities, {
      '/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/jobs': {},
    });
    assert.deepEqual(g.imageRegistryCredentials, [
      {
        server: 'acr.io',
        identity: '/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/jobs',
      },
    ]);
    assert.deepEqual(g.containers[0]?.environmentVariables, [
      { name: 'A', value: '1' },
      { name: 'JOB_TOKEN', secureValue: 't' },
    ]);
    assert.deepEqual(g.containers[0]?.resources.requests, { cpu: 1, memoryInGB: 2 });
    assert.equal(g.tags?.managedBy, 'aci-batch');
    assert.equal(toGroupView(undefined).exists, false);
  });
});
