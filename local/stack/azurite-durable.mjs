// Preload for Azurite (`node --import <this file> …/azurite/dist/src/blob/main.js`): makes every write
// Azurite acknowledges survive a crash of its process. Azurite 3.35 keeps its metadata (containers,
// blobs, blocks, extents) in LokiJS databases that it saves every 5 s (autosaveInterval: 5000 in
// LokiBlobMetadataStore and LokiExtentMetadataStore), so a SIGKILL loses up to 5 s of writes it had
// answered 201 to; its durable alternative, the SQL metadata store (AZURITE_DB), needs a MySQL server.
// Here every metadata-store operation that changed a Loki database waits, before it returns (and
// so before Azurite answers), for a save that includes its change. LokiJS writes a save to a temporary
// file and renames it, so a kill during a save leaves the previous one. Blob bytes are in extent files
// written before the metadata. (A machine crash can still lose what the OS had not flushed to disk.)
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const azurite = dirname(require.resolve('azurite/package.json'));
const stores = [
  ['dist/src/blob/persistence/LokiBlobMetadataStore.js', 'LokiBlobMetadataStore'],
  ['dist/src/common/persistence/LokiExtentMetadataStore.js', 'LokiExtentMetadataStore'],
];
// Lifecycle methods stay as they are (init loads, close saves by itself).
const skip = new Set(['constructor', 'init', 'close', 'clean', 'isInitialized', 'isClosed']);

/** Resolves once a save that includes every change made so far is on disk. */
function saved(db) {
  // Dirty: a change not in any save yet. Pending: a save in flight may hold a change made before it
  // started; a queued save callback runs only after a later save, which holds it for sure.
  if (!db || db.persistenceMethod === 'memory' || !(db.autosaveDirty() || db.throttledSavePending)) return undefined;
  return new Promise((resolve, reject) => db.saveDatabase((err) => (err ? reject(err) : resolve())));
}

for (const [file, name] of stores) {
  const cls = require(join(azurite, file))[name] ?? require(join(azurite, file)).default;
  if (typeof cls !== 'function') throw new Error(`azurite-durable: ${name} not found in ${file} (Azurite changed?)`);
  for (const method of Object.getOwnPropertyNames(cls.prototype)) {
    const original = cls.prototype[method];
    if (skip.has(method) || typeof original !== 'function') continue;
    cls.prototype[method] = function durable(...args) {
      const result = original.apply(this, args);
      if (!result || typeof result.then !== 'function') return result;
      return result.then(async (value) => {
        await saved(this.db);
        return value;
      });
    };
  }
}
