// The process lifecycle of a group's containers: launch (env, cgroup, wrapper, the group's uid and
// private folder), watch, exit classification (OOM from the kernel's counter) and restart policy, kill
// (SIGTERM, grace, SIGKILL, cgroup sweep), re-adoption.
import { readFileSync } from 'node:fs';
import { adopt, isAlive, launch, signalTree, type ProcessHandle } from '../process-runner';
import type { GroupLogs } from './logs';
import {
  addEvent,
  now,
  recomputeState,
  type ContainerRuntime,
  type ContainerState,
  type GroupRecord,
  type ManagerOptions,
  type Scheduler,
} from './model';
import type { GroupStore } from './store';

export class ContainerProcesses {
  private readonly handles = new Map<string, { handle: ProcessHandle; stopping?: 'stop' | 'shutdown' }>();

  constructor(
    private readonly o: ManagerOptions,
    private readonly store: GroupStore,
    private readonly logs: GroupLogs,
    private readonly scheduler: Scheduler,
  ) {}

  /** OOM kills of a container's processes counted by the kernel since it started. */
  private oomKillsSinceStart(rt: ContainerRuntime): number {
    return rt.cgroup ? Math.max(0, this.o.cgroups.oomKills(rt.cgroup) - (rt.oomBaseline ?? 0)) : 0;
  }

  private oomMessage(g: GroupRecord, name: string): string {
    const limit = g.spec.containers.find((c) => c.name === name)?.memoryInGB;
    return `A process of container ${name} was killed: out of memory (limit ${limit} GB)`;
  }

