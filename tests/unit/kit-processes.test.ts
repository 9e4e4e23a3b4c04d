// local/kit's process helpers on real processes: spawnReady (the ready line, and each way a CLI can
// fail to become ready), waitFor/waitUntil deadlines, pidAlive (zombies count as gone), process groups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { groupAlive, jsonLine, pidAlive, signalGroup, spawnReady, waitFor, waitUntil } from '../../local/kit';

const node = (script: string, timeoutMs = 10_000) =>
  spawnReady({
    command: process.execPath,
    args: ['-e', script],
    what: 'ready line',
    timeoutMs,
    match: (line, stream) => jsonLine<{ port: number }>(line, stream)?.port,
  });

test('spawnReady: skips a banner, resolves with the ready line, stop() ends the process', async () => {
  const r = await node(
    `console.log('> npm banner'); console.error('a log line'); console.log(JSON.stringify({ port: 42 })); setInterval(() => {}, 1000);`,
  );
  try {
    assert.equal(r.value, 42);
    await waitUntil(() => r.stderr().includes('a log line'), 5000);
    assert.match(r.stderr(), /a log line/);
    assert.equal(pidAlive(r.child.pid!), true);
  } finally {
    await r.stop(2000);
  }
  assert.equal(pidAlive(r.child.pid!), false);
});

test('spawnReady: a CLI that exits first, prints a malformed line, or stays silent is an error naming why', async () => {
  await assert.rejects(
    node(`console.error('bad flag'); process.exit(3);`),
    /exited \(code 3, signal null\) before ready line\nbad flag/,
  );
  await assert.rejects(node(`console.log('{not json'); setInterval(() => {}, 1000);`), /unexpected ready line/);
  await assert.rejects(node(`setInterval(() => {}, 1000);`, 300), /no ready line within 0.3 s/);
});

test('waitFor resolves with the first value; at the deadline it says what never happened, with details', async () => {
  let n = 0;
  assert.equal(await waitFor('n to reach 3', () => (++n >= 3 ? n : undefined), { intervalMs: 1 }), 3);
  await assert.rejects(
    waitFor('the impossible', () => false, { timeoutMs: 50, intervalMs: 10, explain: () => 'state: nope' }),
    /^Error: timed out after 50 ms waiting for the impossible\nstate: nope$/,
  );
  // A throwing probe ends the wait, unless errors are retried (then the last one is reported).
  await assert.rejects(
    waitFor('x', () => Promise.reject(new Error('down'))),
    /down/,
  );
  await assert.rejects(
    waitFor('the server', () => Promise.reject(new Error('ECONNREFUSED')), { timeoutMs: 30, retryErrors: true }),
    /waiting for the server \(last error: ECONNREFUSED\)/,
  );
  assert.equal(await waitUntil(() => false, 20, 5), false);
});

test('pidAlive: a zombie (exited, not yet reaped) counts as gone', async () => {
  // sh starts a short child and exec's into sleep, which never reaps it: the child stays a zombie.
  const p = spawn('/bin/sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const zombie = await new Promise<number>((r) => p.stdout.once('data', (d: Buffer) => r(Number(d.toString()))));
    assert.ok(await waitUntil(() => !pidAlive(zombie), 3000), 'the exited child counts as gone');
    assert.equal(pidAlive(p.pid!), true);
  } finally {
    p.kill('SIGKILL');
  }
});

test('groupAlive / signalGroup: a whole process group, and a group already gone is no error', async () => {
  const p = spawn('/bin/sh', ['-c', 'sleep 30 & sleep 30'], { detached: true, stdio: 'ignore' });
  assert.equal(groupAlive(p.pid!), true);
  signalGroup(p.pid!, 'SIGKILL');
  assert.ok(await waitUntil(() => !groupAlive(p.pid!), 5000), 'every process of the group is gone');
  signalGroup(p.pid!, 'SIGKILL');
});
