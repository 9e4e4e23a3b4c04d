// What the CLI and the demo tell a person about the tenants of a tenants file: ids, names, and —
// only where the file really accepts it — the local demo key "<tenant>-local-key". The file holds
// only SHA-256 hashes of keys, so a key is printed only when its hash is found there.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface TenantSummary {
  id: string;
  displayName: string;
  /** The local demo key, when the file accepts "<id>-local-key". */
  localKey: string | undefined;
  defaultImage: string | undefined;
  allowedImages: string[];
  limits: Record<string, unknown>;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

function collectStrings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v.toLowerCase());
  else if (Array.isArray(v)) for (const x of v) collectStrings(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) collectStrings(x, out);
  return out;
}

export function readTenants(file: string): TenantSummary[] {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const list: Array<Record<string, unknown>> = Array.isArray(raw)
    ? (raw as Array<Record<string, unknown>>)
    : Array.isArray((raw as { tenants?: unknown }).tenants)
      ? (raw as { tenants: Array<Record<string, unknown>> }).tenants
      : Object.entries(
          ((raw as { tenants?: Record<string, Record<string, unknown>> }).tenants ?? {}) as Record<
            string,
            Record<string, unknown>
          >,
        ).map(([id, t]) => ({ id, ...t }));
  return list.map((t) => {
    const id = String(t.id);
    const keyMaterial = collectStrings(t.apiKeys ?? t.apiKeyHashes ?? t.keys ?? []);
    const candidate = `${id}-local-key`;
    const h = sha256(candidate);
    const accepted = keyMaterial.some((k) => k === h || k === `sha256:${h}`);
    const defaults = (t.defaults ?? {}) as Record<string, unknown>;
    return {
      id,
      displayName: typeof t.displayName === 'string' ? t.displayName : id,
      localKey: accepted ? candidate : undefined,
      defaultImage: typeof defaults.image === 'string' ? defaults.image : undefined,
      allowedImages: collectStrings(t.allowedImages ?? t.allowedRepositories ?? t.images ?? []),
      limits: (t.limits ?? {}) as Record<string, unknown>,
    };
  });
}
