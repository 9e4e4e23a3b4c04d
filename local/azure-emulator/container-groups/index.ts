// Container groups: ACI's state model driven by real local processes. This is the lifecycle — the
// operations ARM calls (create, update, start, stop, restart, delete) and the recovery of an earlier
// run — over the store (store.ts), the processes (processes.ts), the logs (logs.ts) and the ARM
// view (arm-view.ts). Everything a later run needs is recorded under <data>/groups/<key>/group.json.
import { mkdirSync, rmSync } from 'node:fs';
import { HttpError } from '../http-util';
import { canonicalJson } from '../image-catalog';
import { signalTree } from '../process-runner';
import type { GroupSpec } from '../validation';
import { inspectGroups, renderGroup } from './arm-view';
import { GroupLogs } from './logs';
import {
  addEvent,
  groupKey,
  now,
  recomputeState,
  Scheduler,
  STOPPED_LOG_LIMIT_BYTES,
  type ContainerRuntime,
  type GroupRecord,
  type ManagerOptions,
  type Operation,
} from './model';
import { ContainerProcesses } from './processes';
import { GroupStore } from './store';

export {
  groupKey,
  LOG_LIMIT_BYTES,
  STOPPED_LOG_LIMIT_BYTES,
  type ContainerState,
  type EventRecord,
  type GroupRecord,
  type GroupState,
  type ManagerOptions,
  type Operation,
  type ProvisioningState,
} from './model';

export class ContainerGroupManager {
  private readonly store: GroupStore;
  private readonly logFiles: GroupLogs;
  private readonly processes: ContainerProcesses;
  private readonly scheduler = new Scheduler();
  readonly operations: Map<string, Operation>;

  constructor(private readonly o: ManagerOptions) {
    this.store = new GroupStore(o);
    this.operations = this.store.operations;
    this.logFiles = new GroupLogs(this.store);
    this.processes = new ContainerProcesses(o, this.store, this.logFiles, this.scheduler);
  }

  // ---------------------------------------------------------------- store
  flush(): void {
    this.store.flush();
  }
  find(subscriptionId: string, resourceGroup: string, name: string): GroupRecord | undefined {
    return this.store.find(subscriptionId, resourceGroup, name);
  }
  idOf(subscriptionId: string, resourceGroup: string, name: string): string {
    return this.store.idOf(subscriptionId, resourceGroup, name);
  }
  list(subscriptionId: string, resourceGroup?: string): GroupRecord[] {
    return this.store.list(subscriptionId, resourceGroup);
  }
  all(): GroupRecord[] {
    return this.store.all();
  }
  usage(subscriptionId: string): { groups: number; cores: number } {
    return this.store.usage(subscriptionId);
  }
  newOperation(g: GroupRecord, kind: Operation['kind']): Operation {
    return this.store.newOperation(g, kind);
  }

  isTransitioning(g: GroupRecord): boolean {
    return (
      g.provisioningState === 'Pending' || g.provisioningState === 'Creating' || g.provisioningState === 'Deleting'
    );
  }

  // ---------------------------------------------------------------- views
  logs(g: GroupRecord, container: string, tail?: number, timestamps?: boolean): string {
    return this.logFiles.read(g, container, tail, timestamps);
  }
  render(g: GroupRecord, withInstanceView: boolean): Record<string, unknown> {
    return renderGroup(g, withInstanceView, this.o.identities);
  }
  /** What the admin API shows: processes, cgroups, usage. */
  inspect(): unknown[] {
    return inspectGroups(this.all(), this.o.cgroups);
  }

