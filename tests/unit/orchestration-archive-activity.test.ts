// ArchiveJob (teardown's one archive activity) over in-memory ports: the agent's result and its
// artifacts, then the logs, in one call with the same blobs and links as ArchiveResult + ArchiveLogs;
// a part that fails is reported by itself (the other part's links are kept), and a part not begun by
// the teardown deadline is skipped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { archiveActivities } from '../../orchestration/src/activities/archive';
import type { ActivityDeps } from '../../orchestration/src/activities/deps';
import { ARCHIVE_DEADLINE_PASSED } from '../../orchestration/src/contracts';
import { MemoryResults, silentLog } from '../fixtures/tenants/harness';

const JOB = 'j-aaaaaaaaaaaaaaaaaaaa';
const env = { raise: async () => undefined, jobStatus: async () => undefined };
const req = (over: Record<string, unknown> = {}) => ({
  tenant: 'alpha',
  jobId: JOB,
  groupName: `acib-alpha-${JOB}`,
  ip: '10.0.0.4',
  result: true,
  deadline: new Date(Date.now() + 60_000).toISOString(),
  ...over,
});

function deps(results: MemoryResults, logs: () => Promise<string | undefined>): ActivityDeps {
  return {
    results,
    log: silentLog,
    signingKey: 'k'.repeat(32),
    groups: { logs },
    agent: {
      result: async () => ({
        jobId: JOB,
        state: 'succeeded',
        result: { k: 2 },
        artifacts: [{ name: 'chart.svg', bytes: 5, contentType: 'image/svg+xml' }],
      }),
      artifact: async () => Buffer.from('<svg/>'),
    },
  } as unknown as ActivityDeps;
}

test('ArchiveJob stores result, artifacts and logs in one call, as the two single activities do', async () => {
  const one = new MemoryResults();
  const answer = await archiveActivities(deps(one, async () => 'line 1\n')).ArchiveJob(req(), env);
  assert.deepEqual(answer.failed, {});
  const two = new MemoryResults();
  const single = archiveActivities(deps(two, async () => 'line 1\n'));
  const r = await single.ArchiveResult(req(), env);
  const l = await single.ArchiveLogs(req(), env);
  assert.deepEqual(answer.urls, { ...r.urls, ...l.urls });
  assert.deepEqual([...one.blobs.keys()].sort(), [...two.blobs.keys()].sort());
  assert.deepEqual(Object.keys(answer.urls).sort(), ['chart.svg', 'logs', 'result']);
  // Without an agent address (and not pull mode) only the logs are asked for.
  const logsOnly = await archiveActivities(deps(new MemoryResults(), async () => 'x')).ArchiveJob(
    req({ ip: null, result: false }),
    env,
  );
  assert.deepEqual(Object.keys(logsOnly.urls), ['logs']);
});

test('ArchiveJob reports a failed part by itself and keeps the other part', async () => {
  const answer = await archiveActivities(
    deps(new MemoryResults(), async () => {
      throw new Error('ARM answered 503');
    }),
  ).ArchiveJob(req(), env);
  assert.deepEqual(Object.keys(answer.urls).sort(), ['chart.svg', 'result']);
  assert.match(answer.failed.logs ?? '', /archive logs: ARM answered 503/);
  assert.equal(answer.failed.result, undefined);
});

test('ArchiveJob skips what it had not begun by the teardown deadline', async () => {
  let read = false;
  const answer = await archiveActivities(
    deps(new MemoryResults(), async () => {
      read = true;
      return 'x';
    }),
  ).ArchiveJob(req({ deadline: new Date(Date.now() - 1).toISOString() }), env);
  assert.deepEqual(answer.urls, {});
  assert.deepEqual(answer.failed, { result: ARCHIVE_DEADLINE_PASSED, logs: ARCHIVE_DEADLINE_PASSED });
  assert.equal(read, false);
});
