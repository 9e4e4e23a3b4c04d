// The operator API over in-memory ports: off without OPERATOR_KEY_HASH (404), no key 401, a
// tenant's key 403, the operator key 200; tenants (limits, load from the ledger, usage and cost in
// a period), groups (orphans flagged by the sweeper's rule), capacity against the caps; usage
// reports per tenant and across tenants, by day, as JSON and CSV.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { handle, type ApiRequest, type ApiResponse } from '../../orchestration/src/api/http';
import { createOperatorApi } from '../../orchestration/src/api/operator';
import { parseOperatorKeyHash } from '../../orchestration/src/api/operator-auth';
import { createTenantUsage, usageCsv } from '../../orchestration/src/api/usage';
import { initialStatus, instanceIdOf, type JobEnvelope, type JobStatus } from '../../orchestration/src/contracts';
import type { ContainerGroups, GroupSummary } from '../../orchestration/src/ports';
import { judgeGroup } from '../../orchestration/src/sweeper/sweep';
import {
  apiHarness,
  auth,
  goodInput,
  request,
  silentLog,
  tenantsFixture,
  type ApiHarness,
} from '../fixtures/tenants/harness';

const OPERATOR_KEY = 'operator-test-key';
const HASH = createHash('sha256').update(OPERATOR_KEY).digest('hex');
const NOW = new Date('2026-01-01T00:00:00Z');
const run = (fn: (r: ApiRequest) => Promise<ApiResponse>, req: ApiRequest) => handle(silentLog, 'test', fn)(req);
const code = (r: ApiResponse) => (r.jsonBody as { error?: { code: string } }).error?.code;

class ListedGroups implements Partial<ContainerGroups> {
  constructor(readonly groups: GroupSummary[]) {}
  async list() {
    return this.groups;
  }
}

async function jobFor(h: ApiHarness, tenant: string, key: string, status: Partial<JobStatus>): Promise<string> {
  const r = await run(
    (q) => h.api.submit(q, h.jobs),
    request({ method: 'POST', params: { tenant }, headers: auth(key), body: { input: goodInput() } }),
  );
  const id = (r.jsonBody as { id: string }).id;
  const info = h.jobs.instances.get(instanceIdOf(tenant, id))!;
  info.runtimeStatus = 'Completed';
  info.output = { ...initialStatus((info.input as JobEnvelope).job), phase: 'done', ...status };
  return id;
}

function operator(h: ApiHarness, groups: GroupSummary[] = [], hash: string = HASH) {
  return createOperatorApi({
    tenants: tenantsFixture(),
    ledger: h.ledger,
    groups: new ListedGroups(groups) as unknown as ContainerGroups,
    globalLimits: { maxCores: 100, maxGroups: 10, maxCreatesPer5Min: 20 },
    operatorKeyHash: parseOperatorKeyHash(hash),
    judgeGroup,
    now: () => NOW,
  });
}

describe('operator auth', () => {
  test('off without the setting (404); no key 401; a tenant key 403; unknown key 401; the operator key 200', async () => {
    const h = apiHarness();
    for (const route of ['tenants', 'groups', 'capacity', 'usage'] as const) {
      const call = (headers: Record<string, string>, api = operator(h)) =>
        run((q) => api[route](q, h.jobs), request({ headers }));
      const off = await call(auth(OPERATOR_KEY), operator(h, [], ''));
      assert.equal(off.status, 404, route);
      assert.equal(code(off), 'OperatorApiDisabled');
      assert.equal((await call({})).status, 401, route);
      const tenant = await call(auth('alpha-key'));
      assert.equal(tenant.status, 403, route);
      assert.equal(code(tenant), 'Forbidden');
      assert.equal((await call(auth('not-a-key'))).status, 401, route);
      assert.equal((await call({ 'x-api-key': OPERATOR_KEY })).status, 200, route);
    }
  });

  test('a bad OPERATOR_KEY_HASH fails the start naming the setting', () => {
    assert.throws(() => parseOperatorKeyHash('operator-local-key'), /OPERATOR_KEY_HASH must be the SHA-256/);
    assert.equal(parseOperatorKeyHash(''), undefined);
  });

  test('the operator key opens no tenant route', async () => {
    const h = apiHarness();
    const r = await run(
      (q) => h.api.tenant(q, h.jobs),
      request({ params: { tenant: 'alpha' }, headers: auth(OPERATOR_KEY) }),
    );
    assert.equal(r.status, 401);
  });
});

