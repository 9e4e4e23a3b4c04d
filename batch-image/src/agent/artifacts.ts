// The files a job leaves in RESULT_DIR, listed and served by name. Only plain files directly in
// RESULT_DIR count; names are checked against a strict pattern so no request can leave the folder.
import { lstatSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';

export interface Artifact {
  name: string;
  contentType: string;
  bytes: number;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

const CONTENT_TYPES: Record<string, string> = {
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.csv': 'text/csv; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.pdf': 'application/pdf',
  '.parquet': 'application/vnd.apache.parquet',
  '.gz': 'application/gzip',
  '.zip': 'application/zip',
};

/** No separators, no leading dot (so neither `..` nor hidden files), nothing outside [A-Za-z0-9._-]. */
export function isSafeArtifactName(name: string): boolean {
  return SAFE_NAME.test(name);
}

export function contentTypeOf(name: string): string {
  return CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/** The artifact `name` in `dir` if it is a plain file there (symlinks are not followed). */
export function findArtifact(dir: string, name: string): (Artifact & { path: string }) | undefined {
  if (!isSafeArtifactName(name)) return undefined;
  const path = join(dir, name);
  try {
    const st = lstatSync(path);
    return st.isFile() ? { name, contentType: contentTypeOf(name), bytes: st.size, path } : undefined;
  } catch {
    return undefined;
  }
}

export function listArtifacts(dir: string): Artifact[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const out: Artifact[] = [];
  for (const name of names) {
    const found = findArtifact(dir, name);
    if (found) out.push({ name: found.name, contentType: found.contentType, bytes: found.bytes });
  }
  return out;
}
