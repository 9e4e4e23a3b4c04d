// Replay tier: every phase's failure paths through the real durable-functions replay — resolve
// (image not found), create (capacity retried, then exhausted), provision (failed, timeout, group
// gone), start (input refused, agent unreachable), monitor (batch failed, OOM, exit, group gone) —
// and that teardown runs after each: group deleted (or stopped when asked), slot released, final
// status set.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobStatus } from '../../orchestration/src/contracts';
import { startReplayHost, type ReplayHost } from '../fixtures/replay/harness';
import { REFUSAL } from '../fixtures/replay/ports';

let h: ReplayHost;
before(async () => {
  h = await startReplayHost();
});
after(() => h?.close());

/** One attempt, no restart: each failure ends the job. */
const once = { body: { onFailure: 'delete' } };

/** Teardown ran: final status failed with `code`, the group removed as `container`, the slot released. */
async function assertTornDown(id: string, s: JobStatus, code: string, container: 'deleted' | 'stopped' | 'none') {
  assert.equal(s.phase, 'done');
  assert.equal(s.state, 'failed', JSON.stringify(s));
  assert.equal(s.error?.code, code, JSON.stringify(s.error));
  assert.ok(s.finishedAt, 'finishedAt is set');
  assert.equal(s.container.state, container);
  if (container === 'deleted') assert.ok(h.world.deleted.includes(s.container.name), 'delete was requested');
  if (container === 'stopped') assert.ok(h.world.stopped.includes(s.container.name), 'stop was requested');
  if (container === 'deleted') assert.ok(!h.world.groups.has(s.container.name), 'the group is gone');
  assert.deepEqual(await h.ledgerEntries('alpha', id), { queued: 0, running: 0 }, 'the slot was released');
}

test('resolve: an image missing from the registry fails with ImageNotFound, no group is created', async () => {
  const id = await h.submit('alpha', h.world.define('no-image', {}), { body: { image: 'contoso/custom-model:9.9' } });
  const s = await h.settled('alpha', id);
  await assertTornDown(id, s, 'ImageNotFound', 'none');
  assert.equal(s.attempts, 0);
  assert.equal(h.world.createAttempts.get(s.container.name), undefined, 'no create was attempted');
  assert.ok(!h.world.deleted.includes(s.container.name), 'nothing to delete');
});

test('create: capacity errors are retried, then the PUT is accepted and the job succeeds', async () => {
  const id = await h.submit('alpha', h.world.define('capacity-twice', { capacityErrors: 2 }));
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'succeeded', JSON.stringify(s));
  assert.equal(h.world.createAttempts.get(s.container.name), 3);
  assert.equal(s.container.state, 'deleted');
});

test('create: capacity exhausted fails with CapacityUnavailable and teardown deletes the group by name', async () => {
  const id = await h.submit('alpha', h.world.define('capacity-never', { capacityErrors: 1000 }));
  const s = await h.settled('alpha', id);
  await assertTornDown(id, s, 'CapacityUnavailable', 'deleted');
  assert.match(s.error?.message ?? '', /No ACI capacity after 4 attempts/);
  assert.equal(h.world.createAttempts.get(s.container.name), 4, 'capacityRetry.maxAttempts PUTs');
});

test('provision: a Failed provisioning state fails with ProvisioningFailed', async () => {
  const id = await h.submit('alpha', h.world.define('prov-failed', { attempts: [{ provision: 'failed' }] }), once);
  const s = await h.settled('alpha', id);
  await assertTornDown(id, s, 'ProvisioningFailed', 'deleted');
  assert.match(s.error?.message ?? '', /Failed to pull image/);
});

test('provision: a group that never runs fails with ProvisioningTimeout at the deadline', async () => {
  const sc = h.world.define('prov-pending', { attempts: [{ provision: 'pending' }] });
  const id = await h.submit('alpha', sc, { ...once, settings: { provisionTimeoutSeconds: 1 } });
  const s = await h.settled('alpha', id);
  await assertTornDown(id, s, 'ProvisioningTimeout', 'deleted');
});

test('provision: a group that disappears fails with GroupDisappeared at once, not at the deadline', async () => {
  // The provisioning deadline is an hour: reaching it would be a ProvisioningTimeout.
  const sc = h.world.define('prov-vanish', { attempts: [{ provision: 'vanish', pendingReads: 2 }] });
  const id = await h.submit('alpha', sc, { ...once, settings: { provisionTimeoutSeconds: 3600 } });
  const s = await h.settled('alpha', id);
  await assertTornDown(id, s, 'GroupDisappeared', 'deleted');
});

