// The admission ledger's compare-and-swap against real blob storage (Azurite), not a hand-made fake of
// the SDK (issue 9 item 4): two controller instances — two independent BlobServiceClients, each with
// its own createBlobLedger and group commit, as two Function App workers would have — enqueue, grant
// and release at once. Every update lands exactly once (no lost write), the tenant's cap is never
// exceeded in any stored version, and the writers did conflict (412) and recovered.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createAdmission } from '../../orchestration/src/admission/service';
import type { LedgerEntry } from '../../orchestration/src/admission/ledger';
import { createBlobLedger } from '../../orchestration/src/azure/blob';
import { spawnReady, type ReadyChild } from '../../local/kit';
import { REPO_ROOT } from '../../local/stack/stack';

// @azure/storage-blob is the orchestration workspace's dependency: take it from there.
const blobSdk = createRequire(require.resolve('../../orchestration/src/azure/blob'))(
  '@azure/storage-blob',
) as typeof import('../../orchestration/node_modules/@azure/storage-blob');

// Azurite's well-known development account (public, documented; not a secret).
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const dir = mkdtempSync(join(tmpdir(), 'aci-batch-ledger-azurite-'));
let azurite: ReadyChild<number> | undefined;
let endpoint = '';

before(async () => {
  azurite = await spawnReady({
    command: process.execPath,
    args: [
      join(REPO_ROOT, 'node_modules/azurite/dist/src/blob/main.js'),
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      '0',
      '--location',
      dir,
      '--skipApiVersionCheck',
      '--loose',
    ],
    what: 'Azurite listening',
    match: (line) => {
      const m = /successfully listen(?:s|ing) (?:on|at) https?:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      return m ? Number(m[1]) : undefined;
    },
    timeoutMs: 60_000,
  });
  endpoint = `http://127.0.0.1:${azurite.value}/${ACCOUNT}`;
});

after(async () => {
  proto.upload = realUpload;
  await azurite?.stop(5_000);
  rmSync(dir, { recursive: true, force: true });
});

// The 412s the stores had to retry through, counted on the one SDK call that carries the condition.
const conflicts = { count: 0 };
const proto = blobSdk.BlockBlobClient.prototype as unknown as { upload: (...a: unknown[]) => Promise<unknown> };
const realUpload = proto.upload;
proto.upload = async function (this: unknown, ...args: unknown[]) {
  try {
    return await realUpload.apply(this, args);
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 412 || (e as { statusCode?: number }).statusCode === 409)
      conflicts.count++;
    throw e;
  }
};

/** One controller instance: its own client, ledger store (with its group commit) and admission service. */
function instance() {
  const service = new blobSdk.BlobServiceClient(endpoint, new blobSdk.StorageSharedKeyCredential(ACCOUNT, KEY));
  const store = createBlobLedger(service.getContainerClient('job-results'));
  return {
    admission: createAdmission({
      store,
      global: { maxCores: 100, maxGroups: 100, maxCreatesPer5Min: 10_000 },
      limitsOf: (t) => (t === 't' ? { maxConcurrentJobs: 3, maxQueuedJobs: 1000 } : undefined),
      now: () => new Date(),
    }),
    store,
  };
}

test('two writers on one Azurite ledger: no lost update, the cap holds in every version, conflicts recovered', async () => {
  const a = instance();
  const b = instance();
  const N = 20;
  const entry = (i: number): LedgerEntry => ({
    instanceId: `t--j-${i}`,
    jobId: `j-${i}`,
    cores: 1,
    memoryGb: 1,
    enqueuedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    owner: `h-${i}`,
  });
  // Every job is enqueued through one instance and granted/released through the other, all at once.
  const peak = { running: 0 };
  const ran = new Set<string>();
  const job = async (i: number): Promise<void> => {
    const [writer, other] = i % 2 ? [a, b] : [b, a];
    assert.equal((await writer.admission.enqueue('t', entry(i))).result, 'enqueued');
    for (let tries = 0; ; tries++) {
      assert.ok(tries < 500, `job ${i} was never granted`);
      const { result } = await other.admission.grant('t', `t--j-${i}`);
      if (result.result === 'granted') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const usage = await writer.admission.usage('t');
    peak.running = Math.max(peak.running, usage.running);
    ran.add(`t--j-${i}`);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal((await writer.admission.release('t', `t--j-${i}`, `h-${i}`)).result, true);
  };
  await Promise.all(Array.from({ length: N }, (_, i) => job(i)));

  assert.equal(ran.size, N, 'every job ran once');
  assert.ok(peak.running <= 3, `the tenant cap (3) held in every version read: peak ${peak.running}`);
  const final = await a.store.read();
  assert.deepEqual(final.tenants, {}, 'every entry was released: no update was lost');
  // Grants were recorded for every job (creates-per-5-minutes window), each exactly once.
  assert.equal(final.recentGrants.length, N, 'each grant was written exactly once');
  assert.ok(conflicts.count > 0, 'the two writers did collide (412) and recovered');
});