describe('operator views', () => {
  test('tenants: limits, running and queued from the ledger, usage and cost in the period', async () => {
    const h = apiHarness();
    await jobFor(h, 'alpha', 'alpha-key', {
      state: 'succeeded',
      usage: { vcpuSeconds: 10, gbSeconds: 20, estimatedCost: 0.5, currency: 'EUR' },
    });
    await jobFor(h, 'alpha', 'alpha-key', {
      state: 'failed',
      usage: { vcpuSeconds: 5, gbSeconds: 1, estimatedCost: 0.25, currency: 'EUR' },
    });
    const r = await run(
      (q) => operator(h).tenants(q, h.jobs),
      request({ headers: auth(OPERATOR_KEY), query: { from: '2025-12-31', to: '2026-01-02' } }),
    );
    const tenants = (r.jsonBody as { tenants: Record<string, unknown>[] }).tenants;
    assert.deepEqual(
      tenants.map((t) => t.id),
      ['alpha', 'beta'],
    );
    const alpha = tenants[0] as {
      queued: number;
      running: number;
      limits: object;
      usage: { jobs: number; vcpuSeconds: number; estimatedCost: number };
    };
    assert.equal(alpha.queued, 2, 'both submissions are in the ledger queue');
    assert.equal(alpha.running, 0);
    assert.ok(alpha.limits);
    assert.deepEqual([alpha.usage.jobs, alpha.usage.vcpuSeconds, alpha.usage.estimatedCost], [2, 15, 0.75]);
    const later = await run(
      (q) => operator(h).tenants(q, h.jobs),
      request({ headers: auth(OPERATOR_KEY), query: { from: '2026-01-02', to: '2026-01-03' } }),
    );
    assert.equal((later.jsonBody as { tenants: { usage: { jobs: number } }[] }).tenants[0]!.usage.jobs, 0);
  });

  test('groups: every owned group with tenant, job, age and state; orphans (unknown or finished job) flagged', async () => {
    const h = apiHarness();
    const done = await jobFor(h, 'alpha', 'alpha-key', { state: 'succeeded' });
    const live = await jobFor(h, 'beta', 'beta-key', { state: 'running', phase: 'running' });
    h.jobs.instances.get(instanceIdOf('beta', live))!.runtimeStatus = 'Running';
    const tags = (tenant: string, jobId: string) => ({
      managedBy: 'aci-batch',
      tenant,
      jobId,
      instanceId: instanceIdOf(tenant, jobId),
      expiresAt: '2026-01-02T00:00:00Z',
    });
    const groups: GroupSummary[] = [
      { name: 'acib-alpha-done', tags: tags('alpha', done), provisioningState: 'Succeeded' },
      { name: 'acib-beta-live', tags: tags('beta', live), provisioningState: 'Succeeded' },
      { name: 'acib-alpha-ghost', tags: tags('alpha', 'j-aaaaaaaaaaaaaaaaaaaa'), provisioningState: 'Succeeded' },
      { name: 'someone-elses', tags: {}, provisioningState: 'Succeeded' },
    ];
    const r = await run((q) => operator(h, groups).groups(q, h.jobs), request({ headers: auth(OPERATOR_KEY) }));
    const list = (
      r.jsonBody as {
        groups: { name: string; orphan: boolean; tenant: string; ageSeconds: number | null; jobState: string | null }[];
      }
    ).groups;
    assert.deepEqual(
      list.map((g) => [g.name, g.orphan]),
      [
        ['acib-alpha-done', true],
        ['acib-alpha-ghost', true],
        ['acib-beta-live', false],
      ],
    );
    const beta = list.find((g) => g.name === 'acib-beta-live')!;
    assert.equal(beta.tenant, 'beta');
    assert.equal(beta.jobState, 'running');
    assert.equal(typeof beta.ageSeconds, 'number');
  });

  test('capacity: groups, cores and creates in the last 5 minutes against the caps, and the queue', async () => {
    const h = apiHarness();
    await h.ledger.update((doc) => {
      doc.tenants.alpha = {
        queue: [{ instanceId: 'q', jobId: 'q', cores: 1, memoryGb: 1, enqueuedAt: NOW.toISOString() }],
        running: [
          { instanceId: 'a', jobId: 'a', cores: 2, memoryGb: 4, enqueuedAt: NOW.toISOString() },
          { instanceId: 'b', jobId: 'b', cores: 1.5, memoryGb: 1, enqueuedAt: NOW.toISOString() },
        ],
      };
      doc.recentGrants = ['2025-12-31T23:58:00Z', '2025-12-31T23:50:00Z'];
      return { changed: true, result: undefined };
    });
    const r = await run((q) => operator(h).capacity(q, h.jobs), request({ headers: auth(OPERATOR_KEY) }));
    assert.deepEqual(r.jsonBody, {
      groups: { used: 2, max: 10 },
      cores: { used: 3.5, max: 100 },
      createsLast5Min: { used: 1, max: 20 },
      queued: 1,
      asOf: NOW.toISOString(),
    });
  });
});

