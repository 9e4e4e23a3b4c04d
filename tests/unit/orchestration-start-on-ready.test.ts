// GetContainerGroup after the agent's ready callback (issue 12: one activity instead of a read and
// a StartAgent): it POSTs /start only to the address the same ARM read shows, only when the group
// runs; a refusal is answered, an unreachable agent is null (the start phase tries again), and
// without `start` it is the plain read it always was.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ActivityDeps } from '../../orchestration/src/activities/deps';
import { groupActivities } from '../../orchestration/src/activities/group';
import type { GroupView } from '../../orchestration/src/contracts';
import { MemoryResults, silentLog } from '../fixtures/tenants/harness';

const JOB = 'j-aaaaaaaaaaaaaaaaaaaa';
const env = { raise: async () => undefined, jobStatus: async () => undefined };
const ref = { tenant: 'alpha', jobId: JOB, groupName: `acib-alpha-${JOB}` };
const view = (over: Partial<GroupView> = {}): GroupView => ({
  exists: true,
  provisioningState: 'Succeeded',
  state: 'Running',
  ip: '10.0.0.7',
  container: {
    state: 'Running',
    exitCode: null,
    detailStatus: null,
    restartCount: 0,
    startTime: null,
    finishTime: null,
  },
  lastEvent: null,
  ...over,
});

type StartAnswer = { ok: true } | { ok: false; code: string; message: string } | Error;

async function read(v: GroupView, answer: StartAnswer, start?: { jobId: string; command?: string[] }) {
  const starts: Array<{ ip: string; body: unknown }> = [];
  const results = new MemoryResults();
  const deps = {
    results,
    log: silentLog,
    signingKey: 'k'.repeat(32),
    groups: { get: async () => v },
    agent: {
      start: async (ip: string, _token: string, body: unknown) => {
        starts.push({ ip, body });
        if (answer instanceof Error) throw answer;
        return answer;
      },
    },
  } as unknown as ActivityDeps;
  const out = await groupActivities(deps).GetContainerGroup({ ...ref, ...(start ? { start } : {}) }, env);
  return { out, starts };
}

test('a running group with an address: started at that address, the view returned with the answer', async () => {
  const { out, starts } = await read(view(), { ok: true }, { jobId: JOB, command: ['sleep', '1'] });
  assert.deepEqual(starts, [{ ip: '10.0.0.7', body: { jobId: JOB, command: ['sleep', '1'] } }]);
  assert.deepEqual(out.started, { ok: true, value: null });
  assert.equal(out.ip, '10.0.0.7');
});

test('not running, no address yet, failed provisioning, or no start asked: nothing is started', async () => {
  for (const v of [
    view({ ip: null }),
    view({ container: { ...view().container!, state: 'Waiting' } }),
    view({ provisioningState: 'Failed' }),
    view({ exists: false }),
  ]) {
    const { out, starts } = await read(v, { ok: true }, { jobId: JOB });
    assert.equal(starts.length, 0, JSON.stringify(v));
    assert.equal('started' in out, false);
  }
  const plain = await read(view(), { ok: true });
  assert.equal(plain.starts.length, 0);
  assert.deepEqual(plain.out, view());
});

test('a refused input is answered; an unreachable agent is null, for the start phase to try again', async () => {
  const refused = await read(view(), { ok: false, code: 'InvalidInput', message: 'bad' }, { jobId: JOB });
  assert.equal(refused.out.started?.ok, false);
  assert.equal(refused.out.started?.ok === false && refused.out.started.error.code, 'InvalidInput');
  const silent = await read(view(), new Error('connect ECONNREFUSED'), { jobId: JOB });
  assert.equal(silent.out.started, null);
});
