// Container groups: ACI's state model driven by real local processes. Everything a later run needs
// (spec, instance views, pids, addresses) is recorded under <data>/groups/<key>/group.json.
import { createHash, randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  appendFileSync,
  writeFileSync,
  fstatSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Cgroups, CgroupPaths } from './cgroups';
import type { FaultState } from './faults';
import { HttpError } from './http-util';
import type { IdentityRegistry } from './identities';
import type { ImageCatalog } from './image-catalog';
import { canonicalJson } from './image-catalog';
import type { IpPool } from './ip-pool';
import type { Logger } from './log';
import { adopt, isAlive, launch, signalTree, type ProcessHandle } from './process-runner';
import type { GroupSpec } from './validation';

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

interface ContainerRuntime {
  name: string;
  restartCount: number;
  currentState?: ContainerState;
  previousState?: ContainerState;
  events: EventRecord[];
  pid?: number;
  startTicks?: string;
  digest?: string;
  cgroup?: CgroupPaths;
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
}

/** ACI keeps at most this much of a running container's log; a stopped group keeps ~16 KB. */
export const LOG_LIMIT_BYTES = 4 * 1024 * 1024;
export const STOPPED_LOG_LIMIT_BYTES = 16 * 1024;
const RAW_ROTATE_BYTES = 1024 * 1024;

const now = () => new Date().toISOString();

export function groupKey(id: string): string {
  return createHash('sha256').update(id.toLowerCase()).digest('hex').slice(0, 16);
}