describe('usage reports', () => {
  test('a tenant sees its own usage by day (JSON and CSV); the operator sees every tenant', async () => {
    const h = apiHarness();
    await jobFor(h, 'alpha', 'alpha-key', {
      state: 'succeeded',
      usage: { vcpuSeconds: 10, gbSeconds: 20, estimatedCost: 0.5, currency: 'EUR' },
    });
    await jobFor(h, 'beta', 'beta-key', {
      state: 'succeeded',
      usage: { vcpuSeconds: 1, gbSeconds: 2, estimatedCost: 0.1, currency: 'USD' },
    });
    const usage = createTenantUsage({ tenants: tenantsFixture(), now: () => NOW });
    const q = { from: '2025-12-01', to: '2026-01-02', groupBy: 'day' };
    const mine = await run(
      (r) => usage(r, h.jobs),
      request({ params: { tenant: 'alpha' }, headers: auth('alpha-key'), query: q }),
    );
    const rows = (mine.jsonBody as { rows: { tenant: string; day: string; jobs: number }[] }).rows;
    assert.deepEqual(
      rows.map((r) => [r.tenant, r.day, r.jobs]),
      [['alpha', '2026-01-01', 1]],
    );
    const theirs = await run(
      (r) => usage(r, h.jobs),
      request({ params: { tenant: 'beta' }, headers: auth('alpha-key'), query: q }),
    );
    assert.equal(theirs.status, 404);
    const csv = await run(
      (r) => usage(r, h.jobs),
      request({ params: { tenant: 'alpha' }, headers: { ...auth('alpha-key'), accept: 'text/csv' }, query: q }),
    );
    assert.equal(csv.headers?.['Content-Type'], 'text/csv; charset=utf-8');
    const alphaCurrency = tenantsFixture().get('alpha')!.costRates.currency;
    assert.equal(
      csv.body,
      `tenant,day,jobs,vcpuSeconds,gbSeconds,estimatedCost,currency\r\nalpha,2026-01-01,1,10,20,0.5,${alphaCurrency}\r\n`,
    );
    const all = await run((r) => operator(h).usage(r, h.jobs), request({ headers: auth(OPERATOR_KEY), query: q }));
    assert.deepEqual(
      (all.jsonBody as { rows: { tenant: string }[] }).rows.map((r) => r.tenant),
      ['alpha', 'beta'],
    );
    const bad = await run(
      (r) => usage(r, h.jobs),
      request({
        params: { tenant: 'alpha' },
        headers: auth('alpha-key'),
        query: { from: 'yesterday', groupBy: 'week' },
      }),
    );
    assert.deepEqual(
      (bad.jsonBody as { error: { details: { field: string }[] } }).error.details.map((d) => d.field),
      ['from', 'groupBy'],
    );
  });

  test('CSV cells with commas or quotes are quoted (RFC 4180)', () => {
    assert.equal(
      usageCsv([
        { tenant: 'a', day: null, jobs: 1, vcpuSeconds: 0, gbSeconds: 0, estimatedCost: 0, currency: 'E,"U"' },
      ]).split('\r\n')[1],
      'a,,1,0,0,0,"E,""U"""',
    );
  });
});
