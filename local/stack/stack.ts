// The local stack: the Azure emulator (ARM/ACI + ACR + managed identity over HTTPS), Azurite (blob,
// HTTPS + OAuth) and the functions host running the unmodified orchestration/ app, each a child
// process in its own process group, started in dependency order (the host last: Node and
// @azure/identity read NODE_EXTRA_CA_CERTS and IDENTITY_* only when a process starts).
// stop() undoes all of it and proves that no process and no container group is left.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ComponentError, ManagedChild } from './child';
import { controllerClientIdOf, deleteGroupsThroughArm } from './emulator-client';
import { freePort, portIsFree } from './ports';
import { DataLock } from './data-lock';
import { findEmulatorLeftovers, removeEmulatorLeftovers } from './emulator-leftovers';
import { writeMergedCatalog, type Catalog } from './catalog';
import { parseEmulatorReadyLine, type EmulatorInfo } from './emulator-info';
import { emulatorGrantsArgs } from './grants';
import { emulatorAdmin, type AdminGroup } from './emulator-client';
import { requestJson, type JsonResponse } from './http-json';
import {
  dedupe,
  describe,
  descendantsOf,
  killProcesses,
  markedProcesses,
  stillAlive,
  STACK_MARKER_ENV,
  type ProcInfo,
} from './processes';
import { appSettings, callbackSigningKey, hostEnvironment } from './settings';

export { armToken } from './emulator-client';
export { freePort, portIsFree } from './ports';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const DEFAULT_TENANTS_FILE = join(REPO_ROOT, 'tenants.example.json');
const TSX = ['--import', 'tsx'];
/** Azurite saves every acknowledged write before answering (azurite-durable.mjs). */
const AZURITE_DURABLE = join(__dirname, 'azurite-durable.mjs');

export interface StackOptions {
  /** Everything the stack keeps (emulator state and CA, Azurite's blobs, the host's SQLite, logs). */
  dataDir: string;
  tenantsFile?: string;
  /** 0 or absent = any free port. The API port is fixed before the host starts (it is the callback URL). */
  ports?: { api?: number; arm?: number; blob?: number };
  provisioningDelayMs?: number;
  pollIntervalSeconds?: number;
  /** More images for the emulator's registry (tests, benchmarks); relative paths against extraImagesBase. */
  extraImages?: Catalog;
  extraImagesBase?: string;
  /** App settings added to or overriding the local defaults. */
  settings?: Record<string, string>;
  /** RBAC: 'deployed' for the Bicep's deployed grants (grants.ts), a path for another grants file; default none. */
  grants?: 'deployed' | string | false;
  /** Extra arguments for the emulator's and the host's CLIs. */
  emulatorArgs?: string[];
  hostArgs?: string[];
  /** Progress messages of the stack itself (not the components' logs). */
  log?: (message: string) => void;
  /** Echo every component log line (stderr) through this function. */
  componentLog?: (component: string, line: string) => void;
  /** Deadline for each component's ready signal. */
  readyTimeoutMs?: number;
  /**
   * When the host exits on its own, start it again on the same data (orchestrations resume from its
   * SQLite; container groups keep running) instead of reporting the exit. Default true.
   */
  restartCrashedHost?: boolean;
}

export interface StopReport {
  /** Container groups that still existed after the host stopped, and were deleted by the stack. */
  leftoverGroups: string[];
  /** Processes that outlived their component and had to be killed. */
  strayProcesses: string[];
  /** Components that ignored SIGTERM and were killed. */
  forced: string[];
  /** cgroup folders a dead emulator left, removed by the stack. */
  leftoverCgroups: string[];
}

/** A group as the emulator's admin API lists it. */
export type EmulatorGroup = AdminGroup;

