// Job dependencies on the real local stack (emulator + Azurite + functions host, real agents and
// processes). The admission fallback is 120 s here, longer than any wait of this file, so every
// dependent that decides in time was woken by a DependencyEnded event (or decided at its first
// check). A → B → C where A's program exits 1: B and C end with DependencyFailed and the emulator
// never created a group for them (its log names every group whose container started or that was
// deleted); "finished" runs after the failure and "succeeded" fails at once for a dependency that
// had already ended; another tenant's job id is a 404 naming dependsOn[i].job.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { JobStatusView } from '../../local/stack/api-client';
import { startTestStack, stopAndCheck, waitForEnd, waitForStatus, type TestStack } from '../fixtures/stack/harness';

let ts: TestStack | undefined;
const stack = (): TestStack => {
  assert.ok(ts, 'the stack did not start (see the before hook)');
  return ts;
};

before(async () => {
  ts = await startTestStack('dependencies', { settings: { ADMISSION_POLL_SECONDS: '120' } });
});

after(async () => {
  await stopAndCheck(ts);
});

type WithDeps = JobStatusView & { dependsOn?: { job: string; condition: string; state: string | null }[] };

/** A quick command-mode job (test/sleep) that exits with `exitCode`; one attempt. */
const sleeper = (ms: number, exitCode = 0, extra: Record<string, unknown> = {}) => ({
  image: 'test/sleep:1.0',
  env: { SLEEP_MS: String(ms), EXIT_CODE: String(exitCode) },
  cpu: 0.5,
  memoryGb: 0.5,
  maxAttempts: 1,
  ...extra,
});

/** Everything the emulator logged so far (a line per container start and per group deletion). */
const emulatorLog = (t: TestStack): string => readFileSync(join(t.stack.logsDir, 'emulator.log'), 'utf8');

test('A → B → C, A fails: B and C end with DependencyFailed at once and never get a container group', async () => {
  const t = stack();
  const a = await t.contoso.submitOk(sleeper(3000, 1));
  const b = await t.contoso.submitOk(sleeper(500, 0, { dependsOn: [{ job: a.id }] }));
  const c = await t.contoso.submitOk(sleeper(500, 0, { dependsOn: [{ job: b.id, condition: 'succeeded' }] }));
  const waiting = (await waitForStatus(t, t.contoso, c.id, 'waiting for B', (s) =>
    /of 1 dependencies/.test(s.message),
  )) as WithDeps;
  assert.equal(waiting.phase, 'dependencies');
  assert.equal(waiting.state, 'queued');
  const endA = await waitForEnd(t, t.contoso, a.id, 90_000);
  assert.equal(endA.state, 'failed', await t.explain(t.contoso, a.id));
  // The event path: well within the 120 s fallback.
  const endB = (await waitForEnd(t, t.contoso, b.id, 30_000)) as WithDeps;
  const endC = (await waitForEnd(t, t.contoso, c.id, 30_000)) as WithDeps;
  // From A's end (its finishedAt) to C's, both as the controller recorded them.
  const cascadeMs = Date.parse(endC.finishedAt!) - Date.parse(endA.finishedAt!);
  assert.equal(endB.error?.code, 'DependencyFailed', await t.explain(t.contoso, b.id));
  assert.match(endB.error!.message, new RegExp(`${a.id} ended failed`));
  assert.deepEqual(endB.dependsOn, [{ job: a.id, condition: 'succeeded', state: 'failed' }]);
  assert.equal(endC.error?.code, 'DependencyFailed', await t.explain(t.contoso, c.id));
  assert.match(endC.error!.message, new RegExp(`${b.id} ended failed`));
  assert.ok(cascadeMs < 30_000, `the cascade took ${cascadeMs} ms`);
  for (const s of [endB, endC]) {
    assert.equal(s.attempts, 0);
    assert.equal(s.container.state, 'none');
  }
  const log = emulatorLog(t);
  assert.ok(log.includes(endA.container.name), "the emulator's log names A's group (the check can see groups)");
  for (const s of [endB, endC])
    assert.ok(!log.includes(s.container.name), `no group ${s.container.name} was ever created`);
  const groups = (await t.stack.listGroups()).map((g) => g.name);
  assert.ok(!groups.includes(endB.container.name) && !groups.includes(endC.container.name));
  console.log(`# cascade A failed → B and C DependencyFailed: ${cascadeMs} ms`);
});

test('a dependency that already ended: "finished" runs at once, "succeeded" fails at once', async () => {
  const t = stack();
  const a = await t.contoso.submitOk(sleeper(300, 1));
  assert.equal((await waitForEnd(t, t.contoso, a.id, 90_000)).state, 'failed');
  const started = Date.now();
  const finished = await t.contoso.submitOk(sleeper(300, 0, { dependsOn: [{ job: a.id, condition: 'finished' }] }));
  const succeeded = await t.contoso.submitOk(sleeper(300, 0, { dependsOn: [{ job: a.id }] }));
  const rejected = (await waitForEnd(t, t.contoso, succeeded.id, 30_000)) as WithDeps;
  assert.equal(rejected.error?.code, 'DependencyFailed');
  const ran = (await waitForEnd(t, t.contoso, finished.id, 90_000)) as WithDeps;
  assert.equal(ran.state, 'succeeded', await t.explain(t.contoso, finished.id));
  assert.deepEqual(ran.dependsOn, [{ job: a.id, condition: 'finished', state: 'failed' }]);
  assert.ok(Date.now() - started < 90_000);
});

test("a dependency on another tenant's job (or an unknown one) is a 404 naming dependsOn[i].job", async () => {
  const t = stack();
  const theirs = await t.fabrikam.submitOk(sleeper(200));
  const mine = await t.contoso.submitOk(sleeper(200));
  const r = await t.contoso.submit(sleeper(200, 0, { dependsOn: [{ job: mine.id }, { job: theirs.id }] }));
  assert.equal(r.status, 404, r.text);
  const err = (r.body as unknown as { error: { code: string; message: string; details: { field: string }[] } }).error;
  assert.equal(err.code, 'NotFound');
  assert.deepEqual(
    err.details.map((d) => d.field),
    ['dependsOn[1].job'],
  );
  assert.match(err.message, /dependsOn\[1\]\.job/);
  const unknown = await t.contoso.submit(sleeper(200, 0, { dependsOn: [{ job: 'j-aaaaaaaaaaaaaaaaaaaa' }] }));
  assert.equal(unknown.status, 404, unknown.text);
  await Promise.all([waitForEnd(t, t.fabrikam, theirs.id, 90_000), waitForEnd(t, t.contoso, mine.id, 90_000)]);
});
