// The local "images": a JSON catalog of repositories and tags, each tag naming the command that
// runs the image here. Re-read when the file changes, so editing a tag yields a new digest; the old
// digest stays pullable, as an untagged manifest does in ACR.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

export interface ImageDefinition {
  command: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface CatalogFile {
  repositories: Record<string, { tags: Record<string, ImageDefinition> }>;
}

export interface ResolvedImage {
  repository: string;
  tags: string[];
  digest: string;
  manifest: Buffer;
  definition: ImageDefinition;
  /** command/cwd with catalog-relative paths made absolute */
  command: string[];
  cwd: string;
  env: Record<string, string>;
  createdTime: string;
}

/**
 * A command's catalog-relative paths made absolute: an argument is a path when it names an existing
 * file relative to the catalog's folder; the program name stays as it is ("node") unless it has a slash.
 */
export function resolveCommandPaths(command: readonly string[], base: string): string[] {
  return command.map((a, i) => {
    if (isAbsolute(a) || a.startsWith('-')) return a;
    if (i === 0 && !a.includes('/')) return a;
    const p = resolve(base, a);
    return existsSync(p) ? p : a;
  });
}

export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/** JSON with object keys sorted at every level and no whitespace: the digest input. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function digestOf(definition: ImageDefinition): { digest: string; manifest: Buffer } {
  const manifest = Buffer.from(canonicalJson(definition), 'utf8');
  return { digest: 'sha256:' + createHash('sha256').update(manifest).digest('hex'), manifest };
}

function validateCatalog(raw: unknown, file: string): CatalogFile {
  const c = raw as CatalogFile;
  if (!c || typeof c !== 'object' || !c.repositories || typeof c.repositories !== 'object') {
    throw new Error(`${file}: expected {"repositories": {...}}`);
  }
  for (const [repo, r] of Object.entries(c.repositories)) {
    if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(repo))
      throw new Error(`${file}: invalid repository name '${repo}'`);
    if (!r || typeof r.tags !== 'object') throw new Error(`${file}: repository '${repo}' needs "tags"`);
    for (const [tag, d] of Object.entries(r.tags)) {
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new Error(`${file}: invalid tag '${repo}:${tag}'`);
      if (!Array.isArray(d.command) || d.command.length === 0 || !d.command.every((x) => typeof x === 'string')) {
        throw new Error(`${file}: '${repo}:${tag}' needs a non-empty "command" array of strings`);
      }
    }
  }
  return c;
}

interface RetainedManifest {
  definition: ImageDefinition;
  createdTime: string;
}

export class ImageCatalog {
  private loaded?: { mtimeMs: number; size: number; catalog: CatalogFile };
  /**
   * Every manifest a repository ever had, by digest. ACR keeps a manifest when its tag moves to another
   * one (it becomes untagged, still pullable as repo@sha256:…, and listed with no tags) until it is
   * deleted or purged (MicrosoftDocs azure-docs container-registry-delete.md, "Untagged images").
   * Kept in `storeFile` when given, so digest pins survive an emulator restart too.
   */
  private readonly retained = new Map<string, Map<string, RetainedManifest>>();

  constructor(
    readonly file: string | undefined,
    private readonly storeFile?: string,
  ) {
    if (storeFile && existsSync(storeFile)) {
      const saved = JSON.parse(readFileSync(storeFile, 'utf8')) as Record<string, Record<string, RetainedManifest>>;
      for (const [repo, byDigest] of Object.entries(saved)) this.retained.set(repo, new Map(Object.entries(byDigest)));
    }
    if (file) this.current(); // fail fast on a bad catalog
  }

  private current(): CatalogFile {
    if (!this.file) return { repositories: {} };
    const st = statSync(this.file);
    if (!this.loaded || this.loaded.mtimeMs !== st.mtimeMs || this.loaded.size !== st.size) {
      this.loaded = {
        mtimeMs: st.mtimeMs,
        size: st.size,
        catalog: validateCatalog(JSON.parse(readFileSync(this.file, 'utf8')), this.file),
      };
      this.retain(this.loaded.catalog);
    }
    return this.loaded.catalog;
  }

