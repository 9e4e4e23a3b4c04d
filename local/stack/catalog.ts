// The image catalog the emulator serves as its "registry": local/stack/images.json plus any extra
// images a test or benchmark brings, merged into one file in the data folder. Catalog-relative
// paths are made absolute while merging, since the merged file lives elsewhere.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export interface ImageDefinition {
  command: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface Catalog {
  repositories: Record<string, { tags: Record<string, ImageDefinition> }>;
}

export const BASE_CATALOG = join(__dirname, 'images.json');

export function readCatalog(file: string): Catalog {
  const c = JSON.parse(readFileSync(file, 'utf8')) as Catalog;
  if (!c || typeof c !== 'object' || typeof c.repositories !== 'object') throw new Error(`${file}: expected {"repositories": {...}}`);
  return absolutize(c, dirname(resolve(file)));
}

/**
 * Same rule as the emulator's (local/azure-emulator/image-catalog.ts): an argument is a path when
 * it names an existing file relative to the catalog's folder; the program name stays as it is
 * unless it contains a slash.
 */
function absolutize(c: Catalog, base: string): Catalog {
  const out: Catalog = { repositories: {} };
  for (const [repo, r] of Object.entries(c.repositories)) {
    const tags: Record<string, ImageDefinition> = {};
    for (const [tag, d] of Object.entries(r.tags)) {
      const command = d.command.map((a, i) => {
        if (isAbsolute(a) || a.startsWith('-')) return a;
        if (i === 0 && !a.includes('/')) return a;
        const p = resolve(base, a);
        return existsSync(p) ? p : a;
      });
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