function addEvent(list: EventRecord[], name: string, message: string, type: 'Normal' | 'Warning' = 'Normal'): void {
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

export class ContainerGroupManager {
  private readonly groups = new Map<string, GroupRecord>();
  readonly operations = new Map<string, Operation>();
  private readonly handles = new Map<string, { handle: ProcessHandle; stopping?: 'stop' | 'shutdown' }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly saveQueue = new Set<string>();
  private saveTimer?: NodeJS.Timeout;
  private opsTimer?: NodeJS.Timeout;
  private opsDirty = false;
  private logTimer?: NodeJS.Timeout;
  private closing = false;
  private readonly offsetsDirty = new Set<string>();
  private lastOffsetSave = Date.now();
  private readonly groupsDir: string;

  constructor(private readonly o: ManagerOptions) {
    this.groupsDir = join(o.dataDir, 'groups');
    mkdirSync(this.groupsDir, { recursive: true });
    this.logTimer = setInterval(() => this.catchUpAllLogs(), 1000);
    this.logTimer.unref();
  }

  // ---------------------------------------------------------------- persistence
  private dir(g: GroupRecord | string): string {
    return join(this.groupsDir, typeof g === 'string' ? g : g.key);
  }

  private save(g: GroupRecord): void {
    this.saveQueue.add(g.key);
    if (!this.saveTimer) {
      this.saveTimer = setTimeout(() => this.flush(), 20);
    }
  }

  flush(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    for (const key of this.saveQueue) {
      const g = this.groups.get(key);
      if (!g) continue;
      const d = this.dir(g);
      mkdirSync(d, { recursive: true, mode: 0o700 });
      // Secure values are kept (a later `start` must run the group again), so the file is private.
      writeFileSync(join(d, 'group.json.tmp'), JSON.stringify(g, null, 1), { mode: 0o600 });
      renameSync(join(d, 'group.json.tmp'), join(d, 'group.json'));
    }
    this.saveQueue.clear();
    if (this.opsDirty) this.flushOps();
  }

  /** Operations are written at most every 250 ms: under a burst of creates they change constantly. */
  private markOpsDirty(): void {
    this.opsDirty = true;
    if (!this.opsTimer) this.opsTimer = setTimeout(() => this.flushOps(), 250);
  }

  private flushOps(): void {
    if (this.opsTimer) clearTimeout(this.opsTimer);
    this.opsTimer = undefined;
    this.opsDirty = false;
    // Unfinished operations, and the last 500 finished ones (a poller may still ask for them).
    const all = [...this.operations.values()];
    const finished = all.filter((o) => o.endTime);
    const keep = [...all.filter((o) => !o.endTime), ...finished.slice(-500)];
    writeFileSync(join(this.o.dataDir, 'operations.json.tmp'), JSON.stringify(keep));
    renameSync(join(this.o.dataDir, 'operations.json.tmp'), join(this.o.dataDir, 'operations.json'));
  }

  /** Load the groups of an earlier run: re-adopt live processes, reap what no group owns. */
  async recover(): Promise<void> {
    try {
      const ops = JSON.parse(readFileSync(join(this.o.dataDir, 'operations.json'), 'utf8')) as Operation[];
      for (const op of ops) this.operations.set(op.id, op);
    } catch {
      // first run
    }
    const keys = new Set<string>();
    for (const key of readdirSync(this.groupsDir)) {
      const file = join(this.groupsDir, key, 'group.json');
      if (!existsSync(file)) {
        rmSync(join(this.groupsDir, key), { recursive: true, force: true });
        continue;
      }
      let g: GroupRecord;
      try {
        g = JSON.parse(readFileSync(file, 'utf8')) as GroupRecord;
      } catch (err) {
        // A record cut short (disk full, killed mid-write): keep it for inspection, start without it.
        this.o.log.error({ file, err: String(err) }, 'unreadable container group record; moved aside');
        renameSync(file, `${file}.corrupt-${Date.now()}`);
        continue;
      }
      this.groups.set(g.key, g);
      keys.add(g.key);
    }
    // Reap cgroups (and their processes) that no recorded group owns.
    for (const key of this.o.cgroups.groupKeys()) {
      if (keys.has(key)) continue;
      for (const pid of this.o.cgroups.groupPids(key)) signalTree(pid, 'SIGKILL', [pid]);
      this.o.cgroups.removeGroup(key);
    }
    for (const g of this.groups.values()) {
      if (g.ip && !this.o.ipPool.reclaim(g.ip)) {
        const old = g.ip;
        g.ip = await this.o.ipPool.allocate(g.spec.containers.flatMap((c) => c.ports.map((p) => p.port)));
        this.o.log.warn(
          { group: g.name, old, ip: g.ip },
          'recorded address is taken by another emulator: the group moves to a new one',
        );
      }
      if (g.provisioningState === 'Deleting') {
        this.finishDelete(g, g.operationId);
        continue;
      }
      if (g.provisioningState === 'Pending' || g.provisioningState === 'Creating') {
        // The provisioning timeline was cut short: run it again.
        const op = g.operationId ? this.operations.get(g.operationId) : undefined;
        this.killAllNow(g);
        void this.deploy(g, op);
        continue;
      }
      for (const c of Object.values(g.containers)) {
        if (c.pid && c.startTicks && isAlive(c.pid, c.startTicks) && !c.interrupted) {
          this.o.log.info(
            { group: g.name, container: c.name, pid: c.pid },
            're-adopted container process from an earlier run',
          );
          this.watch(g, c, adopt(c.pid, c.startTicks, this.exitFile(g, c.name)));
        } else if (c.currentState?.state === 'Running' || c.currentState?.state === 'Waiting') {
          if (c.interrupted) {
            // Stopped by our own shutdown: containers keep running in ACI, so start them again.
            c.interrupted = false;
            addEvent(c.events, 'Started', 'Started container after the emulator restarted');
            this.startContainer(g, c.name);
          } else {
            // Died while no emulator watched it: the wrapper's exit file tells how.
            this.onExit(g, c.name, this.readExitCode(g, c.name));
          }
        }
      }
      this.recomputeState(g);
      this.save(g);
    }
    this.flush();
  }

  private readExitCode(g: GroupRecord, c: string): number {
    try {
      return Number(readFileSync(this.exitFile(g, c), 'utf8').trim());
    } catch {
      return 137;
    }
  }

  // ---------------------------------------------------------------- queries
  find(subscriptionId: string, resourceGroup: string, name: string): GroupRecord | undefined {
    const g = this.groups.get(groupKey(this.idOf(subscriptionId, resourceGroup, name)));
    return g;
  }

  idOf(subscriptionId: string, resourceGroup: string, name: string): string {
    return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerInstance/containerGroups/${name}`;
  }

  list(subscriptionId: string, resourceGroup?: string): GroupRecord[] {
    return [...this.groups.values()]
      .filter(
        (g) =>
          g.subscriptionId.toLowerCase() === subscriptionId.toLowerCase() &&
          (!resourceGroup || g.resourceGroup.toLowerCase() === resourceGroup.toLowerCase()),
      )
      .sort((a, b) => (a.id.toLowerCase() < b.id.toLowerCase() ? -1 : 1));
  }

  all(): GroupRecord[] {
    return [...this.groups.values()];
  }

  usage(subscriptionId: string): { groups: number; cores: number } {
    const list = this.list(subscriptionId);
    const active = list.filter((g) => g.state === 'Pending' || g.state === 'Running');
    return { groups: list.length, cores: Math.round(active.reduce((s, g) => s + g.spec.totalCpu, 0) * 1000) / 1000 };
  }

  isTransitioning(g: GroupRecord): boolean {
    return (
      g.provisioningState === 'Pending' || g.provisioningState === 'Creating' || g.provisioningState === 'Deleting'
    );
  }

  // ---------------------------------------------------------------- operations
  newOperation(g: GroupRecord, kind: Operation['kind']): Operation {
    const op: Operation = {
      id: randomUUID(),
      subscriptionId: g.subscriptionId,
      location: this.o.location,
      groupId: g.id,
      kind,
      status: kind === 'delete' ? 'Deleting' : 'Pending',
      startTime: now(),
      events: [],
    };
    this.operations.set(op.id, op);
    this.markOpsDirty();
    if (this.operations.size > 5000) {
      const first = this.operations.keys().next().value;
      if (first) this.operations.delete(first);
    }
    return op;
  }

  private finishOperation(op: Operation | undefined, error?: { code: string; message: string }): void {
    if (!op) return;
    op.status = error ? 'Failed' : 'Succeeded';
    op.endTime = now();
    if (error) op.error = error;
    this.markOpsDirty();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closing) fn();
    }, ms);
    this.timers.add(t);
  }

  // ---------------------------------------------------------------- lifecycle
  /** PUT of a new group (validated by the caller). */
  async create(
    subscriptionId: string,
    resourceGroup: string,
    name: string,
    spec: GroupSpec,
  ): Promise<{ group: GroupRecord; op: Operation }> {
    const id = this.idOf(subscriptionId, resourceGroup, name);
    const g: GroupRecord = {
      key: groupKey(id),
      id,
      subscriptionId,
      resourceGroup,
      name,
      spec,
      provisioningState: 'Pending',
      state: 'Pending',
      events: [],
      containers: {},
      deployment: 0,
      createdTime: now(),
    };
    // Registered before the (async) address allocation, so concurrent PUTs see it in the quota.
    this.groups.set(g.key, g);
    try {
      g.ip = await this.o.ipPool.allocate(spec.containers.flatMap((c) => c.ports.map((p) => p.port)));
    } catch (err) {
      this.groups.delete(g.key);
      throw new HttpError(
        409,
        'ServiceUnavailable',
        `The requested resource is not available in the location '${this.o.location}' at this moment: ${(err as Error).message}.`,
      );
    }
    const op = this.newOperation(g, 'create');
    void this.deploy(g, op);
    return { group: g, op };
  }

  sameDefinition(g: GroupRecord, spec: GroupSpec): boolean {
    return (
      canonicalJson({ p: g.spec.properties, i: g.spec.identity ?? null, z: g.spec.zones ?? null }) ===
      canonicalJson({ p: spec.properties, i: spec.identity ?? null, z: spec.zones ?? null })
    );
  }

  /** The create/start operation still running for a group, if any. */
  inFlight(g: GroupRecord): Operation | undefined {
    const op = g.operationId ? this.operations.get(g.operationId) : undefined;
    return op && !op.endTime ? op : undefined;
  }

  /** PUT on an existing group: same definition → nothing to do; changed → redeploy. */
  async update(g: GroupRecord, spec: GroupSpec): Promise<Operation> {
    const same = this.sameDefinition(g, spec);
    g.spec = { ...spec, tags: spec.tags };
    const op = this.newOperation(g, 'create');
    if (same && g.provisioningState === 'Succeeded') {
      this.finishOperation(op);
      this.save(g);
      return op;
    }
    await this.killAll(g, 'stop');
    if (!g.ip) g.ip = await this.o.ipPool.allocate(spec.containers.flatMap((c) => c.ports.map((p) => p.port)));
    void this.deploy(g, op);
    return op;
  }

  updateTags(g: GroupRecord, tags: Record<string, string>): void {
    g.spec.tags = tags;
    this.save(g);
  }

  /** Provisioning timeline: Pending → Creating (pull) → processes started → Succeeded | Failed. */
  private async deploy(g: GroupRecord, op: Operation | undefined): Promise<void> {
    const dep = ++g.deployment;
    const delay = this.o.faults.current.provisioningDelayMs;
    g.provisioningState = 'Pending';
    g.state = 'Pending';
    g.operationId = op?.id;
    g.events = [];
    this.o.cgroups.removeGroup(g.key);
    const d = this.dir(g);
    mkdirSync(d, { recursive: true, mode: 0o700 });
    g.containers = {};
    for (const c of g.spec.containers) {
      g.containers[c.name] = { name: c.name, restartCount: 0, events: [], rawOffset: 0 };
      for (const f of [this.logFile(g, c.name), this.rawFile(g, c.name), this.exitFile(g, c.name)])
        rmSync(f, { force: true });
    }
    if (op) op.status = 'Pending';
    this.save(g);
    const stale = () =>
      this.closing || g.deployment !== dep || !this.groups.has(g.key) || g.provisioningState === 'Deleting';

    this.later(delay / 2, () => {
      if (stale()) return;
      g.provisioningState = 'Creating';
      if (op) op.status = 'Creating';
      for (const c of g.spec.containers) {
        const rt = g.containers[c.name] as ContainerRuntime;
        addEvent(rt.events, 'Pulling', `pulling image "${c.image}"`);
        const img = this.o.catalog.resolve(c.repository, c.reference);
        if (img) {
          rt.digest = img.digest;
          addEvent(rt.events, 'Pulled', `Successfully pulled image "${c.image}"`);
        }
        if (op) op.events = g.spec.containers.flatMap((x) => g.containers[x.name]?.events ?? []);
      }
      this.save(g);
      this.later(delay / 2, () => {
        if (stale()) return;
        const fault = this.o.faults.take('failProvisioning');
        const missing = g.spec.containers.find((c) => !this.o.catalog.resolve(c.repository, c.reference));
        if (fault || missing) {
          const error = missing
            ? {
                code: 'InaccessibleImage',
                message: `The image '${missing.image}' in container group '${g.name}' is not accessible. Please check the image and registry credential.`,
              }
            : {
                code: fault?.code ?? 'ContainerGroupDeploymentFailed',
                message: fault?.message ?? `The container group '${g.name}' failed to provision (injected fault).`,
              };
          g.provisioningState = 'Failed';
          g.state = 'Failed';
          addEvent(g.events, 'Failed', error.message, 'Warning');
          g.operationId = undefined;
          this.finishOperation(op, error);
          this.save(g);
          return;
        }
        for (const c of g.spec.containers) this.startContainer(g, c.name);
        g.provisioningState = 'Succeeded';
        g.operationId = undefined;
        this.recomputeState(g);
        if (op) op.events = g.spec.containers.flatMap((x) => g.containers[x.name]?.events ?? []);
        this.finishOperation(op);
        this.save(g);
      });
    });
  }

  private startContainer(g: GroupRecord, name: string): void {
    const spec = g.spec.containers.find((c) => c.name === name);
    const rt = g.containers[name];
    if (!spec || !rt) return;
    // Restarts (policy or API) run the image pulled at deployment: its digest, even if the tag moved since.
    const img =
      (rt.digest ? this.o.catalog.resolve(spec.repository, rt.digest) : undefined) ??
      this.o.catalog.resolve(spec.repository, spec.reference);
    const env: Record<string, string> = {};
    for (const k of this.o.inheritEnv) {
      const v = process.env[k];
      if (v !== undefined) env[k] = v;
    }
    Object.assign(env, img?.env ?? {});
    for (const e of spec.env) env[e.name] = e.secureValue ?? e.value ?? '';
    if (!spec.env.some((e) => e.name === 'HOST')) env.HOST = g.ip ?? '127.0.0.1';
    const command = spec.command ?? img?.command ?? ['/bin/false'];
    rt.cgroup = this.o.cgroups.create(g.key, name, spec.cpu, Math.round(spec.memoryInGB * 1024 ** 3));
    rt.oomBaseline = rt.cgroup ? this.o.cgroups.oomKills(rt.cgroup) : 0;
    if (img) rt.digest = img.digest;
    if (rt.currentState) rt.previousState = rt.currentState;
    addEvent(rt.events, 'Created', `Created container ${name}`);
    const handle = launch({
      command,
      env,
      cwd: img?.cwd ?? this.o.dataDir,
      logFile: this.rawFile(g, name),
      exitFile: this.exitFile(g, name),
      cgroupProcs: rt.cgroup ? this.o.cgroups.procsFiles(rt.cgroup) : [],
    });
    rt.pid = handle.pid;
    rt.startTicks = handle.startTicks;
    rt.interrupted = false;
    rt.currentState = { state: 'Running', startTime: now(), detailStatus: '' };
    addEvent(rt.events, 'Started', `Started container ${name}`);
    this.o.log.info({ group: g.name, container: name, pid: handle.pid, ip: g.ip, command }, 'container started');
    this.watch(g, rt, handle);
  }

  private watch(g: GroupRecord, rt: ContainerRuntime, handle: ProcessHandle): void {
    const hkey = `${g.key}/${rt.name}`;
    const dep = g.deployment;
    this.handles.set(hkey, { handle });
    void handle.exited.then((code) => {
      const h = this.handles.get(hkey);
      if (h?.handle === handle) this.handles.delete(hkey);
      if (h?.stopping === 'shutdown') return;
      if (g.deployment !== dep || this.groups.get(g.key) !== g) return;
      this.onExit(g, rt.name, code, h?.stopping);
    });
  }

  private onExit(g: GroupRecord, name: string, code: number, stopping?: 'stop' | 'shutdown'): void {
    const rt = g.containers[name];
    if (!rt) return;
    this.catchUpLogs(g, name, true);
    const oom = !!rt.cgroup && code === 137 && this.o.cgroups.oomKills(rt.cgroup) > (rt.oomBaseline ?? 0);
    const term: ContainerState = {
      state: 'Terminated',
      startTime: rt.currentState?.startTime ?? now(),
      finishTime: now(),
      exitCode: oom ? 137 : code,
      detailStatus: stopping ? 'Killed' : oom ? 'OOMKilled' : code === 0 ? 'Completed' : 'Error',
    };
    rt.pid = undefined;
    rt.startTicks = undefined;
    // A container ends with its main process: whatever it left behind, even in another process group
    // (a tenant command the agent started), is killed, as the kernel does when a PID namespace's init exits.
    if (rt.cgroup) for (const p of this.o.cgroups.pids(rt.cgroup)) signalTree(p, 'SIGKILL', [p]);
    if (oom)
      addEvent(
        rt.events,
        'OOMKilled',
        `Container ${name} was killed: out of memory (limit ${g.spec.containers.find((c) => c.name === name)?.memoryInGB} GB)`,
        'Warning',
      );
    this.o.log.info(
      { group: g.name, container: name, exitCode: term.exitCode, detail: term.detailStatus },
      'container exited',
    );
    const policy = g.spec.restartPolicy;
    const restart =
      !stopping && g.state !== 'Stopped' && (policy === 'Always' || (policy === 'OnFailure' && code !== 0));
    if (restart) {
      rt.previousState = term;
      rt.currentState = { state: 'Waiting', detailStatus: 'CrashLoopBackOff: Back-off restarting failed container' };
      const backoff = Math.min(this.o.restartBackoffMs * 2 ** Math.min(rt.restartCount, 10), 5 * 60 * 1000);
      addEvent(rt.events, 'BackOff', `Back-off restarting failed container ${name}`, 'Warning');
      const dep = g.deployment;
      this.later(backoff, () => {
        if (
          g.deployment !== dep ||
          this.groups.get(g.key) !== g ||
          g.state === 'Stopped' ||
          rt.currentState?.state !== 'Waiting'
        )
          return;
        rt.restartCount += 1;
        rt.previousState = term;
        this.startContainer(g, name);
        rt.previousState = term;
        this.recomputeState(g);
        this.save(g);
      });
    } else {
      rt.currentState = term;
      if (!stopping)
        addEvent(
          rt.events,
          'Killing',
          `Container ${name} terminated with exit code ${term.exitCode}`,
          term.exitCode === 0 ? 'Normal' : 'Warning',
        );
    }
    this.recomputeState(g);
    this.save(g);
    if (
      !restart &&
      !stopping &&
      rt.cgroup &&
      Object.values(g.containers).every((c) => c.currentState?.state === 'Terminated')
    ) {
      // Nothing left to run in this deployment: free the cgroups (start makes new ones).
      this.o.cgroups.removeGroup(g.key);
      for (const c of Object.values(g.containers)) c.cgroup = undefined;
    }
  }

  private recomputeState(g: GroupRecord): void {
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

  /** Kill every process of a group: SIGTERM, grace, SIGKILL (whole process groups and cgroups). */
  private async killAll(g: GroupRecord, why: 'stop' | 'shutdown'): Promise<void> {
    const hs: Array<Promise<number>> = [];
    const pids: number[] = [];
    for (const rt of Object.values(g.containers)) {
      const h = this.handles.get(`${g.key}/${rt.name}`);
      if (h) {
        h.stopping = why;
        hs.push(h.handle.exited);
      }
      // Only a pid that is still the process we started (a reused pid may lead another process group).
      if (rt.pid && rt.startTicks && isAlive(rt.pid, rt.startTicks)) pids.push(rt.pid);
      if (rt.currentState?.state === 'Waiting' && why === 'stop')
        rt.currentState = {
          ...(rt.previousState ?? { state: 'Terminated', detailStatus: '' }),
          detailStatus: 'Killed',
        };
    }
    const cgPids = () => Object.values(g.containers).flatMap((rt) => (rt.cgroup ? this.o.cgroups.pids(rt.cgroup) : []));
    for (const pid of pids) signalTree(pid, 'SIGTERM');
    for (const p of cgPids()) signalTree(p, 'SIGTERM', [p]);
    const all = Promise.all(hs);
    const timeout = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    await Promise.race([all, timeout(this.o.stopGraceMs)]);
    for (const pid of pids) signalTree(pid, 'SIGKILL');
    for (const p of cgPids()) signalTree(p, 'SIGKILL', [p]);
    await Promise.race([all, timeout(5000)]);
    // Processes of the cgroup that left the process group: wait until the cgroup is empty.
    const deadline = Date.now() + 3000;
    while (cgPids().length && Date.now() < deadline) {
      for (const p of cgPids()) signalTree(p, 'SIGKILL', [p]);
      await timeout(50);
    }
    if (why === 'shutdown') {
      for (const rt of Object.values(g.containers))
        if (rt.currentState?.state === 'Running' || rt.currentState?.state === 'Waiting') rt.interrupted = true;
    }
  }

  /** Synchronous kill for paths that cannot wait (recovery of a half-provisioned group). */
  private killAllNow(g: GroupRecord): void {
    for (const rt of Object.values(g.containers)) {
      if (rt.pid && rt.startTicks && isAlive(rt.pid, rt.startTicks)) signalTree(rt.pid, 'SIGKILL');
    }
    for (const p of this.o.cgroups.groupPids(g.key)) signalTree(p, 'SIGKILL', [p]);
  }

  async stop(g: GroupRecord): Promise<void> {
    if (g.state === 'Succeeded' || g.state === 'Failed' || g.state === 'Stopped') {
      // ACI: stopping a group that already ended changes nothing.
      if (g.state !== 'Stopped') this.trimLogs(g, STOPPED_LOG_LIMIT_BYTES);
      return;
    }
    g.state = 'Stopped';
    addEvent(g.events, 'Stopping', `Stopping container group ${g.name}`);
    await this.killAll(g, 'stop');
    for (const rt of Object.values(g.containers)) {
      if (rt.currentState?.state !== 'Terminated')
        rt.currentState = {
          state: 'Terminated',
          startTime: rt.currentState?.startTime ?? now(),
          finishTime: now(),
          exitCode: 137,
          detailStatus: 'Killed',
        };
    }
    g.state = 'Stopped';
    this.trimLogs(g, STOPPED_LOG_LIMIT_BYTES);
    this.o.cgroups.removeGroup(g.key);
    for (const rt of Object.values(g.containers)) rt.cgroup = undefined;
    this.save(g);
  }

  /** start = a new deployment with the same definition (re-pull, fresh instance views and logs). */
  async start(g: GroupRecord): Promise<Operation> {
    const op = this.newOperation(g, 'start');
    if (!g.ip) g.ip = await this.o.ipPool.allocate(g.spec.containers.flatMap((c) => c.ports.map((p) => p.port)));
    void this.deploy(g, op);
    return op;
  }

  /** restart = all containers restarted in place, now. */
  async restart(g: GroupRecord): Promise<void> {
    await this.killAll(g, 'stop');
    g.state = 'Running';
    if (g.provisioningState === 'Failed') g.provisioningState = 'Succeeded';
    addEvent(g.events, 'Restarting', `Restarting container group ${g.name}`);
    for (const c of g.spec.containers) {
      const rt = g.containers[c.name] ?? { name: c.name, restartCount: 0, events: [], rawOffset: 0 };
      g.containers[c.name] = rt;
      rt.restartCount += 1;
      this.startContainer(g, c.name);
    }
    this.recomputeState(g);
    this.save(g);
  }

  async delete(g: GroupRecord): Promise<Operation | undefined> {
    const delay = this.o.faults.current.deleteDelayMs;
    g.deployment += 1; // cancels a provisioning timeline in flight
    const inFlight = g.operationId ? this.operations.get(g.operationId) : undefined;
    if (inFlight && !inFlight.endTime) {
      // A create/start still polling must end, as ARM cancels it: core-lro reports Canceled.
      inFlight.status = 'Canceled';
      inFlight.endTime = now();
      inFlight.error = {
        code: 'Canceled',
        message: `The container group '${g.name}' was deleted while the operation was running.`,
      };
    }
    g.operationId = undefined;
    if (delay > 0) {
      const op = this.newOperation(g, 'delete');
      g.provisioningState = 'Deleting';
      g.operationId = op.id;
      g.deleteAt = Date.now() + delay;
      this.save(g);
      await this.killAll(g, 'stop');
      this.later(delay, () => this.finishDelete(g, op.id));
      return op;
    }
    await this.killAll(g, 'stop');
    this.remove(g);
    return undefined;
  }

  private finishDelete(g: GroupRecord, opId: string | undefined): void {
    const wait = Math.max(0, (g.deleteAt ?? 0) - Date.now());
    if (wait > 0 && !this.closing) {
      this.later(wait, () => this.finishDelete(g, opId));
      return;
    }
    this.killAllNow(g);
    this.remove(g);
    this.finishOperation(opId ? this.operations.get(opId) : undefined);
    this.flush();
  }

  private remove(g: GroupRecord): void {
    this.groups.delete(g.key);
    this.saveQueue.delete(g.key);
    this.o.cgroups.removeGroup(g.key);
    if (g.ip) this.o.ipPool.release(g.ip);
    rmSync(this.dir(g), { recursive: true, force: true });
    this.o.log.info({ group: g.name }, 'container group deleted');
  }

  async deleteAll(): Promise<void> {
    const saved = this.o.faults.current.deleteDelayMs;
    this.o.faults.current.deleteDelayMs = 0;
    try {
      await Promise.all(this.all().map((g) => this.delete(g)));
    } finally {
      this.o.faults.current.deleteDelayMs = saved;
    }
    this.flush();
  }

  /** Emulator shutdown: stop every process, keep the records (a later run restarts them). */
  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.logTimer) clearInterval(this.logTimer);
    await Promise.all(this.all().map((g) => this.killAll(g, 'shutdown')));
    for (const g of this.all()) {
      for (const c of Object.keys(g.containers)) this.catchUpLogs(g, c, true);
      this.o.cgroups.removeGroup(g.key);
      for (const rt of Object.values(g.containers)) rt.cgroup = undefined;
      this.saveQueue.add(g.key);
    }
    this.flush();
    this.flushOps();
  }

  // ---------------------------------------------------------------- logs
  private rawFile(g: GroupRecord, c: string): string {
    return join(this.dir(g), `${c}.out`);
  }
  private logFile(g: GroupRecord, c: string): string {
    return join(this.dir(g), `${c}.log`);
  }
  private exitFile(g: GroupRecord, c: string): string {
    return join(this.dir(g), `${c}.exit`);
  }

  private catchUpAllLogs(): void {
    for (const g of this.groups.values()) {
      for (const rt of Object.values(g.containers)) if (rt.pid) this.catchUpLogs(g, rt.name, false);
    }
    if (this.offsetsDirty.size && Date.now() - this.lastOffsetSave >= 5000) {
      this.lastOffsetSave = Date.now();
      for (const key of this.offsetsDirty) {
        const g = this.groups.get(key);
        if (g) this.save(g);
      }
      this.offsetsDirty.clear();
    }
  }

  /** Move new output from the raw file into the timestamped log (a line's time = when first seen). */
  private catchUpLogs(g: GroupRecord, c: string, final: boolean): void {
    const rt = g.containers[c];
    const raw = this.rawFile(g, c);
    if (!rt || !existsSync(raw)) return;
    let fd: number;
    try {
      fd = openSync(raw, 'r');
    } catch {
      return;
    }
    try {
      const size = fstatSync(fd).size;
      if (size < rt.rawOffset) rt.rawOffset = 0;
      if (size === rt.rawOffset) return;
      const buf = Buffer.alloc(size - rt.rawOffset);
      readSync(fd, buf, 0, buf.length, rt.rawOffset);
      let text = buf.toString('utf8');
      let consumed = buf.length;
      const lastNl = text.lastIndexOf('\n');
      if (!final && lastNl < text.length - 1 && buf.length < 64 * 1024) {
        // Keep a partial last line for the next round.
        consumed = Buffer.byteLength(text.slice(0, lastNl + 1));
        text = text.slice(0, lastNl + 1);
      }
      if (text) {
        const t = now();
        const lines = text.replace(/\n$/, '').split('\n');
        appendFileSync(this.logFile(g, c), lines.map((l) => `${t} ${l}\n`).join(''));
      }
      rt.rawOffset += consumed;
      // Persist the offset now and then (not per line: hundreds of chatty groups would mean hundreds
      // of record writes a second), so a re-adopting run stamps at most a few seconds twice.
      if (consumed > 0) this.offsetsDirty.add(g.key);
      if (rt.rawOffset >= RAW_ROTATE_BYTES && rt.rawOffset === size) {
        truncateSync(raw, 0);
        rt.rawOffset = 0;
      }
      const lf = this.logFile(g, c);
      // The stamped file holds ~25 bytes of timestamp per line: keep enough for 4 MiB of content.
      if (existsSync(lf) && statSync(lf).size > 4 * LOG_LIMIT_BYTES) this.trimFile(lf, 3 * LOG_LIMIT_BYTES);
    } finally {
      closeSync(fd);
    }
  }

  private trimFile(file: string, keep: number): void {
    const data = readFileSync(file);
    if (data.length <= keep) return;
    let cut = data.subarray(data.length - keep);
    const nl = cut.indexOf(10);
    if (nl >= 0) cut = cut.subarray(nl + 1);
    writeFileSync(file, cut);
  }

  /** Keep the lines whose content (timestamps aside) makes up the last `keep` bytes. */
  private trimLogs(g: GroupRecord, keep: number): void {
    for (const c of Object.keys(g.containers)) {
      this.catchUpLogs(g, c, true);
      const lf = this.logFile(g, c);
      if (!existsSync(lf)) continue;
      const lines = readFileSync(lf, 'utf8').split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      let size = 0;
      let first = lines.length;
      while (first > 0) {
        const line = lines[first - 1] as string;
        const content = Buffer.byteLength(line.slice(line.indexOf(' ') + 1)) + 1;
        if (size + content > keep) break;
        size += content;
        first -= 1;
      }
      if (first > 0)
        writeFileSync(
          lf,
          lines
            .slice(first)
            .map((l) => l + '\n')
            .join(''),
        );
    }
  }

  logs(g: GroupRecord, container: string, tail?: number, timestamps?: boolean): string {
    if (!g.containers[container])
      throw new HttpError(
        404,
        'ContainerNotFound',
        `The container '${container}' of container group '${g.name}' was not found.`,
      );
    this.catchUpLogs(g, container, false);
    const lf = this.logFile(g, container);
    if (!existsSync(lf)) return '';
    let lines = readFileSync(lf, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    if (tail !== undefined) lines = tail > 0 ? lines.slice(-tail) : [];
    if (!timestamps) lines = lines.map((l) => l.slice(l.indexOf(' ') + 1));
    let text = lines.length ? lines.join('\n') + '\n' : '';
    if (Buffer.byteLength(text) > LOG_LIMIT_BYTES) {
      // At most the last 4 MiB, starting at a line.
      const buf = Buffer.from(text);
      const cut = buf.subarray(buf.length - LOG_LIMIT_BYTES);
      text = cut.subarray(cut.indexOf(10) + 1).toString('utf8');
    }
    return text;
  }

  // ---------------------------------------------------------------- rendering
  render(g: GroupRecord, withInstanceView: boolean): Record<string, unknown> {
    const props = structuredClone(g.spec.properties) as Record<string, unknown>;
    const containers = (props.containers as Array<{ name: string; properties: Record<string, unknown> }>).map((c) => {
      const p = c.properties;
      if (Array.isArray(p.environmentVariables)) {
        p.environmentVariables = (p.environmentVariables as Array<Record<string, unknown>>).map((e) =>
          e.secureValue !== undefined ? { name: e.name } : e,
        );
      }
      const rt = g.containers[c.name];
      if (withInstanceView && rt) {
        p.instanceView = {
          restartCount: rt.restartCount,
          ...(rt.currentState ? { currentState: rt.currentState } : {}),
          ...(rt.previousState ? { previousState: rt.previousState } : {}),
          events: rt.events,
        };
      } else {
        delete p.instanceView;
      }
      return { name: c.name, properties: p };
    });
    props.containers = containers;
    if (Array.isArray(props.imageRegistryCredentials)) {
      props.imageRegistryCredentials = (props.imageRegistryCredentials as Array<Record<string, unknown>>).map((c) => {
        const { password: _password, ...rest } = c;
        return rest;
      });
    }
    const ipReq = props.ipAddress as Record<string, unknown> | undefined;
    if (ipReq) {
      // The loopback address is both the IP and the "FQDN": *.azurecontainer.io does not resolve here.
      props.ipAddress = { ...ipReq, ...(g.ip ? { ip: g.ip } : {}), ...(g.ip ? { fqdn: g.ip } : {}) };
    }
    props.provisioningState = g.provisioningState;
    props.sku = props.sku ?? 'Standard';
    props.restartPolicy = g.spec.restartPolicy;
    props.initContainers = props.initContainers ?? [];
    if (withInstanceView) props.instanceView = { state: g.state, events: g.events };
    else delete props.instanceView;
    const out: Record<string, unknown> = {
      id: g.id,
      name: g.name,
      type: 'Microsoft.ContainerInstance/containerGroups',
      location: g.spec.location,
      tags: g.spec.tags,
    };
    if (g.spec.zones) out.zones = g.spec.zones;
    const ident = g.spec.identity;
    if (ident) {
      const o: Record<string, unknown> = { type: ident.type };
      if (ident.type.includes('SystemAssigned')) {
        o.principalId = this.o.identities.systemAssigned.principalId;
        o.tenantId = this.o.identities.tenantId;
      }
      if (ident.userAssignedIdentities) {
        o.userAssignedIdentities = Object.fromEntries(
          Object.keys(ident.userAssignedIdentities).map((rid) => {
            const i = this.o.identities.byResource(rid);
            return [rid, { principalId: i?.principalId, clientId: i?.clientId }];
          }),
        );
      }
      out.identity = o;
    }
    out.properties = props;
    return out;
  }

  /** What the admin API shows: processes, cgroups, usage. */
  inspect(): unknown[] {
    return this.all().map((g) => ({
      id: g.id,
      name: g.name,
      ip: g.ip,
      provisioningState: g.provisioningState,
      state: g.state,
      restartPolicy: g.spec.restartPolicy,
      containers: Object.values(g.containers).map((rt) => {
        const spec = g.spec.containers.find((c) => c.name === rt.name);
        return {
          name: rt.name,
          pid: rt.pid ?? null,
          alive: rt.pid ? isAlive(rt.pid, rt.startTicks) : false,
          state: rt.currentState?.state ?? null,
          restartCount: rt.restartCount,
          digest: rt.digest ?? null,
          cpu: spec?.cpu,
          memoryInGB: spec?.memoryInGB,
          cgroup: rt.cgroup?.dirs ?? null,
          cpuUsageNs: rt.cgroup ? (this.o.cgroups.cpuUsageNs(rt.cgroup) ?? null) : null,
          cpuStat: rt.cgroup ? (this.o.cgroups.cpuStat(rt.cgroup) ?? null) : null,
          memory: rt.cgroup ? this.o.cgroups.memoryUsage(rt.cgroup) : null,
        };
      }),
    }));
  }
}
