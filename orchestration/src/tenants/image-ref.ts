// Job image references. Accepted: `repo:tag`, `repo@sha256:<hex>`, and either of those prefixed
// with the job registry's login server. Any other registry is refused (we pull only from our ACR,
// through the job identity), and the repository must be in the tenant's allowlist.
import { REPOSITORY_PATTERN } from './schema';

export interface ImageReference {
  repository: string;
  tag?: string;
  digest?: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const REPO_RE = new RegExp(REPOSITORY_PATTERN);
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** Parses a reference; `loginServer` (e.g. myacr.azurecr.io or 127.0.0.1:8444) is the only registry allowed. */
export function parseImageReference(ref: string, loginServer: string | undefined): Parsed<ImageReference> {
  let rest = ref.trim();
  if (rest === '' || rest.length > 512)
    return { ok: false, message: 'must be a non-empty image reference of at most 512 characters' };
  const slash = rest.indexOf('/');
  if (slash > 0) {
    const first = rest.slice(0, slash);
    const looksLikeHost = first.includes('.') || first.includes(':') || first === 'localhost';
    if (looksLikeHost) {
      if (!loginServer || first.toLowerCase() !== loginServer.toLowerCase()) {
        return {
          ok: false,
          message: `registry "${first}" is not allowed; use an image of the job registry${loginServer ? ` (${loginServer})` : ''}, e.g. "batch/regime-switching:1.0"`,
        };
      }
      rest = rest.slice(slash + 1);
    }
  }
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) return { ok: false, message: `digest "${digest}" must be sha256:<64 lowercase hex>` };
  }
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) return { ok: false, message: `tag "${tag}" is not a valid tag` };
  }
  if (!REPO_RE.test(rest) || rest.length > 256)
    return {
      ok: false,
      message: `repository "${rest}" is not a valid repository name (lowercase, e.g. "batch/regime-switching")`,
    };
  if (!tag && !digest) tag = 'latest';
  return { ok: true, value: { repository: rest, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) } };
}

/** Canonical text of a reference, relative to the registry. */
export function formatImageReference(r: ImageReference): string {
  return r.digest ? `${r.repository}@${r.digest}` : `${r.repository}:${r.tag ?? 'latest'}`;
}

export function isRepositoryAllowed(repository: string, allowed: readonly string[]): boolean {
  return allowed.includes(repository);
}
