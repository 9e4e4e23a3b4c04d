// Blob storage for job artifacts (ResultsStore) and for the admission ledger (LedgerStore with
// ETag compare-and-swap). Managed identity only: no account keys.
import {
  BlobSASPermissions,
  BlobServiceClient,
  type ContainerClient,
  generateBlobSASQueryParameters,
  RestError,
  SASProtocol,
  type UserDelegationKey,
} from '@azure/storage-blob';
import type { TokenCredential } from '@azure/identity';
import { emptyLedger, type LedgerDoc } from '../admission/ledger';
import type { LedgerStore, ResultsStore, StoredFile } from '../ports';

export function createBlobService(credential: TokenCredential, endpoint: string): BlobServiceClient {
  return new BlobServiceClient(endpoint, credential, {
    retryOptions: { maxTries: 4, retryDelayInMs: 200, maxRetryDelayInMs: 4000, tryTimeoutInMs: 30_000 },
  });
}

export function createContainerClient(
  credential: TokenCredential,
  endpoint: string,
  container: string,
): ContainerClient {
  return createBlobService(credential, endpoint).getContainerClient(container);
}

/** Creates the container once (lazily), so a cold start does not pay for it on every call. */
function ensureOnce(container: ContainerClient): () => Promise<void> {
  let ready: Promise<void> | undefined;
  return () => {
    ready ??= container.createIfNotExists().then(
      () => undefined,
      (e: unknown) => {
        ready = undefined;
        throw e;
      },
    );
    return ready;
  };
}

/**
 * `service` (the same credential's BlobServiceClient) is needed only for readLink: user-delegation
 * SAS links are signed with a key the managed identity asks the account for, never an account key.
 */
export function createBlobResults(container: ContainerClient, service?: BlobServiceClient): ResultsStore {
  const ensure = ensureOnce(container);
  const delegationKey = service ? cachedDelegationKey(service) : undefined;
  return {
    async put(name, body, contentType) {
      await ensure();
      const blob = container.getBlockBlobClient(name);
      const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      await blob.uploadData(data, { blobHTTPHeaders: { blobContentType: contentType } });
      return blob.url;
    },
    async get(name) {
      await ensure();
      try {
        const blob = container.getBlockBlobClient(name);
        const body = await blob.downloadToBuffer();
        const props = await blob.getProperties();
        return { body, contentType: props.contentType ?? 'application/octet-stream' };
      } catch (e) {
        if (e instanceof RestError && e.statusCode === 404) return undefined;
        throw e;
      }
    },
    async exists(name) {
      await ensure();
      return container.getBlockBlobClient(name).exists();
    },
    url: (name) => container.getBlockBlobClient(name).url,
    async list(prefix) {
      await ensure();
      const out: StoredFile[] = [];
      for await (const b of container.listBlobsFlat({ prefix }))
        out.push({
          name: b.name,
          contentType: b.properties.contentType ?? 'application/octet-stream',
          bytes: b.properties.contentLength ?? 0,
        });
      return out;
    },
    async open(name) {
      await ensure();
      try {
        const r = await container.getBlockBlobClient(name).download();
        if (!r.readableStreamBody) return undefined;
        return {
          name,
          contentType: r.contentType ?? 'application/octet-stream',
          bytes: r.contentLength ?? 0,
          stream: r.readableStreamBody,
        };
      } catch (e) {
        if (e instanceof RestError && e.statusCode === 404) return undefined;
        throw e;
      }
    },
    async readLink(name, expiresOn) {
      if (!delegationKey)
        throw new Error('readLink needs the BlobServiceClient (createBlobResults(container, service))');
      const startsOn = new Date(Date.now() - 5 * 60_000); // clock skew between us and Storage
      const key = await delegationKey(expiresOn);
      return userDelegationSasUrl(container.getBlockBlobClient(name).url, {
        containerName: container.containerName,
        blobName: name,
        accountName: container.accountName,
        key,
        startsOn,
        expiresOn,
      });
    },
  };
}

/**
 * A read-only (sp=r), single-blob (sr=b), HTTPS-only SAS signed with a user delegation key. Source:
 * MicrosoftDocs/azure-docs articles/storage/blobs/storage-blob-create-user-delegation-sas-javascript.md
 * (getUserDelegationKey + generateBlobSASQueryParameters with the key and the account name; the caller needs
 * Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action).
 */
