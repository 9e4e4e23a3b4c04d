// The emulator's "ready" line (one JSON object on stdout) as the stack uses it. Checked field by
// field so that a change on the emulator's side fails here with the missing field's name rather
// than later as an obscure connection error in the Function App.
import type { EmulatorInfo as FullEmulatorInfo } from '../azure-emulator';

const REQUIRED = [
  'armEndpoint',
  'registryEndpoint',
  'registryLoginServer',
  'identityEndpoint',
  'identityHeader',
  'caBundle',
  'tlsCertFile',
  'tlsKeyFile',
  'tenantId',
  'subscriptionId',
  'adminToken',
] as const satisfies readonly (keyof FullEmulatorInfo)[];

/** The fields of the emulator's ready line the stack needs, plus everything it reported. */
export type EmulatorInfo = Pick<FullEmulatorInfo, (typeof REQUIRED)[number]> & {
  /** Everything else the emulator reported (kept for the CLI's output and for tests). */
  raw: Record<string, unknown>;
};

/** undefined when the line is not JSON (a stray log line); throws when it is JSON but incomplete. */
export function parseEmulatorReadyLine(line: string): EmulatorInfo | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(trimmed) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if ('level' in obj && 'msg' in obj && !('armEndpoint' in obj)) return undefined; // a pino log line on stdout
  const missing = REQUIRED.filter((k) => typeof obj[k] !== 'string' || obj[k] === '');
  if (missing.length) throw new Error(`ready line lacks ${missing.join(', ')}: ${trimmed.slice(0, 500)}`);
  const info = { raw: obj } as EmulatorInfo;
  for (const k of REQUIRED) info[k] = obj[k] as string;
  info.armEndpoint = info.armEndpoint.replace(/\/+$/, '');
  return info;
}