test('start: the agent refusing the input fails with InvalidInput and its field details', async () => {
  const id = await h.submit('alpha', h.world.define('refuse', { attempts: [{ start: 'refuse' }] }), once);
  const s = await h.settled('alpha', id);
  await assertTornDown(id, s, 'InvalidInput', 'deleted');
  assert.deepEqual(s.error?.details, REFUSAL.details);
  assert.equal(s.attempts, 1, 'a refused input is not retried');
});

test('start: an agent that never accepts POST /start fails with AgentUnreachable at the start deadline', async () => {
  const sc = h.world.define('start-unreachable', { attempts: [{ start: 'unreachable' }] });
  const id = await h.submit('alpha', sc, { ...once, settings: { startTimeoutSeconds: 1 } });
  const s = await h.settled('alpha', id);
  await assertTornDown(id, s, 'AgentUnreachable', 'deleted');
});

test('monitor: a failed batch fails with JobFailed (result and logs still archived)', async () => {
  const id = await h.submit('alpha', h.world.define('batch-fails', { attempts: [{ end: 'failed' }] }), once);
  const s = await h.settled('alpha', id);
  await assertTornDown(id, s, 'JobFailed', 'deleted');
  assert.match(s.error?.message ?? '', /model diverged/);
  assert.equal(s.container.exitCode, 1);
  assert.ok(s.result?.urls.logs, 'logs archived');
});

test('monitor: an OOM-killed container fails with OOMKilled and exit code 137', async () => {
  const id = await h.submit('alpha', h.world.define('oom', { attempts: [{ end: 'oom' }] }), once);
  const s = await h.settled('alpha', id);
  await assertTornDown(id, s, 'OOMKilled', 'deleted');
  assert.equal(s.container.exitCode, 137);
});

test('monitor: a container that exits on its own fails with ContainerExited', async () => {
  const id = await h.submit('alpha', h.world.define('exits', { attempts: [{ end: 'exited' }] }), once);
  const s = await h.settled('alpha', id);
  await assertTornDown(id, s, 'ContainerExited', 'deleted');
  assert.equal(s.container.exitCode, 3);
});

test('monitor: a group that disappears while running fails with GroupDisappeared', async () => {
  const id = await h.submit('alpha', h.world.define('run-vanish', { attempts: [{ end: 'vanish' }] }), once);
  const s = await h.settled('alpha', id);
  await assertTornDown(id, s, 'GroupDisappeared', 'deleted');
});

test('monitor: an agent that stops answering while its group runs fails with AgentUnreachable', async () => {
  const id = await h.submit('alpha', h.world.define('run-silent', { attempts: [{ end: 'silent' }] }), once);
  const s = await h.settled('alpha', id);
  await assertTornDown(id, s, 'AgentUnreachable', 'deleted');
  assert.match(s.error?.message ?? '', /did not answer \d+ polls in a row/);
});

test('teardown: onFailure stop keeps the failed group stopped instead of deleting it', async () => {
  const sc = h.world.define('fail-stop', { attempts: [{ end: 'failed' }] });
  const id = await h.submit('alpha', sc, { body: { onFailure: 'stop' } });
  const s = await h.settled('alpha', id);
  await assertTornDown(id, s, 'JobFailed', 'stopped');
  assert.ok(!h.world.deleted.includes(s.container.name), 'not deleted');
  assert.ok(h.world.groups.has(s.container.name), 'still there, stopped');
});

test('monitor: a short ARM outage while running is ridden out; a long one fails the attempt', async () => {
  // armRetry: 3 tries per poll. 4 failed reads = one failed poll and a retried one; 100 = every poll.
  const short = await h.submit('alpha', h.world.define('outage-short', { attempts: [{ outageReads: 4 }] }), once);
  const long = await h.submit('alpha', h.world.define('outage-long', { attempts: [{ outageReads: 100 }] }), once);
  const [s, l] = await Promise.all([h.settled('alpha', short), h.settled('alpha', long)]);
  assert.equal(s.state, 'succeeded', JSON.stringify(s));
  await assertTornDown(long, l, 'TransientError', 'deleted');
  assert.match(l.error?.message ?? '', /Polling failed 5 times in a row/);
});

test('teardown: a group that cannot be deleted is left to the sweeper; the slot is still released', async () => {
  const id = await h.submit('alpha', h.world.define('undeletable', { deleteErrors: 1000 }));
  const s = await h.settled('alpha', id);
  assert.equal(s.state, 'succeeded', 'the outcome stands');
  assert.equal(s.container.state, 'unknown');
  assert.match(s.message, /sweeper/);
  assert.equal(h.world.deleteAttempts.get(s.container.name), 3, 'armRetry.maxAttempts tries');
  assert.ok(h.world.groups.has(s.container.name));
  assert.deepEqual(await h.ledgerEntries('alpha', id), { queued: 0, running: 0 });
});
