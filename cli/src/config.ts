// Where the CLI finds the API, the key and the tenant: flags first, then ACI_BATCH_* variables, then
// a profile in ~/.config/aci-batch/config.json. Pure over its inputs (flags, env, a file reader) so
// the precedence and every error message are unit-tested without touching the user's home.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { usageError } from './exit-codes';

export interface ConnectionFlags {
  api?: string;
  key?: string;
  tenant?: string;
  profile?: string;
}

export interface Profile {
  api?: string;
  key?: string;
  tenant?: string;
}

export interface ProfileFile {
  defaultProfile?: string;
  profiles: Record<string, Profile>;
}

export interface Connection {
  /** API base URL including the route prefix, without a trailing slash (e.g. http://127.0.0.1:7071/api). */
  api: string;
  key: string;
  tenant: string;
  /** Where each value came from, for `aci-batch config` and error messages. */
  sources: { api: string; key: string; tenant: string };
}

/** What the file reader answers: the text, or undefined when the file does not exist. */
export type ReadText = (path: string) => { text: string; mode: number } | undefined;

export const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const PROFILE_FIELDS = ['api', 'key', 'tenant'];

/** The profile file's path: ACI_BATCH_CONFIG, else $XDG_CONFIG_HOME/aci-batch/config.json, else ~/.config/…. */
export function configPath(env: NodeJS.ProcessEnv, home: string = homedir()): string {
  if (env.ACI_BATCH_CONFIG) return env.ACI_BATCH_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(home, '.config');
  return join(base, 'aci-batch', 'config.json');
}

/** Parses and checks a profile file; every problem names the field and the fix. */
export function parseProfileFile(text: string, path: string): ProfileFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw usageError(`${path} is not valid JSON (${(e as Error).message}); fix or remove the file`);
  }
  const problems: string[] = [];
  if (!isObject(doc)) throw usageError(`${path} must hold a JSON object like {"profiles": {"local": {…}}}`);
  for (const k of Object.keys(doc))
    if (k !== 'profiles' && k !== 'defaultProfile')
      problems.push(`${k}: unknown field (allowed: defaultProfile, profiles)`);
  if (doc.defaultProfile !== undefined && typeof doc.defaultProfile !== 'string')
    problems.push('defaultProfile: must be the name of a profile (a string)');
  const profiles: Record<string, Profile> = {};
  if (doc.profiles !== undefined && !isObject(doc.profiles))
    problems.push('profiles: must be an object of profile name → {api, key, tenant}');
  for (const [name, p] of Object.entries(isObject(doc.profiles) ? doc.profiles : {})) {
    if (!isObject(p)) {
      problems.push(`profiles.${name}: must be an object with api, key and/or tenant`);
      continue;
    }
    for (const [k, v] of Object.entries(p)) {
      if (!PROFILE_FIELDS.includes(k))
        problems.push(`profiles.${name}.${k}: unknown field (allowed: api, key, tenant)`);
      else if (typeof v !== 'string' || v === '') problems.push(`profiles.${name}.${k}: must be a non-empty string`);
    }
    profiles[name] = p as Profile;
  }
  const file: ProfileFile = { profiles };
  if (typeof doc.defaultProfile === 'string') {
    if (!(doc.defaultProfile in profiles))
      problems.push(`defaultProfile: no profile named "${doc.defaultProfile}" in profiles`);
    file.defaultProfile = doc.defaultProfile;
  }
  if (problems.length) throw usageError(`${path} has problems:`, problems);
  return file;
}

/**
 * Resolves the connection. Each of api, key and tenant is taken from the first of: the flag, the
 * ACI_BATCH_* variable, the chosen profile. The profile is --profile, else ACI_BATCH_PROFILE, else
 * the file's defaultProfile, else "default" if the file has one.
 */
export function resolveConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv,
  readText: ReadText,
  warn: (message: string) => void = () => undefined,
): Connection {
  const path = configPath(env);
  const read = readText(path);
  const file = read ? parseProfileFile(read.text, path) : undefined;
  if (read && (read.mode & 0o077) !== 0)
    warn(`${path} can be read by other users and holds API keys: chmod 600 ${path}`);
  const wanted = flags.profile ?? env.ACI_BATCH_PROFILE;
  let profile: Profile = {};
  let profileName: string | undefined;
  if (wanted !== undefined) {
    if (!file) throw usageError(`profile "${wanted}" was asked for, but there is no profile file at ${path}`);
    const p = file.profiles[wanted];
    if (!p)
      throw usageError(
        `no profile named "${wanted}" in ${path}; profiles there: ${Object.keys(file.profiles).join(', ') || '(none)'}`,
      );
    profile = p;
    profileName = wanted;
  } else if (file) {
    profileName = file.defaultProfile ?? (file.profiles.default ? 'default' : undefined);
    if (profileName) profile = file.profiles[profileName] ?? {};
  }
  const pick = (flag: string | undefined, envName: string, field: keyof Profile): [string | undefined, string] => {
    if (flag !== undefined && flag !== '') return [flag, `--${field}`];
    const e = env[envName];
    if (e !== undefined && e !== '') return [e, envName];
    const p = profile[field];
    if (p !== undefined) return [p, `profile "${profileName}" in ${path}`];
    return [undefined, ''];
  };
  const [api, apiSource] = pick(flags.api, 'ACI_BATCH_API', 'api');
  const [key, keySource] = pick(flags.key, 'ACI_BATCH_KEY', 'key');
  const [tenant, tenantSource] = pick(flags.tenant, 'ACI_BATCH_TENANT', 'tenant');
  const problems: string[] = [];
  if (!api) problems.push('api: set --api URL, ACI_BATCH_API, or "api" in a profile (e.g. http://127.0.0.1:7071/api)');
  if (!key) problems.push('key: set ACI_BATCH_KEY, "key" in a profile, or --key (visible to other local users)');
  if (!tenant) problems.push('tenant: set --tenant T, ACI_BATCH_TENANT, or "tenant" in a profile');
  let apiUrl = '';
  if (api) {
    try {
      const u = new URL(api);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
      if (u.username || u.password) throw new Error('credentials in the URL');
      if (u.search || u.hash) throw new Error('a query or fragment');
      // A bare origin means the Functions default route prefix.
      apiUrl = u.pathname === '/' ? `${u.origin}/api` : `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
    } catch (e) {
      problems.push(
        `api (from ${apiSource}): "${api}" is not an http(s) URL without credentials or query (${(e as Error).message})`,
      );
    }
  }
  if (tenant && !TENANT_PATTERN.test(tenant))
    problems.push(`tenant (from ${tenantSource}): "${tenant}" must be lower-case letters, digits and dashes`);
  if (problems.length) throw usageError('cannot tell which API to call:', problems);
  return {
    api: apiUrl,
    key: key!,
    tenant: tenant!,
    sources: { api: apiSource, key: keySource, tenant: tenantSource },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