  private retain(catalog: CatalogFile): void {
    let added = false;
    for (const [repo, r] of Object.entries(catalog.repositories)) {
      const byDigest = this.retained.get(repo) ?? new Map<string, RetainedManifest>();
      this.retained.set(repo, byDigest);
      for (const def of Object.values(r.tags)) {
        const { digest } = digestOf(def);
        if (byDigest.has(digest)) continue;
        byDigest.set(digest, { definition: def, createdTime: this.createdTime });
        added = true;
      }
    }
    if (added && this.storeFile) {
      const out: Record<string, Record<string, RetainedManifest>> = {};
      for (const [repo, m] of this.retained) out[repo] = Object.fromEntries(m);
      writeFileSync(this.storeFile, JSON.stringify(out));
    }
  }

  private get createdTime(): string {
    return this.loaded ? new Date(this.loaded.mtimeMs).toISOString() : new Date(0).toISOString();
  }

  repositories(): string[] {
    return Object.keys(this.current().repositories).sort();
  }

  tags(repository: string): string[] | undefined {
    const r = this.current().repositories[repository];
    return r ? Object.keys(r.tags).sort() : undefined;
  }

  /** Resolve a tag or a `sha256:` digest within a repository. */
  resolve(repository: string, reference: string): ResolvedImage | undefined {
    const r = this.current().repositories[repository];
    if (!r) return undefined;
    let def: ImageDefinition | undefined;
    let createdTime = this.createdTime;
    if (reference.startsWith('sha256:')) {
      def = Object.values(r.tags).find((d) => digestOf(d).digest === reference.toLowerCase());
      const kept = def ? undefined : this.retained.get(repository)?.get(reference.toLowerCase());
      if (kept) ({ definition: def, createdTime } = kept);
    } else {
      def = r.tags[reference];
    }
    if (!def) return undefined;
    const { digest, manifest } = digestOf(def);
    const tags = Object.entries(r.tags)
      .filter(([, d]) => digestOf(d).digest === digest)
      .map(([t]) => t)
      .sort();
    const base = dirname(resolve(this.file ?? '.'));
    const cwd = def.cwd ? resolve(base, def.cwd) : base;
    const command = resolveCommandPaths(def.command, base);
    return {
      repository,
      tags,
      digest,
      manifest,
      definition: def,
      command,
      cwd,
      env: { ...(def.env ?? {}) },
      createdTime,
    };
  }

  /** All manifests (unique digests) of a repository, untagged ones (tags []) included. */
  manifests(repository: string): ResolvedImage[] {
    const tags = this.tags(repository) ?? [];
    const seen = new Map<string, ResolvedImage>();
    for (const t of tags) {
      const img = this.resolve(repository, t);
      if (img && !seen.has(img.digest)) seen.set(img.digest, img);
    }
    for (const digest of this.retained.get(repository)?.keys() ?? []) {
      const img = seen.has(digest) || !tags.length ? undefined : this.resolve(repository, digest);
      if (img) seen.set(digest, img);
    }
    return [...seen.values()];
  }
}

/** Split `host[:port]/repo[:tag|@sha256:hex]`. */
export function parseImageReference(
  image: string,
): { server: string; repository: string; reference: string } | undefined {
  const slash = image.indexOf('/');
  if (slash <= 0) return undefined;
  const server = image.slice(0, slash).toLowerCase();
  if (!server.includes('.') && !server.includes(':') && server !== 'localhost') return undefined; // Docker Hub short name
  let rest = image.slice(slash + 1);
  let reference = 'latest';
  const at = rest.indexOf('@');
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon >= 0) {
      reference = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  if (!rest) return undefined;
  return { server, repository: rest, reference };
}
