// The container-group state model shared by the store, the process lifecycle, the logs and the ARM
// view: records as persisted under <data>/groups/<key>/group.json, operations, events, and the one
// timer set that the emulator's shutdown cancels.
import { createHash } from 'node:crypto';
import type { Cgroups, CgroupPaths } from '../cgroups';
import type { FaultState } from '../faults';
import type { IdentityRegistry } from '../identities';
import type { ImageCatalog } from '../image-catalog';
import type { IpPool } from '../ip-pool';
import type { Logger } from '../log';
import type { GroupSpec } from '../validation';
import type { GroupSandboxes } from './sandbox';

export type ProvisioningState = 'Pending' | 'Creating' | 'Succeeded' | 'Failed' | 'Deleting';
export type GroupState = 'Pending' | 'Running' | 'Stopped' | 'Succeeded' | 'Failed';

export interface ContainerState {
  state: 'Waiting' | 'Running' | 'Terminated';
  startTime?: string;
  finishTime?: string;
  exitCode?: number;
  detailStatus: string;
}

export interface EventRecord {
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  name: string;
  message: string;
  type: 'Normal' | 'Warning';
}

export interface ContainerRuntime {
  name: string;
  restartCount: number;
  currentState?: ContainerState;
  previousState?: ContainerState;
  events: EventRecord[];
  pid?: number;
  startTicks?: string;
  digest?: string;
  cgroup?: CgroupPaths;
  /** the cgroup's OOM-kill counter when the process started (an OOM kill is a rise above it) */
  oomBaseline?: number;
  rawOffset: number;
  /** killed by the emulator's own shutdown: relaunched when the emulator starts again */
  interrupted?: boolean;
}

export interface GroupRecord {
  key: string;
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  spec: GroupSpec;
  provisioningState: ProvisioningState;
  state: GroupState;
  events: EventRecord[];
  ip?: string;
  /** the unprivileged uid its processes run as (where the emulator is root) */
  uid?: number;
  containers: Record<string, ContainerRuntime>;
  deployment: number;
  createdTime: string;
  /** set while an operation (create/start/delete) is running */
  operationId?: string;
  /** delete with a delay: when the record disappears */
  deleteAt?: number;
}

export interface Operation {
  id: string;
  subscriptionId: string;
  location: string;
  groupId: string;
  kind: 'create' | 'start' | 'restart' | 'delete';
  status: 'Pending' | 'Creating' | 'Deleting' | 'Succeeded' | 'Failed' | 'Canceled';
  startTime: string;
  endTime?: string;
  error?: { code: string; message: string };
  events: EventRecord[];
}

export interface ManagerOptions {
  dataDir: string;
  log: Logger;
  cgroups: Cgroups;
  ipPool: IpPool;
  catalog: ImageCatalog;
  faults: FaultState;
  identities: IdentityRegistry;
  location: string;
  restartBackoffMs: number;
  stopGraceMs: number;
  inheritEnv: string[];
  /** per-group uid and private working folder */
  sandboxes: GroupSandboxes;
}

/** ACI keeps at most this much of a running container's log; a stopped group keeps ~16 KB. */
export const LOG_LIMIT_BYTES = 4 * 1024 * 1024;
export const STOPPED_LOG_LIMIT_BYTES = 16 * 1024;

export const now = () => new Date().toISOString();

export function groupKey(id: string): string {
  return createHash('sha256').update(id.toLowerCase()).digest('hex').slice(0, 16);
}

export function addEvent(
  list: EventRecord[],
  name: string,
  message: string,
  type: 'Normal' | 'Warning' = 'Normal',
): void {
  const t = now();
  const last = list.find((e) => e.name === name && e.message === message);
  if (last) {
    last.count += 1;
    last.lastTimestamp = t;
  } else {
    list.push({ count: 1, firstTimestamp: t, lastTimestamp: t, name, message, type });
    if (list.length > 50) list.shift();
  }
}

/** The group's state from its containers' (a stopped, provisioning or failed group keeps its own). */
export function recomputeState(g: GroupRecord): void {
  if (
    g.state === 'Stopped' ||
    g.provisioningState === 'Pending' ||
    g.provisioningState === 'Creating' ||
    g.provisioningState === 'Failed'
  )
    return;
  const cs = Object.values(g.containers);
  if (cs.some((c) => c.currentState?.state === 'Running' || c.currentState?.state === 'Waiting')) g.state = 'Running';
  else if (cs.every((c) => c.currentState?.state === 'Terminated'))
    g.state = cs.every((c) => c.currentState?.exitCode === 0) ? 'Succeeded' : 'Failed';
}

/** Every delayed step (provisioning, back-off, delayed delete) runs through here, so shutdown cancels them all. */
export class Scheduler {
  closing = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closing) fn();
    }, ms);
    this.timers.add(t);
  }

  close(): void {
    this.closing = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
