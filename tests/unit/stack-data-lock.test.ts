// One stack per data folder: the lock names its live holder, and a lock left by a stack that died
// (or whose pid now belongs to another process) is taken over once the components it recorded exited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive, waitUntil } from '../../local/kit';
import { DataFolderInUse, DataLock, readLock } from '../../local/stack/data-lock';

const withDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'data-lock-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/** A pid that was alive a moment ago and is not any more. */
async function deadPid(): Promise<number> {
  const p = spawn('/bin/true');
  await new Promise((r) => p.once('exit', r));
  return p.pid!;
}

test('the live holder is named (pid, port); release frees the folder', () =>
  withDir(async (dir) => {
    const lock = await DataLock.acquire(dir, 7071);
    assert.equal(readLock(dir)?.pid, process.pid);
    await assert.rejects(DataLock.acquire(dir, 8071), (err: unknown) => {
      assert.ok(err instanceof DataFolderInUse);
      assert.match(err.message, new RegExp(`in use by another stack: pid ${process.pid}, API on port 7071`));
      return true;
    });
    lock.release();
    (await DataLock.acquire(dir, 8071)).release();
  }));

test('a lock whose holder died is taken over; so is one whose pid now names another process', () =>
  withDir(async (dir) => {
    const stale = { pid: await deadPid(), startTime: '1', apiPort: 1, startedAt: 'then', components: {} };
    writeFileSync(join(dir, 'stack.lock'), JSON.stringify(stale));
    const a = await DataLock.acquire(dir, 7071);
    assert.equal(readLock(dir)?.apiPort, 7071);
    a.release();
    // Our own pid with another start time: a reused pid, not the holder.
    writeFileSync(join(dir, 'stack.lock'), JSON.stringify({ ...stale, pid: process.pid, startTime: '42' }));
    (await DataLock.acquire(dir, 7072)).release();
  }));

test('a stale lock is taken over only after the components it recorded have exited', () =>
  withDir(async (dir) => {
    const component = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    try {
      const stale = {
        pid: await deadPid(),
        startTime: '1',
        apiPort: 1,
        startedAt: 'then',
        components: { 'functions-host': component.pid! },
      };
      writeFileSync(join(dir, 'stack.lock'), JSON.stringify(stale));
      await assert.rejects(
        DataLock.acquire(dir, 7071, 300),
        new RegExp(`components of the previous stack .* \\(functions-host pid ${component.pid}\\) to exit`),
      );
      component.kill('SIGKILL');
      assert.ok(await waitUntil(() => !pidAlive(component.pid!), 5000));
      const lock = await DataLock.acquire(dir, 7071, 300);
      lock.recordComponent('azurite', 1234);
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'stack.lock'), 'utf8')).components, { azurite: 1234 });
      lock.release();
    } finally {
      component.kill('SIGKILL');
    }
  }));
