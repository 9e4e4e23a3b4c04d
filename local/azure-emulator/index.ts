// startEmulator(): the HTTPS ARM and registry listeners, the HTTP managed-identity endpoint and the
// container-group runtime, all sharing one data folder. Used by cli.ts and in-process by tests/bench.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createArmHandler } from './arm';
import { Cgroups } from './cgroups';
import { ContainerGroupManager } from './container-groups';
import { GroupSandboxes } from './container-groups/sandbox';
import { DEFAULT_FAULTS, FaultState, type Faults } from './faults';
import { HttpError, readBody, refuseOversizedUploads, sendJson } from './http-util';
import { IdentityRegistry } from './identities';
import { handleIdentityRequest } from './identity-endpoint';
import { Grants } from './rbac';
import { ImageCatalog } from './image-catalog';
import { IpPool } from './ip-pool';
import { isolationSupport } from './process-runner';
import { UidPool } from './uid-pool';
import { createLogger, type Logger } from './log';
import { createRegistryHandler } from './registry';
import { ensureTls } from './tls';
import { guidFrom, loadSecret } from './tokens';

export interface EmulatorOptions {
  /** folder for the CA, secrets, group records and logs (created if missing) */
  dataDir: string;
  /** ARM port; 0 = any free port (then registry and identity ports are free ones too) */
  port?: number;
  registryPort?: number;
  identityPort?: number;
  imagesFile?: string;
  identitiesFile?: string;
  /** RBAC grants document (README "RBAC"); without it every authenticated caller may do everything */
  grantsFile?: string;
  /** the registry's azureADAuthenticationAsArmPolicy; default true (enabled, as in Azure) */
  acrArmAudienceTokens?: boolean;
  location?: string;
  subscriptionId?: string;
  tenantId?: string;
  /** time from PUT to running processes (split between Pending and Creating); default 3000 */
  provisioningDelayMs?: number;
  deleteDelayMs?: number;
  latencyMs?: number;
  /** ACI's creates / deletes per 5 minutes per subscription (default 0 = unlimited; ACI's is about 100) */
  createsPer5Min?: number;
  deletesPer5Min?: number;
  /** initial count faults (throttle, transient5xx, capacity, failProvisioning) */
  faults?: Partial<Faults>;
  maxGroups?: number;
  maxCores?: number;
  pageSize?: number;
  restartBackoffMs?: number;
  stopGraceMs?: number;
  anonymousPull?: boolean;
  /** restrict ARM to these resource groups (others → ResourceGroupNotFound); default: any */
  resourceGroups?: string[];
  /** run without cgroups even where they are writable */
  disableCgroups?: boolean;
  /** environment variables passed from the emulator to container processes */
  inheritEnv?: string[];
  logger?: Logger;
}

export interface EmulatorInfo {
  armEndpoint: string;
  registryEndpoint: string;
  registryLoginServer: string;
  identityEndpoint: string;
  identityHeader: string;
  caBundle: string;
  caCertFile: string;
  tlsCertFile: string;
  tlsKeyFile: string;
  tenantId: string;
  subscriptionId: string;
  location: string;
  systemAssignedIdentity: { clientId: string; principalId: string };
  identities: Array<{ name: string; resourceId?: string; clientId: string; principalId: string }>;
  cgroups: boolean;
  dataDir: string;
  pid: number;
  /**
   * Bearer token of the admin API (`/_emulator/*`: faults, reset, evictions), also in
   * `<dataDir>/admin-token` (mode 0600): a container's command must not be able to reset the emulator.
   */
  adminToken: string;
  /** how container processes are confined here: own uid, own PID/mount namespaces */
  isolation: { users: boolean; namespaces: boolean };
}

export interface Emulator extends EmulatorInfo {
  close(): Promise<void>;
  /** for in-process callers: the same as POST /_emulator/faults */
  setFaults(update: Record<string, unknown>): Faults;
}

const DEFAULT_INHERIT_ENV = [
  'PATH',
  'HOME',
  'LANG',
  'LC_ALL',
  'TZ',
  'TMPDIR',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'NO_PROXY',
  'no_proxy',
];

