// The blob ledger store: concurrent updates in one instance are group-committed (few writes), each
// caller gets its own result, conflicts with another writer (412) re-apply the batch on the fresh
// document, and a change that throws fails only its own caller. The blob service here is a small
// in-memory stand-in with ETag semantics; the real Azurite runs in tests/integration.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRequire } from 'node:module';
import { createBlobLedger } from '../../orchestration/src/azure/blob';
import { enqueue, type LedgerDoc } from '../../orchestration/src/admission/ledger';

// @azure/storage-blob is the orchestration workspace's dependency: take its RestError from there.
const { RestError } = createRequire(require.resolve('../../orchestration/src/azure/blob'))('@azure/storage-blob') as {
  RestError: new (message: string, init: { statusCode: number }) => Error;
};
type ContainerClient = Parameters<typeof createBlobLedger>[0];

function fakeContainer() {
  const state = { text: undefined as string | undefined, etag: 0, uploads: 0, conflictsToInject: 0 };
  const client = {
    createIfNotExists: async () => ({}),
    getBlockBlobClient: () => ({
      download: async () => {
        await new Promise((r) => setImmediate(r));
        if (state.text === undefined) throw new RestError('not found', { statusCode: 404 });
        const text = state.text;
        return {
          etag: `"${state.etag}"`,
          readableStreamBody: (async function* () {
            yield Buffer.from(text);
          })(),
        };
      },
      upload: async (data: Buffer, _len: number, opts: { conditions: { ifMatch?: string; ifNoneMatch?: string } }) => {
        await new Promise((r) => setImmediate(r));
        if (state.conflictsToInject > 0) {
          state.conflictsToInject--;
          state.etag++; // another instance wrote meanwhile
          throw new RestError('precondition', { statusCode: 412 });
        }
        const { ifMatch, ifNoneMatch } = opts.conditions;
        if ((ifNoneMatch === '*' && state.text !== undefined) || (ifMatch && ifMatch !== `"${state.etag}"`))
          throw new RestError('precondition', { statusCode: 412 });
        state.text = data.toString('utf8');
        state.etag++;
        state.uploads++;
        return {};
      },
    }),
  };
  return { state, client: client as unknown as ContainerClient };
}

test('concurrent updates are group-committed, each gets its own result, conflicts re-apply', async () => {
  const { state, client } = fakeContainer();
  const ledger = createBlobLedger(client);
  state.conflictsToInject = 2;
  const limits = { maxConcurrentJobs: 5, maxQueuedJobs: 25 };
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      ledger.update((doc: LedgerDoc) => {
        const r = enqueue(doc, 't', limits, {
          instanceId: `t--${i}`,
          jobId: `${i}`,
          cores: 1,
          memoryGb: 1,
          enqueuedAt: '2026-01-01T00:00:00Z',
        });
        return { changed: r.result === 'enqueued', result: r.result };
      }),
    ),
  );
  assert.equal(results.filter((r) => r === 'enqueued').length, 25);
  assert.equal(results.filter((r) => r === 'queueFull').length, 5);
  const doc = await ledger.read();
  assert.equal(doc.tenants.t?.queue.length, 25);
  assert.ok(state.uploads < 10, `group commit: ${state.uploads} writes for 30 updates`);
});

test('a change that throws fails only its caller', async () => {
  const { client } = fakeContainer();
  const ledger = createBlobLedger(client);
  const limits = { maxConcurrentJobs: 5, maxQueuedJobs: 25 };
  const ok = ledger.update((doc: LedgerDoc) => ({
    changed: true,
    result: enqueue(doc, 't', limits, { instanceId: 't--a', jobId: 'a', cores: 1, memoryGb: 1, enqueuedAt: 'x' })
      .result,
  }));
  const bad = ledger.update((doc: LedgerDoc) => {
    doc.tenants = {};
    throw new Error('boom');
  });
  assert.equal(await ok, 'enqueued');
  await assert.rejects(bad, /boom/);
  assert.equal((await ledger.read()).tenants.t?.queue.length, 1, 'the failed change left no trace');
});
