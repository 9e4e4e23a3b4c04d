// What every ARM route works with: the emulator's parts (ArmDeps) and the handler's own state (rate
// windows, per-group write locks), built once per handler so that two emulators never share them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ContainerGroupManager } from '../container-groups';
import type { FaultState } from '../faults';
import type { IdentityRegistry } from '../identities';
import type { ImageCatalog } from '../image-catalog';
import type { Logger } from '../log';
import type { Grants } from '../rbac';
import { createRateLimiter, type RateCheck } from './limits';

export interface ArmDeps {
  groups: ContainerGroupManager;
  faults: FaultState;
  identities: IdentityRegistry;
  catalog: ImageCatalog;
  secret: Buffer;
  log: Logger;
  location: string;
  maxGroups: number;
  maxCores: number;
  pageSize: number;
  resourceGroups?: string[];
  anonymousPull: boolean;
  /** RBAC (--grants): without it every authenticated caller may do everything */
  grants?: Grants;
  armEndpoint: () => string;
  registryHosts: () => string[];
  admin: (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;
}

export interface ArmContext {
  deps: ArmDeps;
  rateCheck: RateCheck;
  locked: <T>(key: string, fn: () => Promise<T>) => Promise<T>;
}

export function createArmContext(deps: ArmDeps): ArmContext {
  // Writes to one group are serialised (two concurrent PUTs of a new name must not create it twice).
  const locks = new Map<string, Promise<void>>();
  async function locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(key) ?? Promise.resolve();
    let release = () => {};
    const mine = new Promise<void>((r) => (release = r));
    const chained = prev.then(() => mine);
    locks.set(key, chained);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (locks.get(key) === chained) locks.delete(key);
    }
  }
  return { deps, rateCheck: createRateLimiter(deps.faults), locked };
}