function persisted(file: string, make: () => string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const v = make();
  writeFileSync(file, v, { mode: 0o600 });
  return v;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolvePort((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
}

export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const log = options.logger ?? createLogger();
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Secrets, keys and group records (secure environment values) live here: no container's uid may read
  // them, even when the folder existed before with a laxer mode.
  chmodSync(dataDir, 0o700);
  const instanceId = persisted(join(dataDir, 'instance-id'), () => randomBytes(8).toString('hex'));
  const identityHeader = persisted(join(dataDir, 'identity-header'), () => randomBytes(24).toString('hex'));
  const adminToken = persisted(join(dataDir, 'admin-token'), () => randomBytes(32).toString('hex'));
  const secret = loadSecret(dataDir);
  const tenantId = options.tenantId ?? guidFrom('tenant', instanceId);
  const subscriptionId = options.subscriptionId ?? guidFrom('subscription', instanceId);
  const location = options.location ?? 'westeurope';
  const tls = ensureTls(dataDir);
  const identities = new IdentityRegistry(tenantId, subscriptionId, instanceId, options.identitiesFile);
  const catalog = new ImageCatalog(
    options.imagesFile ? resolve(options.imagesFile) : undefined,
    join(dataDir, 'registry-manifests.json'),
  );
  const grants = options.grantsFile ? Grants.load(resolve(options.grantsFile), identities) : undefined;
  const faults = new FaultState({
    ...DEFAULT_FAULTS,
    ...(options.faults ?? {}),
    ...(options.provisioningDelayMs !== undefined ? { provisioningDelayMs: options.provisioningDelayMs } : {}),
    ...(options.deleteDelayMs !== undefined ? { deleteDelayMs: options.deleteDelayMs } : {}),
    ...(options.latencyMs !== undefined ? { latencyMs: options.latencyMs } : {}),
    ...(options.createsPer5Min !== undefined ? { createsPer5Min: options.createsPer5Min } : {}),
    ...(options.deletesPer5Min !== undefined ? { deletesPer5Min: options.deletesPer5Min } : {}),
  });
  const cgroups = new Cgroups(instanceId, log, options.disableCgroups);
  const isolation = isolationSupport(log);
  const uidPool = new UidPool(instanceId);
  // Outside the data folder (0700, secrets): a container's uid must be able to reach its own folder.
  const sandboxes = new GroupSandboxes({
    uidPool,
    isolation,
    workRoot: join(tmpdir(), 'aci-emulator-work', instanceId),
    log,
  });
  const ipPool = new IpPool(instanceId);

  let armEndpoint = '';
  let registryHostPort = '';
  const groups = new ContainerGroupManager({
    dataDir,
    log,
    cgroups,
    ipPool,
    catalog,
    faults,
    identities,
    location,
    restartBackoffMs: options.restartBackoffMs ?? 1000,
    stopGraceMs: options.stopGraceMs ?? 2000,
    inheritEnv: options.inheritEnv ?? DEFAULT_INHERIT_ENV,
    sandboxes,
  });

  const info = (): EmulatorInfo => ({
    armEndpoint,
    registryEndpoint: `https://${registryHostPort}`,
    registryLoginServer: registryHostPort,
    identityEndpoint: `http://127.0.0.1:${identityPort}/msi/token`,
    identityHeader,
    caBundle: tls.caBundle,
    caCertFile: tls.caCertFile,
    tlsCertFile: tls.certFile,
    tlsKeyFile: tls.keyFile,
    tenantId,
    subscriptionId,
    location,
    systemAssignedIdentity: {
      clientId: identities.systemAssigned.clientId,
      principalId: identities.systemAssigned.principalId,
    },
    identities: identities.known().map((i) => ({
      name: i.name,
      ...(i.resourceId ? { resourceId: i.resourceId } : {}),
      clientId: i.clientId,
      principalId: i.principalId,
    })),
    cgroups: cgroups.available,
    dataDir,
    pid: process.pid,
    adminToken,
    isolation,
  });

  const adminTokenBytes = Buffer.from(`Bearer ${adminToken}`);
  function adminAuthorized(req: IncomingMessage): boolean {
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === adminTokenBytes.length && timingSafeEqual(given, adminTokenBytes);
  }

  async function admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    if (!adminAuthorized(req)) {
      throw new HttpError(
        401,
        'Unauthorized',
        'The admin API needs "Authorization: Bearer <adminToken>" (the adminToken of the ready line, or <data>/admin-token).',
        { 'WWW-Authenticate': 'Bearer realm="aci-emulator-admin"' },
      );
    }
    if (path === '/_emulator/groups' && method === 'GET') return sendJson(res, 200, { groups: groups.inspect() });
    if (path === '/_emulator/info' && method === 'GET') return sendJson(res, 200, info());
    if (path === '/_emulator/faults' && method === 'GET') return sendJson(res, 200, faults.current);
    if (path === '/_emulator/faults' && method === 'POST') {
      let update: Record<string, unknown>;
      try {
        update = JSON.parse((await readBody(req)).toString('utf8') || '{}') as Record<string, unknown>;
        if (!update || typeof update !== 'object' || Array.isArray(update))
          throw new Error('the body must be a JSON object');
        const now = faults.apply(update);
        log.info({ faults: now }, 'faults updated');
        return sendJson(res, 200, now);
      } catch (err) {
        throw new HttpError(400, 'InvalidFaults', (err as Error).message);
      }
    }
    if (path === '/_emulator/groups/evict' && method === 'POST') {
      // Spot eviction: {"resourceGroup": "...", "name": "..."} (subscriptionId optional).
      let body: { subscriptionId?: unknown; resourceGroup?: unknown; name?: unknown };
      try {
        body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as typeof body;
      } catch (err) {
        throw new HttpError(400, 'InvalidRequest', `The body must be JSON: ${(err as Error).message}`);
      }
      if (typeof body?.name !== 'string' || typeof body.resourceGroup !== 'string')
        throw new HttpError(
          400,
          'InvalidRequest',
          'name and resourceGroup (strings) name the group to evict, e.g. {"resourceGroup":"rg","name":"job-1"}.',
        );
      const g = groups.find(
        typeof body.subscriptionId === 'string' ? body.subscriptionId : subscriptionId,
        body.resourceGroup,
        body.name,
      );
      if (!g) throw new HttpError(404, 'ResourceNotFound', `No container group '${body.resourceGroup}/${body.name}'.`);
      await groups.evict(g);
      return sendJson(res, 200, { evicted: g.id });
    }
    if (path === '/_emulator/reset' && method === 'POST') {
      await groups.deleteAll();
      faults.reset();
      return sendJson(res, 200, { groups: 0, faults: faults.current });
    }
    throw new HttpError(404, 'NotFound', `No admin route for ${method} ${path}.`);
  }

  const armHandler = createArmHandler({
    groups,
    faults,
    identities,
    catalog,
    secret,
    log,
    location,
    maxGroups: options.maxGroups ?? 100,
    maxCores: options.maxCores ?? 100,
    pageSize: options.pageSize ?? 100,
    ...(options.resourceGroups ? { resourceGroups: options.resourceGroups } : {}),
    anonymousPull: !!options.anonymousPull,
    ...(grants ? { grants } : {}),
    armEndpoint: () => armEndpoint,
    registryHosts: () => [registryHostPort, registryHostPort.replace('127.0.0.1', 'localhost')],
    admin,
  });
  const registryHandler = createRegistryHandler({
    catalog,
    secret,
    tenantId,
    loginServer: () => registryHostPort,
    anonymousPull: !!options.anonymousPull,
    armAudienceTokens: options.acrArmAudienceTokens !== false,
    ...(grants ? { grants } : {}),
    log,
  });

  const wrap =
    (h: (req: IncomingMessage, res: ServerResponse) => Promise<void>) =>
    (req: IncomingMessage, res: ServerResponse) => {
      h(req, res).catch((err: unknown) => {
        log.error({ err }, 'request failed');
        if (!res.headersSent) sendJson(res, 500, { error: { code: 'InternalServerError', message: String(err) } });
      });
    };
  const armServer = createHttpsServer({ cert: tls.cert, key: tls.key }, wrap(armHandler));
  const registryServer = createHttpsServer({ cert: tls.cert, key: tls.key }, wrap(registryHandler));
  const identityServer = createHttpServer((req, res) =>
    handleIdentityRequest({ identities, identityHeader, secret, log, ...(grants ? { grants } : {}) }, req, res),
  );
  for (const s of [armServer, registryServer, identityServer]) s.keepAliveTimeout = 5000;
  for (const s of [armServer, registryServer]) refuseOversizedUploads(s);

  const basePort = options.port ?? 0;
  const armPort = await listen(armServer, basePort);
  const registryPort = await listen(registryServer, options.registryPort ?? (basePort ? basePort + 1 : 0));
  const identityPort = await listen(identityServer, options.identityPort ?? (basePort ? basePort + 2 : 0));
  armEndpoint = `https://127.0.0.1:${armPort}`;
  registryHostPort = `127.0.0.1:${registryPort}`;

  // Only now (ports known) may recorded groups run again: their image references name the registry.
  await groups.recover();
  log.info(
    { armEndpoint, registry: registryHostPort, identityPort, dataDir, cgroups: cgroups.available },
    'azure emulator ready',
  );

  let closed: Promise<void> | undefined;
  return {
    ...info(),
    setFaults: (u) => faults.apply(u),
    close() {
      closed ??= (async () => {
        await Promise.all([
          closeServer(armServer),
          closeServer(registryServer),
          closeServer(identityServer),
          groups.close(),
        ]);
        ipPool.releaseAll();
        sandboxes.releaseAll();
        cgroups.removeBase();
        log.info('azure emulator stopped');
      })();
      return closed;
    },
  };
}