  start(g: GroupRecord, name: string): void {
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
    const box = this.o.sandboxes.prepare(g);
    // The container's own home and temp folder (the emulator's HOME, e.g. /root, is not the tenant's).
    env.HOME = box.workDir;
    env.TMPDIR = box.workDir;
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
      cwd: img?.cwd ?? box.workDir,
      logFile: this.store.rawFile(g, name),
      exitFile: this.store.exitFile(g, name),
      cgroupProcs: rt.cgroup ? this.o.cgroups.procsFiles(rt.cgroup) : [],
      ...(box.runAs ? { runAs: box.runAs, namespaces: box.namespaces } : {}),
    });
    rt.pid = handle.pid;
    rt.startTicks = handle.startTicks;
    rt.interrupted = false;
    rt.currentState = { state: 'Running', startTime: now(), detailStatus: '' };
    addEvent(rt.events, 'Started', `Started container ${name}`);
    this.o.log.info(
      { group: g.name, container: name, pid: handle.pid, ip: g.ip, uid: box.runAs?.uid, command },
      'container started',
    );
    this.watch(g, rt, handle);
  }

  /** After a restart of the emulator: re-adopt live processes, relaunch interrupted ones, record deaths. */
  resume(g: GroupRecord): void {
    for (const c of Object.values(g.containers)) {
      if (c.pid && c.startTicks && isAlive(c.pid, c.startTicks) && !c.interrupted) {
        this.o.log.info(
          { group: g.name, container: c.name, pid: c.pid },
          're-adopted container process from an earlier run',
        );
        this.watch(g, c, adopt(c.pid, c.startTicks, this.store.exitFile(g, c.name)));
      } else if (c.currentState?.state === 'Running' || c.currentState?.state === 'Waiting') {
        if (c.interrupted) {
          // Stopped by our own shutdown: containers keep running in ACI, so start them again.
          c.interrupted = false;
          addEvent(c.events, 'Started', 'Started container after the emulator restarted');
          this.start(g, c.name);
        } else {
          // Died while no emulator watched it: the wrapper's exit file tells how.
          this.onExit(g, c.name, this.readExitCode(g, c.name));
        }
      }
    }
  }

  private readExitCode(g: GroupRecord, c: string): number {
    try {
      return Number(readFileSync(this.store.exitFile(g, c), 'utf8').trim());
    } catch {
      return 137;
    }
  }

  private watch(g: GroupRecord, rt: ContainerRuntime, handle: ProcessHandle): void {
    const hkey = `${g.key}/${rt.name}`;
    const dep = g.deployment;
    this.handles.set(hkey, { handle });
    void handle.exited.then((code) => {
      const h = this.handles.get(hkey);
      if (h?.handle === handle) this.handles.delete(hkey);
      if (h?.stopping === 'shutdown') return;
      if (g.deployment !== dep || this.store.groups.get(g.key) !== g) return;
      this.onExit(g, rt.name, code, h?.stopping);
    });
  }

  private onExit(g: GroupRecord, name: string, code: number, stopping?: 'stop' | 'shutdown'): void {
    const rt = g.containers[name];
    if (!rt) return;
    this.logs.catchUp(g, name, true);
    // OOMKilled iff the kernel's counter rose while it ran — for any of its processes: "If one or more
    // processes in a pod are OOM killed, when the pod subsequently exits, whether immediately or not, it
    // will have phase Failed and reason OOMKilled" (OpenShift docs, application memory sizing) — never
    // from the exit code: 137 is any SIGKILL. exitCode stays the main process's (137 when it was the
    // victim). While the container runs nothing is shown: a killed child is invisible to Azure's
    // container telemetry (an Azure Container Apps experiment, yeongseon.github.io
    // azure-paas-troubleshooting-labs "OOM visibility gap"); a process inside reads its own cgroup's
    // counter, in ACI (v2 memory.events) as here (v1: /proc/self/cgroup → memory.oom_control).
    const oomKills = this.oomKillsSinceStart(rt);
    const oom = !stopping && oomKills > 0;
    const term: ContainerState = {
      state: 'Terminated',
      startTime: rt.currentState?.startTime ?? now(),
      finishTime: now(),
      exitCode: code,
      detailStatus: stopping ? 'Killed' : oom ? 'OOMKilled' : code === 0 ? 'Completed' : 'Error',
    };
    rt.pid = undefined;
    rt.startTicks = undefined;
    // A container ends with its main process: whatever it left behind, even in another process group
    // (a tenant command the agent started), is killed, as the kernel does when a PID namespace's init exits.
    if (rt.cgroup) for (const p of this.o.cgroups.pids(rt.cgroup)) signalTree(p, 'SIGKILL', [p]);
    if (oom) addEvent(rt.events, 'OOMKilled', this.oomMessage(g, name), 'Warning');
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
      this.scheduler.later(backoff, () => {
        if (
          g.deployment !== dep ||
          this.store.groups.get(g.key) !== g ||
          g.state === 'Stopped' ||
          rt.currentState?.state !== 'Waiting'
        )
          return;
        rt.restartCount += 1;
        rt.previousState = term;
        this.start(g, name);
        rt.previousState = term;
        recomputeState(g);
        this.store.save(g);
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
    recomputeState(g);
    this.store.save(g);
    if (
      !restart &&
      !stopping &&
      rt.cgroup &&
      Object.values(g.containers).every((c) => c.currentState?.state === 'Terminated')
    )
      void this.freeCgroups(g);
  }

  /**
   * Nothing left to run in this deployment: free the cgroups (start makes new ones) once they are empty.
   * The leftovers SIGKILLed above leave them only when the kernel has finished them (rmdir of a populated
   * cgroup is EBUSY: removed at once, the cgroups stayed and the record forgot them), and one may have
   * forked during the sweep: kill again until empty (deadline 3 s), unless the group runs again.
   */
  private async freeCgroups(g: GroupRecord): Promise<void> {
    const dep = g.deployment;
    const idle = () =>
      g.deployment === dep &&
      this.store.groups.get(g.key) === g &&
      Object.values(g.containers).every((c) => c.currentState?.state === 'Terminated');
    const left = () => Object.values(g.containers).flatMap((c) => (c.cgroup ? this.o.cgroups.pids(c.cgroup) : []));
    const deadline = Date.now() + 3000;
    while (idle() && left().length && Date.now() < deadline) {
      for (const p of left()) signalTree(p, 'SIGKILL', [p]);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (!idle()) return;
    const pids = left();
    if (pids.length) {
      // Kept in the record: delete and stop sweep them again.
      this.o.log.warn({ group: g.name, pids }, 'processes of an exited container outlived their SIGKILL');
      return;
    }
    this.o.cgroups.removeGroup(g.key);
    for (const c of Object.values(g.containers)) c.cgroup = undefined;
  }

  /** Kill every process of a group: SIGTERM, grace, SIGKILL (whole process groups and cgroups). */
  async killAll(g: GroupRecord, why: 'stop' | 'shutdown'): Promise<void> {
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
    // One SIGTERM per process, as a container runtime sends it: to each process of the cgroups, or
    // (no cgroups) to the process groups; not both, or a handler runs twice.
    const members = cgPids();
    if (members.length)
      for (const p of members) {
        try {
          process.kill(p, 'SIGTERM');
        } catch {
          // gone
        }
      }
    else for (const pid of pids) signalTree(pid, 'SIGTERM');
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
  killAllNow(g: GroupRecord): void {
    for (const rt of Object.values(g.containers)) {
      if (rt.pid && rt.startTicks && isAlive(rt.pid, rt.startTicks)) signalTree(rt.pid, 'SIGKILL');
    }
    for (const p of this.o.cgroups.groupPids(g.key)) signalTree(p, 'SIGKILL', [p]);
  }
}
