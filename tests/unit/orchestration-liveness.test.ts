// The liveness watch (orchestration/src/sweeper/liveness.ts) over in-memory ports: which running
// jobs get a `watch` callback (group gone, container terminated) and which not (queued,
// provisioning, pull mode, a group that still runs, an unknown instance), its payload, its
// parallelism bound and that one failing read does not stop the others.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deadReason, watchLiveness } from '../../orchestration/src/sweeper/liveness';
import { EVENTS, type GroupView, type JobInput, type JobStatus } from '../../orchestration/src/contracts';
import type { LedgerDoc, LedgerEntry } from '../../orchestration/src/admission/ledger';
import { silentLog } from '../fixtures/tenants/harness';

const NOW = new Date('2026-01-01T12:00:00Z');

const group = (over: Partial<GroupView> = {}, containerState: string | null = 'Running'): GroupView => ({
  exists: true,
  provisioningState: 'Succeeded',
  state: 'Running',
  ip: '10.0.0.4',
  container: {
    state: containerState,
    exitCode: containerState === 'Terminated' ? 137 : null,
    detailStatus: null,
    restartCount: 0,
    startTime: null,
    finishTime: null,
  },
  lastEvent: null,
  ...over,
});
const GONE: GroupView = { ...group(), exists: false, state: null, ip: null, container: null };

interface Job {
  state: JobStatus['state'];
  phase: string;
  pull?: boolean;
  group?: GroupView | Error;
}

/** A world of jobs: tenant `a`'s running ledger entries, their statuses and their groups. */
function world(jobs: Record<string, Job | undefined>) {
  const entry = (jobId: string): LedgerEntry => ({
    instanceId: `a--${jobId}`,
    jobId,
    cores: 1,
    memoryGb: 1,
    enqueuedAt: '2026-01-01T11:00:00Z',
  });
  const doc: LedgerDoc = {
    version: 1,
    tenants: { a: { queue: [], running: Object.keys(jobs).map(entry) } },
    recentGrants: [],
  };
  const raised: { instanceId: string; event: string; data: Record<string, unknown> }[] = [];
  const groupReads: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const deps = {
    admission: { read: async () => doc },
    groups: {
      get: async (name: string) => {
        groupReads.push(name);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        const g = jobs[name.replace(/^grp-/, '')]?.group ?? group();
        if (g instanceof Error) throw g;
        return g;
      },
    },
    lookup: async (instanceId: string) => {
      const jobId = instanceId.replace(/^a--/, '');
      const j = jobs[jobId];
      if (!j) return undefined;
      const job = { jobId, tenant: 'a', instanceId, groupName: `grp-${jobId}`, spec: {} } as unknown as JobInput;
      if (j.pull) job.spec.startMode = 'pull';
      return { job, status: { state: j.state, phase: j.phase } as unknown as JobStatus };
    },
    raise: async (instanceId: string, event: string, data: unknown) => {
      raised.push({ instanceId, event, data: data as Record<string, unknown> });
    },
    log: silentLog,
    now: () => NOW,
  };
  return { deps, raised, groupReads, maxInFlight: () => maxInFlight };
}

describe('liveness watch', () => {
  test('wakes only running jobs (push or pull mode) whose group is gone or whose container stopped', async () => {
    const w = world({
      dead: { state: 'running', phase: 'running', group: group({ state: 'Failed' }, 'Terminated') },
      gone: { state: 'running', phase: 'running', group: GONE },
      alive: { state: 'running', phase: 'running', group: group() },
      queued: { state: 'queued', phase: 'admission', group: GONE },
      provisioning: { state: 'provisioning', phase: 'provisioning', group: group({}, 'Terminated') },
      starting: { state: 'starting', phase: 'starting', group: group({}, 'Terminated') },
      pull: { state: 'running', phase: 'running', pull: true, group: group({}, 'Terminated') },
      unknown: undefined,
    });
    const report = await watchLiveness(w.deps);
    assert.deepEqual(report.raised.sort(), ['a--dead', 'a--gone', 'a--pull']);
    assert.equal(report.examined, 8);
    assert.equal(report.watched, 4, 'dead, gone, alive and pull were read');
    assert.deepEqual(
      w.groupReads.sort(),
      ['grp-alive', 'grp-dead', 'grp-gone', 'grp-pull'],
      'no group read for the others',
    );
    assert.deepEqual(report.errors, []);
    const dead = w.raised.find((r) => r.instanceId === 'a--dead')!;
    assert.equal(dead.event, EVENTS.callback);
    assert.deepEqual(dead.data, {
      jobId: 'dead',
      type: 'watch',
      at: NOW.toISOString(),
      message: 'liveness watch: its container is terminated',
    });
    assert.match(String(w.raised.find((r) => r.instanceId === 'a--gone')!.data.message), /group is gone/);
  });

  test('a failing read is reported and skipped; the other jobs are still watched', async () => {
    const w = world({
      broken: { state: 'running', phase: 'running', group: new Error('ARM said 503') },
      dead: { state: 'running', phase: 'running', group: group({}, 'Terminated') },
    });
    const report = await watchLiveness(w.deps);
    assert.deepEqual(report.raised, ['a--dead']);
    assert.equal(report.errors.length, 1);
    assert.match(report.errors[0]!, /a--broken: ARM said 503/);
  });

  test('reads at most `parallel` groups at once', async () => {
    const jobs: Record<string, Job> = {};
    for (let i = 0; i < 20; i++) jobs[`j${i}`] = { state: 'running', phase: 'running', group: group() };
    const w = world(jobs);
    const report = await watchLiveness({ ...w.deps, parallel: 3 });
    assert.equal(report.watched, 20);
    assert.equal(w.maxInFlight(), 3);
    assert.deepEqual(report.raised, []);
  });

  test('deadReason reads the instance view', () => {
    assert.equal(deadReason(group()), undefined);
    assert.equal(deadReason(group({}, null)), undefined, 'a container not reported yet is not dead');
    assert.equal(deadReason(group({}, 'Waiting')), undefined);
    assert.equal(deadReason(GONE), 'its container group is gone');
    assert.equal(deadReason(group({}, 'Terminated')), 'its container is terminated');
    assert.equal(deadReason(group({ state: 'Stopped', container: null })), 'its container group is stopped');
  });
});