  // ---------------------------------------------------------------- recovery
  /** Load the groups of an earlier run: re-adopt live processes, reap what no group owns. */
  async recover(): Promise<void> {
    const keys = this.store.load();
    // Reap cgroups (and their processes) that no recorded group owns.
    for (const key of this.o.cgroups.groupKeys()) {
      if (keys.has(key)) continue;
      for (const pid of this.o.cgroups.groupPids(key)) signalTree(pid, 'SIGKILL', [pid]);
      this.o.cgroups.removeGroup(key);
    }
    this.o.sandboxes.reap(keys);
    for (const g of this.store.groups.values()) {
      if (g.ip && !this.o.ipPool.reclaim(g.ip)) {
        const old = g.ip;
        g.ip = await this.o.ipPool.allocate(g.spec.containers.flatMap((c) => c.ports.map((p) => p.port)));
        this.o.log.warn(
          { group: g.name, old, ip: g.ip },
          'recorded address is taken by another emulator: the group moves to a new one',
        );
      }
      this.o.sandboxes.reclaim(g);
      if (g.provisioningState === 'Deleting') {
        this.finishDelete(g, g.operationId);
        continue;
      }
      if (g.provisioningState === 'Pending' || g.provisioningState === 'Creating') {
        // The provisioning timeline was cut short: run it again.
        const op = g.operationId ? this.operations.get(g.operationId) : undefined;
        this.processes.killAllNow(g);
        void this.deploy(g, op);
        continue;
      }
      this.processes.resume(g);
      recomputeState(g);
      this.store.save(g);
    }
    this.store.flush();
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
    this.store.groups.set(g.key, g);
    try {
      g.ip = await this.o.ipPool.allocate(spec.containers.flatMap((c) => c.ports.map((p) => p.port)));
    } catch (err) {
      this.store.groups.delete(g.key);
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
      this.store.finishOperation(op);
      this.store.save(g);
      return op;
    }
    await this.processes.killAll(g, 'stop');
    if (!g.ip) g.ip = await this.o.ipPool.allocate(spec.containers.flatMap((c) => c.ports.map((p) => p.port)));
    void this.deploy(g, op);
    return op;
  }