export function userDelegationSasUrl(
  blobUrl: string,
  p: {
    containerName: string;
    blobName: string;
    accountName: string;
    key: UserDelegationKey;
    startsOn: Date;
    expiresOn: Date;
  },
): string {
  const sas = generateBlobSASQueryParameters(
    {
      containerName: p.containerName,
      blobName: p.blobName,
      permissions: BlobSASPermissions.parse('r'),
      protocol: SASProtocol.Https,
      startsOn: p.startsOn,
      expiresOn: p.expiresOn,
    },
    p.key,
    p.accountName,
  );
  return `${blobUrl}?${sas.toString()}`;
}

/** One user delegation key reused while it outlives the link asked for (a key is valid up to 7 days). */
function cachedDelegationKey(service: BlobServiceClient): (until: Date) => Promise<UserDelegationKey> {
  let cached: { key: UserDelegationKey; expires: number } | undefined;
  return async (until) => {
    if (cached && cached.expires > until.getTime()) return cached.key;
    const startsOn = new Date(Date.now() - 5 * 60_000);
    const expiresOn = new Date(Math.max(until.getTime(), Date.now() + 24 * 3600_000));
    const key = await service.getUserDelegationKey(startsOn, expiresOn);
    cached = { key, expires: expiresOn.getTime() };
    return key;
  };
}

export const LEDGER_BLOB = '_control/admission-ledger.json';

/**
 * Ledger in one blob. Every update is a conditional write (If-Match / If-None-Match) retried on
 * conflict, so any number of Function App instances stay consistent. Within one instance, updates
 * that arrive together are applied in one read-modify-write (group commit): a burst of submissions
 * or slot polls costs a few blob round trips instead of one contended compare-and-swap each.
 */
export function createBlobLedger(container: ContainerClient, deadlineMs = 30_000): LedgerStore {
  const ensure = ensureOnce(container);
  const blob = container.getBlockBlobClient(LEDGER_BLOB);
  async function load(): Promise<{ doc: LedgerDoc; etag: string | undefined }> {
    try {
      const r = await blob.download();
      const text = (await streamToBuffer(r.readableStreamBody)).toString('utf8');
      return { doc: JSON.parse(text) as LedgerDoc, etag: r.etag };
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return { doc: emptyLedger(), etag: undefined };
      throw e;
    }
  }

  interface Pending {
    mutate: (doc: LedgerDoc) => { changed: boolean; result: unknown };
    resolve: (v: unknown) => void;
    reject: (e: unknown) => void;
  }
  let pending: Pending[] = [];
  let flushing = false;

  async function flush(): Promise<void> {
    flushing = true;
    try {
      while (pending.length) {
        const batch = pending;
        pending = [];
        await commit(batch);
      }
    } finally {
      flushing = false;
    }
  }

  async function commit(batch: Pending[]): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    try {
      await ensure();
      for (let attempt = 1; ; attempt++) {
        const { doc: fresh, etag } = await load();
        let doc = fresh;
        let changed = false;
        const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
        for (const p of batch) {
          // Each change runs on a copy so that one that throws leaves the others' intact.
          const copy = structuredClone(doc);
          try {
            const r = p.mutate(copy);
            if (r.changed) {
              doc = copy;
              changed = true;
            }
            outcomes.push({ ok: true, value: r.result });
          } catch (e) {
            outcomes.push({ ok: false, error: e });
          }
        }
        if (changed) {
          try {
            const data = Buffer.from(JSON.stringify(doc), 'utf8');
            await blob.upload(data, data.length, {
              blobHTTPHeaders: { blobContentType: 'application/json' },
              conditions: etag ? { ifMatch: etag } : { ifNoneMatch: '*' },
            });
          } catch (e) {
            const status = e instanceof RestError ? e.statusCode : undefined;
            if ((status === 412 || status === 409) && Date.now() < deadline) {
              // Another instance wrote first: back off briefly (full jitter) and re-apply the batch.
              await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** Math.min(attempt, 6))));
              continue;
            }
            throw e;
          }
        }
        outcomes.forEach((o, i) => (o.ok ? batch[i]!.resolve(o.value) : batch[i]!.reject(o.error)));
        return;
      }
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }

  return {
    async read() {
      await ensure();
      return (await load()).doc;
    },
    update<R>(mutate: (doc: LedgerDoc) => { changed: boolean; result: R }): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        pending.push({ mutate, resolve: resolve as (v: unknown) => void, reject });
        if (!flushing) void flush();
      });
    },
  };
}

async function streamToBuffer(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}
