// Failures on the real local stack: containers that crash (restarted, then succeeding; or failing
// for good past maxAttempts with their logs kept), ACI capacity and ARM throttling faults injected
// in the emulator, and the functions host SIGKILLed in the middle of a job. Sequential: faults are
// global to the emulator, and the host kill affects every job.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { requestJson } from '../../local/stack/http-json';
import {
  getFaults,
  setFaults,
  sleep,
  startTestStack,
  stopAndCheck,
  waitForEnd,
  waitForGroupGone,
  waitForStatus,
  type TestStack,
} from '../fixtures/stack/harness';

let ts: TestStack | undefined;
const crashDir = mkdtempSync(join(tmpdir(), 'aci-batch-it-crashes-'));
// Each group runs as its own unprivileged uid (the emulator's isolation): the shared state folder
// must be writable by them, as a mounted volume would be.
chmodSync(crashDir, 0o1777);
const stack = (): TestStack => {
  assert.ok(ts, 'the stack did not start (see the before hook)');
  return ts;
};

before(async () => {
  ts = await startTestStack('faults');
});

after(async () => {
  try {
    await stopAndCheck(ts);
  } finally {
    rmSync(crashDir, { recursive: true, force: true });
  }
});

const runsOf = (jobId: string): number =>
  readFileSync(join(crashDir, jobId), 'utf8').split('\n').filter(Boolean).length;

/** A job of the crashing test image that kills its container on each of its first `crashes` runs. */
const submitCrashy = async (t: TestStack, crashes: number, maxAttempts: number): Promise<string> =>
  (
    await t.contoso.submitOk({
      image: 'test/crashy:1.0',
      env: { CRASH_STATE_DIR: crashDir, CRASHES: String(crashes) },
      onFailure: 'restart',
      maxAttempts,
      cpu: 0.5,
      memoryGb: 0.5,
    })
  ).id;

describe('controller under failures', () => {
  test('a crashing container is restarted and then succeeds', async () => {
    const t = stack();
    const id = await submitCrashy(t, 1, 3);
    const final = await waitForEnd(t, t.contoso, id, 90_000);
    assert.equal(final.state, 'succeeded', await t.explain(t.contoso, id));
    assert.equal(final.attempts, 2, `one crash, then one successful attempt: ${JSON.stringify(final)}`);
    assert.equal(runsOf(id), 2, 'the program ran twice');
    assert.equal(final.container.state, 'deleted');
    const r = await t.contoso.result(id);
    assert.equal(r.status, 200, r.text);
    assert.equal((r.body as { run?: number }).run, 2);
    await waitForGroupGone(t, final.container.name);
  });

  test('a restart that ARM keeps refusing is replaced by a re-create, which redeploys the terminated group', async () => {
    // Issue 11 item 2 / row 2: an identical PUT to a stopped or terminated group deploys it again
    // (azure-docs container-instances-update.md), so the controller's "restart failed → re-create by
    // PUT" path runs the job again. Every POST (restart) fails here until the job is done; PUTs pass.
    const t = stack();
    const id = await submitCrashy(t, 1, 3);
    await setFaults(t, { transient5xx: { count: 10_000, methods: ['POST'], status: 500 } });
    try {
      const final = await waitForEnd(t, t.contoso, id, 180_000);
      assert.equal(final.state, 'succeeded', await t.explain(t.contoso, id));
      assert.equal(runsOf(id), 2, 'the program ran again in the re-created group');
      const left = await getFaults(t);
      const faults = left.transient5xx as { count: number } | undefined;
      assert.ok(faults && faults.count < 10_000, 'the restart was refused (the path under test ran)');
    } finally {
      await setFaults(t, { transient5xx: null });
    }
  });

  test('a container that crashes past maxAttempts fails, with its logs kept', async () => {
    const t = stack();
    const id = await submitCrashy(t, 10, 2);
    const final = await waitForEnd(t, t.contoso, id, 90_000);
    assert.equal(final.state, 'failed', await t.explain(t.contoso, id));
    assert.equal(final.attempts, 2);
    assert.equal(runsOf(id), 2, 'no third run');
    assert.ok(final.error && final.error.code.length > 0, `a coded error: ${JSON.stringify(final.error)}`);
    await waitForGroupGone(t, final.container.name);
    const logs = await t.contoso.logs(id);
    assert.equal(logs.status, 200, logs.text);
    assert.match(logs.text, /crashy: run 2 of job/, "the last attempt's output was kept after the group was deleted");
  });

  test('injected capacity, throttling and 5xx faults: the job still completes', async () => {
    const t = stack();
    // Two creates refused for capacity (409 ServiceUnavailable, not retried by the SDK), three ARM
    // requests throttled (429 + Retry-After, retried by the SDK) and two answered 503.
    await setFaults(t, {
      capacity: { count: 2 },
      throttle: { count: 3, retryAfterSeconds: 1 },
      transient5xx: { count: 2, status: 503 },
    });
    try {
      const { id } = await t.contoso.submitOk({
        image: 'test/sleep:1.0',
        env: { SLEEP_MS: '500', RESULT_MARKER: 'despite-faults' },
        cpu: 0.5,
        memoryGb: 0.5,
      });
      const final = await waitForEnd(t, t.contoso, id, 120_000);
      assert.equal(final.state, 'succeeded', await t.explain(t.contoso, id));
      assert.equal(final.container.state, 'deleted');
      const r = await t.contoso.result(id);
      assert.equal((r.body as { marker?: string }).marker, 'despite-faults');
      const left = await getFaults(t);
      assert.equal(
        (left.capacity as { count: number } | undefined)?.count ?? 0,
        0,
        `both capacity faults were hit: ${JSON.stringify(left)}`,
      );
      assert.equal(
        (left.throttle as { count: number } | undefined)?.count ?? 0,
        0,
        `all throttling faults were hit: ${JSON.stringify(left)}`,
      );
      assert.equal(
        (left.transient5xx as { count: number } | undefined)?.count ?? 0,
        0,
        `both 503s were hit: ${JSON.stringify(left)}`,
      );
      await waitForGroupGone(t, final.container.name);
    } finally {
      await setFaults(t, { capacity: null, throttle: null, transient5xx: null });
    }
  });

  test('the host SIGKILLed mid-job and restarted: the job completes and no group is left', async () => {
    const t = stack();
    const { id } = await t.contoso.submitOk({
      image: 'test/sleep:1.0',
      env: { SLEEP_MS: '6000', RESULT_MARKER: 'survived' },
      cpu: 0.5,
      memoryGb: 0.5,
    });
    const running = await waitForStatus(t, t.contoso, id, 'running with progress', (s) => s.state === 'running');
    await t.stack.killHost();
    const down = await requestJson(`${t.stack.apiBaseUrl}/health`, { timeoutMs: 2000 }).catch((err: Error) => ({
      status: 0,
      text: err.message,
    }));
    assert.equal(down.status, 0, `the API is down after the SIGKILL: ${down.status} ${down.text}`);
    // While the host is down the job goes on in its group (and its callbacks fail and are retried).
    await sleep(1500);
    assert.ok(
      (await t.stack.listGroups()).some((g) => g.name === running.container.name),
      'the group outlives the host',
    );
    await t.stack.restartHost();
    const final = await waitForEnd(t, t.contoso, id, 90_000);
    assert.equal(final.state, 'succeeded', await t.explain(t.contoso, id));
    assert.equal(final.container.state, 'deleted');
    const r = await t.contoso.result(id);
    assert.equal((r.body as { marker?: string }).marker, 'survived');
    await waitForGroupGone(t, running.container.name);
  });
});