  updateTags(g: GroupRecord, tags: Record<string, string>): void {
    g.spec.tags = tags;
    this.store.save(g);
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
    const d = this.store.dir(g);
    mkdirSync(d, { recursive: true, mode: 0o700 });
    g.containers = {};
    for (const c of g.spec.containers) {
      g.containers[c.name] = { name: c.name, restartCount: 0, events: [], rawOffset: 0 };
      for (const f of [this.store.logFile(g, c.name), this.store.rawFile(g, c.name), this.store.exitFile(g, c.name)])
        rmSync(f, { force: true });
    }
    if (op) op.status = 'Pending';
    this.store.save(g);
    const stale = () =>
      this.scheduler.closing ||
      g.deployment !== dep ||
      !this.store.groups.has(g.key) ||
      g.provisioningState === 'Deleting';

    this.scheduler.later(delay / 2, () => {
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
      this.store.save(g);
      this.scheduler.later(delay / 2, () => {
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
          this.store.finishOperation(op, error);
          this.store.save(g);
          return;
        }
        for (const c of g.spec.containers) this.processes.start(g, c.name);
        g.provisioningState = 'Succeeded';
        g.operationId = undefined;
        recomputeState(g);
        if (op) op.events = g.spec.containers.flatMap((x) => g.containers[x.name]?.events ?? []);
        this.store.finishOperation(op);
        this.store.save(g);
      });
    });
  }

  async stop(g: GroupRecord): Promise<void> {
    if (g.state === 'Succeeded' || g.state === 'Failed' || g.state === 'Stopped') {
      // ACI: stopping a group that already ended changes nothing.
      if (g.state !== 'Stopped') this.logFiles.trim(g, STOPPED_LOG_LIMIT_BYTES);
      return;
    }
    g.state = 'Stopped';
    addEvent(g.events, 'Stopping', `Stopping container group ${g.name}`);
    await this.processes.killAll(g, 'stop');
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
    this.logFiles.trim(g, STOPPED_LOG_LIMIT_BYTES);
    this.o.cgroups.removeGroup(g.key);
    for (const rt of Object.values(g.containers)) rt.cgroup = undefined;
    this.store.save(g);
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
    await this.processes.killAll(g, 'stop');
    g.state = 'Running';
    if (g.provisioningState === 'Failed') g.provisioningState = 'Succeeded';
    addEvent(g.events, 'Restarting', `Restarting container group ${g.name}`);
    for (const c of g.spec.containers) {
      const rt = g.containers[c.name] ?? { name: c.name, restartCount: 0, events: [], rawOffset: 0 };
      g.containers[c.name] = rt;
      rt.restartCount += 1;
      this.processes.start(g, c.name);
    }
    recomputeState(g);
    this.store.save(g);
  }

  /**
   * A Spot eviction (injected through the admin API): Azure takes the capacity back, the containers are
   * killed and "the container groups hosting the customer workloads are automatically restarted without
   * requiring any action from the customer" (MicrosoftDocs/azure-docs
   * articles/container-instances/container-instances-spot-containers-overview.md, "Eviction policies").
   * What a reader sees: a Warning event `Evicted` on the group, each container's previousState
   * Terminated / exit 137 / detailStatus `Evicted`, restartCount + 1, a fresh process (its work is
   * lost). The doc gives no event text: the name is Kubernetes' pod eviction reason.
   */
  async evict(g: GroupRecord): Promise<void> {
    if (g.spec.properties.priority !== 'Spot')
      throw new HttpError(
        409,
        'NotSpot',
        `Container group '${g.name}' has priority '${String(g.spec.properties.priority ?? 'Regular')}': only Spot groups are evicted.`,
      );
    if (g.state !== 'Running')
      throw new HttpError(
        409,
        'NotRunning',
        `Container group '${g.name}' is ${g.state}: only a running group is evicted.`,
      );
    addEvent(
      g.events,
      'Evicted',
      `Container group ${g.name} was evicted: Azure reclaimed its Spot capacity. It is restarted automatically.`,
      'Warning',
    );
    await this.processes.killAll(g, 'stop');
    for (const c of g.spec.containers) {
      const rt = g.containers[c.name];
      if (!rt) continue;
      rt.currentState = {
        state: 'Terminated',
        startTime: rt.currentState?.startTime ?? now(),
        finishTime: rt.currentState?.finishTime ?? now(),
        exitCode: 137,
        detailStatus: 'Evicted',
      };
      rt.restartCount += 1;
      this.processes.start(g, c.name);
    }
    recomputeState(g);
    this.store.save(g);
    this.o.log.info({ group: g.name }, 'Spot container group evicted and restarted');
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
      this.store.save(g);
      await this.processes.killAll(g, 'stop');
      this.scheduler.later(delay, () => this.finishDelete(g, op.id));
      return op;
    }
    await this.processes.killAll(g, 'stop');
    this.remove(g);
    return undefined;
  }

  private finishDelete(g: GroupRecord, opId: string | undefined): void {
    const wait = Math.max(0, (g.deleteAt ?? 0) - Date.now());
    if (wait > 0 && !this.scheduler.closing) {
      this.scheduler.later(wait, () => this.finishDelete(g, opId));
      return;
    }
    this.processes.killAllNow(g);
    this.remove(g);
    this.store.finishOperation(opId ? this.operations.get(opId) : undefined);
    this.store.flush();
  }

  private remove(g: GroupRecord): void {
    this.store.groups.delete(g.key);
    this.store.unqueue(g.key);
    this.o.cgroups.removeGroup(g.key);
    if (g.ip) this.o.ipPool.release(g.ip);
    this.o.sandboxes.release(g);
    rmSync(this.store.dir(g), { recursive: true, force: true });
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
    this.store.flush();
  }

  /** Emulator shutdown: stop every process, keep the records (a later run restarts them). */
  async close(): Promise<void> {
    this.scheduler.close();
    this.logFiles.close();
    await Promise.all(this.all().map((g) => this.processes.killAll(g, 'shutdown')));
    for (const g of this.all()) {
      for (const c of Object.keys(g.containers)) this.logFiles.catchUp(g, c, true);
      this.o.cgroups.removeGroup(g.key);
      for (const rt of Object.values(g.containers)) rt.cgroup = undefined;
      this.store.save(g);
    }
    this.store.flush();
    this.store.flushOps();
  }
}
