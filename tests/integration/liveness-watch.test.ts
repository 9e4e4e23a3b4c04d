// The liveness watch on the real local stack (issue 12): with the per-job safety poll set to 10
// minutes, a container that dies without calling back is still found within seconds — by the
// central LivenessWatch timer (every second here), which wakes the job's monitor to look at once.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestStack, stopAndCheck, waitForEnd, waitForStatus, type TestStack } from '../fixtures/stack/harness';

let ts: TestStack | undefined;
const crashDir = mkdtempSync(join(tmpdir(), 'aci-batch-it-watch-'));
// Each group runs as its own unprivileged uid (the emulator's isolation): the state folder must be writable by them.
chmodSync(crashDir, 0o1777);
const stack = (): TestStack => {
  assert.ok(ts, 'the stack did not start (see the before hook)');
  return ts;
};

const POLL_SECONDS = 600;

before(async () => {
  ts = await startTestStack('watch', {
    pollIntervalSeconds: POLL_SECONDS,
    settings: { POLL_INTERVAL_SECONDS: String(POLL_SECONDS), LIVENESS_WATCH_SCHEDULE: '*/1 * * * * *' },
  });
});

after(async () => {
  try {
    await stopAndCheck(ts);
  } finally {
    rmSync(crashDir, { recursive: true, force: true });
  }
});

describe('liveness watch', () => {
  test('a container that dies without calling back is found by the watch, not by the 10-minute poll', async () => {
    const t = stack();
    // test/crashy SIGKILLs its agent (the container's main process) on the first run: no callback.
    const { id } = await t.contoso.submitOk({
      image: 'test/crashy:1.0',
      env: { CRASH_STATE_DIR: crashDir, CRASHES: '1', CRASH_AFTER_MS: '1500' },
      onFailure: 'restart',
      maxAttempts: 2,
      cpu: 0.5,
      memoryGb: 0.5,
    });
    await waitForStatus(t, t.contoso, id, 'running', (s) => s.state === 'running');
    const runningAt = Date.now();
    // Without the watch the crash would be seen at the next poll, POLL_SECONDS after the start.
    const final = await waitForEnd(t, t.contoso, id, 45_000);
    const tookMs = Date.now() - runningAt;
    assert.equal(final.state, 'succeeded', await t.explain(t.contoso, id));
    assert.equal(final.attempts, 2, `the crash ended the first attempt: ${JSON.stringify(final)}`);
    assert.equal(readFileSync(join(crashDir, id), 'utf8').split('\n').filter(Boolean).length, 2, 'two runs');
    assert.ok(tookMs < 45_000, `found in ${tookMs} ms, far below the ${POLL_SECONDS} s poll`);
    const hostLog = readFileSync(join(t.stack.logsDir, 'host.log'), 'utf8').split('\n');
    const woke = hostLog.filter((l) => l.includes('liveness watch woke a job') && l.includes(id));
    assert.ok(woke.length >= 1, `the host log shows the watch waking job ${id}:\n${await t.explain(t.contoso, id)}`);
  });
});