export interface Stack {
  apiBaseUrl: string;
  hostBaseUrl: string;
  emulator: EmulatorInfo & { adminUrl: string };
  blobEndpoint: string;
  dataDir: string;
  logsDir: string;
  tenantsFile: string;
  /** The app settings the host runs with, secrets replaced by "***". */
  publicSettings: Record<string, string>;
  /** Calls the emulator's admin API (`/_emulator/...`) with the emulator's CA. */
  admin<T = unknown>(path: string, init?: { method?: string; body?: unknown }): Promise<JsonResponse<T>>;
  /** The container groups that exist right now, according to the emulator. */
  listGroups(): Promise<EmulatorGroup[]>;
  /** Process ids of the components' leaders right now (undefined when not running). */
  pids(): { host: number | undefined; emulator: number | undefined; azurite: number | undefined };
  /** Last lines of a component's output (for failure messages). */
  lastLines(component: 'host' | 'emulator' | 'azurite', n?: number): string[];
  /** Called when a component exits on its own (not through stop/killHost/restartHost) and is not restarted. */
  onUnexpectedExit(listener: (component: string, how: string, lastLines: string[]) => void): void;
  /** Called when the stack restarted a host that had exited on its own. */
  onHostRestart(listener: (how: string) => void): void;
  /** SIGKILL to the host's whole process group: a crash, not a shutdown. */
  killHost(): Promise<void>;
  /** Starts the host again, same port and settings (same SQLite data: orchestrations resume). */
  restartHost(): Promise<void>;
  stop(): Promise<StopReport>;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const log = opts.log ?? (() => undefined);
  const dataDir = resolve(opts.dataDir);
  const logsDir = join(dataDir, 'logs');
  for (const d of [dataDir, logsDir, join(dataDir, 'emulator'), join(dataDir, 'azurite'), join(dataDir, 'host')])
    mkdirSync(d, { recursive: true });
  const tenantsFile = resolve(opts.tenantsFile ?? DEFAULT_TENANTS_FILE);
  try {
    readFileSync(tenantsFile);
  } catch (err) {
    throw new Error(`tenants file ${tenantsFile} cannot be read: ${(err as Error).message}`);
  }
  const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
  const stackId = randomUUID();
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, [STACK_MARKER_ENV]: stackId };
  // The stack's own NODE_OPTIONS (e.g. a test runner's) must not leak into components.
  delete baseEnv.NODE_OPTIONS;
  delete baseEnv.NODE_TEST_CONTEXT;

  const apiPort = opts.ports?.api || (await freePort());
  // One stack per data folder (a second one would put two hosts on one SQLite file): checked first,
  // so that its error names the holder rather than a busy port.
  const lock = await DataLock.acquire(dataDir, apiPort);
  if (opts.ports?.api && !(await portIsFree(apiPort))) {
    lock.release();
    throw new ComponentError(
      'functions-host',
      `port ${apiPort} on 127.0.0.1 is already in use (is another stack running? choose another with --port)`,
    );
  }
  const hostBaseUrl = `http://127.0.0.1:${apiPort}`;
  const catalogFile = writeMergedCatalog(join(dataDir, 'images.json'), opts.extraImages, opts.extraImagesBase);

  let stopping: Promise<StopReport> | undefined;
  const started: ManagedChild[] = [];
  const intentional = new Set<ManagedChild>();
  const exitListeners: Array<(component: string, how: string, lastLines: string[]) => void> = [];
  const watch = (child: ManagedChild): ManagedChild => {
    if (opts.componentLog) child.onLine((line) => opts.componentLog!(child.name, line));
    return child;
  };
  const restartListeners: Array<(how: string) => void> = [];
  let up = false; // a host that fails while the stack starts is a startup failure, not a crash
  const hostCrashes: number[] = [];
  const watchExit = (child: ManagedChild): void => {
    lock.recordComponent(child.name, child.pid);
    void child.whenExited().then(() => {
      if (intentional.has(child) || stopping) return;
      const how = child.exitDescription() ?? 'unknown';
      if (child.name === 'functions-host' && up && (opts.restartCrashedHost ?? true)) {
        // A crashed host is started again rather than taken as the end of the stack: deleting every
        // live group would fail every job in flight, while its orchestrations resume from SQLite. At
        // most 5 restarts a minute: a host that cannot stay up is reported.
        const now = Date.now();
        hostCrashes.push(now);
        while (hostCrashes.length && hostCrashes[0]! < now - 60_000) hostCrashes.shift();
        if (hostCrashes.length <= 5) {
          log(`the functions host exited unexpectedly (${how}); restarting it on the same data`);
          void (async () => {
            try {
              started.splice(started.indexOf(host), 1);
              host = makeHost();
              await startHost();
              log(`functions host restarted: ${hostBaseUrl}/api`);
              for (const l of restartListeners) l(how);
            } catch (err) {
              if (stopping) return;
              for (const l of exitListeners) l(host.name, `${how}; restart failed: ${(err as Error).message}`, []);
            }
          })();
          return;
        }
      }
      for (const l of exitListeners) l(child.name, how, child.lastLines());
    });
  };
  // Last resort if the process running the stack exits without stop() (an uncaught error in a
  // test): the components do not outlive it. (On SIGKILL their lifeline does it: exit-with-parent.mjs.)
  const onExit = (): void => {
    for (const c of started)
      if (c.pid !== undefined && c.running)
        try {
          process.kill(-c.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
  };
  process.on('exit', onExit);
  const abort = async (err: unknown): Promise<never> => {
    log(`startup failed; stopping what was started`);
    for (const c of started) intentional.add(c);
    for (const c of [...started].reverse()) await c.stop(5_000).catch(() => undefined);
    process.off('exit', onExit);
    lock.release();
    throw err;
  };

  // 1. Emulator, enforcing role assignments (RBAC) when asked.
  const grantsArgs = await (async () => emulatorGrantsArgs(REPO_ROOT, opts.grants, log))().catch(abort);
  const emulatorChild = watch(
    new ManagedChild({
      name: 'azure-emulator',
      command: process.execPath,
      args: [
        ...TSX,
        join(REPO_ROOT, 'local/azure-emulator/cli.ts'),
        '--port',
        String(opts.ports?.arm ?? 0),
        '--data',
        join(dataDir, 'emulator'),
        '--images',
        catalogFile,
        '--provisioning-delay-ms',
        String(opts.provisioningDelayMs ?? 1000),
        ...grantsArgs,
        ...(opts.emulatorArgs ?? []),
      ],
      env: baseEnv,
      cwd: REPO_ROOT,
      logFile: join(logsDir, 'emulator.log'),
      node: {},
    }),
  );
  let emulator: EmulatorInfo;
  try {
    log('starting the Azure emulator (ARM/ACI, ACR, managed identity)…');
    emulatorChild.start();
    started.push(emulatorChild);
    watchExit(emulatorChild);
    emulator = await emulatorChild.waitFor(
      'ready line (JSON on stdout)',
      (line, stream) => (stream === 'stdout' ? parseEmulatorReadyLine(line) : undefined),
      readyTimeoutMs,
    );
  } catch (err) {
    return abort(err);
  }
  const ca = readFileSync(emulator.caBundle, 'utf8');
  const adminUrl = `${emulator.armEndpoint}/_emulator`;
  log(`emulator ready: ARM ${emulator.armEndpoint}, registry ${emulator.registryLoginServer}`);

  // 2. Azurite (blob only), HTTPS with the emulator's certificate, OAuth so that the app's
  // managed-identity token is what authorizes it (no account keys anywhere).
  const azuriteChild = watch(
    new ManagedChild({
      name: 'azurite',
      command: process.execPath,
      args: [
        join(REPO_ROOT, 'node_modules/azurite/dist/src/blob/main.js'),
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        String(opts.ports?.blob ?? 0),
        '--location',
        join(dataDir, 'azurite'),
        '--cert',
        emulator.tlsCertFile,
        '--key',
        emulator.tlsKeyFile,
        '--oauth',
        'basic',
        '--skipApiVersionCheck',
        '--loose',
        '--silent',
        '--disableTelemetry',
      ],
      env: baseEnv,
      cwd: REPO_ROOT,
      logFile: join(logsDir, 'azurite.log'),
      node: { preloads: [AZURITE_DURABLE] },
    }),
  );
  let blobEndpoint: string;
  try {
    log('starting Azurite (blob, HTTPS, OAuth)…');
    azuriteChild.start();
    started.push(azuriteChild);
    watchExit(azuriteChild);
    const listening = await azuriteChild.waitFor(
      '"successfully listens" line',
      (line) => /successfully listens on (https?:\/\/[^\s]+)/.exec(line)?.[1],
      readyTimeoutMs,
    );
    const port = new URL(listening).port;
    blobEndpoint = `https://127.0.0.1:${port}/devstoreaccount1`;
  } catch (err) {
    return abort(err);
  }
  log(`Azurite ready: ${blobEndpoint}`);

  // 3. The functions host running orchestration/.
  const controllerClientId = await controllerClientIdOf(emulator).catch((err) => abort(err));
  const settings = appSettings({
    emulator,
    controllerClientId,
    blobEndpoint,
    callbackBaseUrl: hostBaseUrl,
    signingKey: callbackSigningKey(dataDir),
    tenantsFile,
    ...(opts.pollIntervalSeconds !== undefined ? { pollIntervalSeconds: opts.pollIntervalSeconds } : {}),
    ...(opts.settings ? { settings: opts.settings } : {}),
  });
  const hostEnv = hostEnvironment(settings, emulator, baseEnv);
  const publicSettings = { ...settings, CALLBACK_SIGNING_KEY: '***' };
  let host = makeHost();
  function makeHost(): ManagedChild {
    return watch(
      new ManagedChild({
        name: 'functions-host',
        command: process.execPath,
        args: [
          ...TSX,
          join(REPO_ROOT, 'local/functions-host/cli.ts'),
          '--app',
          join(REPO_ROOT, 'orchestration'),
          '--port',
          String(apiPort),
          '--data',
          join(dataDir, 'host'),
          ...(opts.hostArgs ?? []),
        ],
        env: hostEnv,
        cwd: REPO_ROOT,
        logFile: join(logsDir, 'host.log'),
        node: {},
      }),
    );
  }
  async function startHost(): Promise<void> {
    host.start();
    if (!started.includes(host)) started.push(host);
    watchExit(host);
    const ready = await host.waitFor(
      'ready line {"ready":true,"baseUrl":…}',
      (line, stream) => {
        if (stream !== 'stdout' || !line.trim().startsWith('{')) return undefined;
        let obj: { ready?: unknown; baseUrl?: unknown };
        try {
          obj = JSON.parse(line) as typeof obj;
        } catch {
          return undefined;
        }
        return obj.ready === true && typeof obj.baseUrl === 'string' ? obj.baseUrl : undefined;
      },
      readyTimeoutMs,
    );
    if (new URL(ready).port !== String(apiPort)) {
      throw new ComponentError(
        'functions-host',
        `listens on ${ready}, expected port ${apiPort} (the callback URL containers were given)`,
        host.lastLines(),
      );
    }
    // Ready means the app loaded; health says whether its configuration and dependencies are right.
    const health = await requestJson(`${hostBaseUrl}/api/health`).catch(
      (err: Error) => ({ status: 0, text: err.message }) as JsonResponse,
    );
    if (health.status !== 200) {
      throw new ComponentError(
        'functions-host',
        `GET /api/health answered ${health.status}: ${health.text.slice(0, 800)}`,
        host.lastLines(),
      );
    }
  }
  try {
    log('starting the functions host with orchestration/…');
    await startHost();
  } catch (err) {
    return abort(err);
  }
  log(`functions host ready: ${hostBaseUrl}/api`);
  up = true;

  const { admin, listGroups } = emulatorAdmin(emulator, ca);

  const stop = (): Promise<StopReport> => (stopping ??= doStop());
  async function doStop(): Promise<StopReport> {
    const report: StopReport = { leftoverGroups: [], strayProcesses: [], forced: [], leftoverCgroups: [] };
    // Everything below the components now, before they go: once a parent dies its children are
    // re-parented and can no longer be found by ancestry.
    const remembered: ProcInfo[] = descendantsOf(started.map((c) => c.pid).filter((p): p is number => p !== undefined));
    log('stopping the functions host…');
    if ((await host.stop(15_000)).forced) report.forced.push('functions-host');
    if (emulatorChild.running) {
      try {
        const groups = await listGroups();
        if (groups.length) {
          report.leftoverGroups = groups.map((g) => g.name);
          log(`deleting ${groups.length} container group(s) left behind: ${report.leftoverGroups.join(', ')}`);
          await deleteGroups(groups.map((g) => g.name));
        }
      } catch (err) {
        log(`could not list or delete container groups: ${(err as Error).message}`);
      }
    }
    remembered.push(...descendantsOf(started.map((c) => c.pid).filter((p): p is number => p !== undefined)));
    const emulatorDied = !emulatorChild.running;
    log('stopping Azurite and the emulator…');
    if ((await azuriteChild.stop(10_000)).forced) report.forced.push('azurite');
    if ((await emulatorChild.stop(15_000)).forced) report.forced.push('azure-emulator');
    process.off('exit', onExit);
    if (emulatorDied) {
      // Nobody deleted its groups through ARM: find what it left from its records and cgroups.
      const left = findEmulatorLeftovers(join(dataDir, 'emulator'));
      if (left.groups.length || left.processes.length || left.cgroupDirs.length) {
        report.leftoverGroups.push(...left.groups.map((g) => g.name));
        report.strayProcesses.push(...left.processes.map((p) => describe([p])));
        report.leftoverCgroups.push(...left.cgroupDirs);
        log(
          `the emulator had died: removing what it left — ${left.groups.length} container group record(s), ` +
            `${left.processes.length} container process(es), ${left.cgroupDirs.length} cgroup folder(s)`,
        );
        const { notRemoved } = await removeEmulatorLeftovers(left);
        if (notRemoved.length) log(`could not remove: ${notRemoved.join(', ')}`);
      }
    }
    const strays = dedupe([...stillAlive(remembered), ...markedProcesses(stackId)]);
    if (strays.length) {
      report.strayProcesses.push(...strays.map((p) => describe([p])));
      log(`killing ${strays.length} process(es) that outlived the stack: ${describe(strays)}`);
      killProcesses(strays);
    }
    lock.release();
    return report;
  }

  const deleteGroups = (names: string[]): Promise<void> =>
    deleteGroupsThroughArm({
      emulator,
      clientId: controllerClientId,
      ca,
      resourceGroup: settings.JOBS_RESOURCE_GROUP ?? '',
      names,
      listGroups,
      log,
    });

  return {
    apiBaseUrl: `${hostBaseUrl}/api`,
    hostBaseUrl,
    emulator: { ...emulator, adminUrl },
    blobEndpoint,
    dataDir,
    logsDir,
    tenantsFile,
    publicSettings,
    admin,
    listGroups,
    pids: () => ({
      host: host.running ? host.pid : undefined,
      emulator: emulatorChild.running ? emulatorChild.pid : undefined,
      azurite: azuriteChild.running ? azuriteChild.pid : undefined,
    }),
    lastLines: (component, n) =>
      (component === 'host' ? host : component === 'emulator' ? emulatorChild : azuriteChild).lastLines(n),
    onUnexpectedExit: (listener) => {
      exitListeners.push(listener);
    },
    onHostRestart: (listener) => {
      restartListeners.push(listener);
    },
    killHost: async () => {
      intentional.add(host);
      await host.kill();
    },
    restartHost: async () => {
      intentional.add(host);
      if (host.running) await host.stop(15_000);
      started.splice(started.indexOf(host), 1);
      host = makeHost();
      await startHost();
    },
    stop,
  };
}
