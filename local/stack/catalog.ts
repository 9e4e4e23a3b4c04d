// The image catalog the emulator serves as its "registry": local/stack/images.json plus any extra
// images a test or benchmark brings, merged into one file in the data folder. Catalog-relative
// paths are made absolute while merging, since the merged file lives elsewhere.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { resolveCommandPaths, type CatalogFile, type ImageDefinition } from '../azure-emulator/image-catalog';

export type Catalog = CatalogFile;

export const BASE_CATALOG = join(__dirname, 'images.json');

export function readCatalog(file: string): Catalog {
  const c = JSON.parse(readFileSync(file, 'utf8')) as Catalog;
  if (!c || typeof c !== 'object' || typeof c.repositories !== 'object')
    throw new Error(`${file}: expected {"repositories": {...}}`);
  return absolutize(c, dirname(resolve(file)));
}

/** The emulator's rule for catalog-relative paths, applied here because the merged file lives elsewhere. */
function absolutize(c: Catalog, base: string): Catalog {
  const out: Catalog = { repositories: {} };
  for (const [repo, r] of Object.entries(c.repositories)) {
    const tags: Record<string, ImageDefinition> = {};
    for (const [tag, d] of Object.entries(r.tags)) {
      const command = resolveCommandPaths(d.command, base);
      tags[tag] = { ...d, command, ...(d.cwd ? { cwd: resolve(base, d.cwd) } : {}) };
    }
    out.repositories[repo] = { tags };
  }
  return out;
}

/** Writes the merged catalog; extra images win over base ones with the same repository and tag. */
export function writeMergedCatalog(target: string, extra: Catalog | undefined, extraBase = process.cwd()): string {
  const merged = readCatalog(BASE_CATALOG);
  if (extra) {
    const abs = absolutize(extra, extraBase);
    for (const [repo, r] of Object.entries(abs.repositories)) {
      merged.repositories[repo] = { tags: { ...(merged.repositories[repo]?.tags ?? {}), ...r.tags } };
    }
  }
  writeFileSync(target, JSON.stringify(merged, null, 2) + '\n');
  return target;
}
