// ARM front door for Microsoft.ContainerInstance: routing (case-insensitive, decoded segments),
// api-version, bearer check, injected faults, and the operations with the status codes the
// generated SDK accepts. Also serves the loopback-only admin API under /_emulator/.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { armHeaders, HttpError, isLoopback, readBody, sendJson } from './http-util';
import type { ContainerGroupManager, GroupRecord, Operation } from './container-groups';
import type { FaultState } from './faults';
import type { IdentityRegistry } from './identities';
import type { ImageCatalog } from './image-catalog';
import type { Logger } from './log';
import { authorizationFailedMessage, linkedAuthorizationFailedMessage, type Grants } from './rbac';
import { ARM_AUDIENCES, verifyJwt, type Claims } from './tokens';
import { canonicalJson } from './image-catalog';
import { immutableChange, normalizeLocation, validateGroup, validateName } from './validation';

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

const PROVIDER = 'microsoft.containerinstance';
const OPERATION_API_VERSION = '2018-06-01';
/**
 * api-versions Microsoft.ContainerInstance serves. Source: the list ARM itself returns in
 * NoRegisteredProviderFound (Azure/azure-cli#30444, 2024-11), plus the later public versions the CLI
 * and azapi send (2024-05-01-preview: azure-cli#30714; 2025-09-01: Azure/terraform-provider-azapi#993).
 */
export const SUPPORTED_API_VERSIONS = [
  '2017-08-01-preview',
  '2017-10-01-preview',
  '2017-12-01-preview',
  '2018-02-01-preview',
  '2018-04-01',
  '2018-06-01',
  '2018-07-01',
  '2018-09-01',
  '2018-10-01',
  '2019-12-01',
  '2020-11-01',
  '2021-03-01',
  '2021-07-01',
  '2021-09-01',
  '2021-10-01',
  '2022-04-01-preview',
  '2022-09-01',
  '2022-10-01-preview',
  '2023-02-01-preview',
  '2023-05-01',
  '2023-05-15-preview',
  '2024-05-01-preview',
  '2025-09-01',
];

function decodeSegments(path: string): string[] {
  return path
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw new HttpError(400, 'InvalidRequestUri', `The request URI segment '${s}' is not valid.`);
      }
    });
}

function eq(a: string | undefined, b: string): boolean {
  return (a ?? '').toLowerCase() === b;
}

const RATE_WINDOW_MS = 5 * 60 * 1000;

export function createArmHandler(deps: ArmDeps) {
  const { groups, faults } = deps;
  // Sliding 5-minute windows of creates and deletes per subscription (ACI's own rate limits).
  const rateWindows = new Map<string, number[]>();
  function rateCheck(kind: 'creates' | 'deletes', sub: string, hdrs: Record<string, string>): () => void {
    const limit = (kind === 'creates' ? faults.current.createsPer5Min : faults.current.deletesPer5Min) ?? 0;
    const key = `${kind}/${sub.toLowerCase()}`;
    const now = Date.now();
    const times = (rateWindows.get(key) ?? []).filter((t) => t > now - RATE_WINDOW_MS);
    rateWindows.set(key, times);
    if (limit > 0 && times.length >= limit) {
      const retryAfter = Math.max(1, Math.ceil(((times[0] as number) + RATE_WINDOW_MS - now) / 1000));
      throw new HttpError(
        429,
        'TooManyRequests',
        `The number of container group ${kind} in the last 5 minutes for subscription '${sub}' exceeded the limit of '${limit}'. Please try again after '${retryAfter}' seconds.`,
        { 'Retry-After': String(retryAfter) },
      );
    }
    // The header ACI sends on creates and deletes (azure-sdk-for-js arm-containerinstance recordings,
    // recording_containergroups_create_test.json / _delete_test.json: "…-resource-requests-pt5m": "99").
    if (limit > 0)
      hdrs['x-ms-ratelimit-remaining-subscription-resource-requests-pt5m'] = String(limit - times.length - 1);
    return () => times.push(Date.now());
  }
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

  function authenticate(req: IncomingMessage): Claims {
    const auth = req.headers.authorization;
    const tenant = deps.identities.tenantId;
    const challenge = `Bearer authorization_uri="https://login.microsoftonline.com/${tenant}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`;
    if (!auth) {
      throw new HttpError(
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is missing.",
        { 'WWW-Authenticate': challenge },
      );
    }
    if (!/^bearer\s+/i.test(auth)) {
      throw new HttpError(
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        { 'WWW-Authenticate': challenge },
      );
    }
    const v = verifyJwt(auth.replace(/^bearer\s+/i, '').trim(), deps.secret, ARM_AUDIENCES);
    if (!v.ok) {
      const msg: Record<string, string> = {
        malformed: 'The access token is invalid.',
        signature: 'The access token has an invalid signature.',
        expired: 'The access token expired or is not yet valid.',
        audience:
          "The access token has an invalid audience: ARM accepts only tokens for 'https://management.azure.com/'.",
      };
      throw new HttpError(
        401,
        v.reason === 'expired' ? 'ExpiredAuthenticationToken' : 'InvalidAuthenticationToken',
        msg[v.reason] ?? 'The access token is invalid.',
        {
          'WWW-Authenticate': challenge.replace(
            "because of missing 'Authorization' header.",
            'because the access token is invalid.',
          ),
        },
      );
    }
    return v.claims;
  }

  /** 403 AuthorizationFailed unless the grants allow the caller the action at the scope. */
  function authorize(claims: Claims, action: string, scope: string): void {
    if (!deps.grants || deps.grants.allows(String(claims.oid ?? ''), action, scope)) return;
    throw new HttpError(
      403,
      'AuthorizationFailed',
      authorizationFailedMessage(String(claims.appid ?? claims.oid), String(claims.oid), action, scope),
    );
  }

  /**
   * A PUT that links a user-assigned identity or a subnet also needs .../assign/action on the identity
   * and .../join/action on the subnet (403 LinkedAuthorizationFailed otherwise).
   */
  function authorizeLinked(claims: Claims, scope: string, body: unknown): void {
    if (!deps.grants || !body || typeof body !== 'object') return;
    const b = body as { identity?: { userAssignedIdentities?: unknown }; properties?: { subnetIds?: unknown } };
    const linked = [
      ...Object.keys((b.identity?.userAssignedIdentities as object | undefined) ?? {}).map((id) => ({
        action: 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
        scope: id,
      })),
      ...(Array.isArray(b.properties?.subnetIds) ? (b.properties.subnetIds as Array<{ id?: unknown }>) : [])
        .filter((x) => typeof x?.id === 'string')
        .map((x) => ({ action: 'Microsoft.Network/virtualNetworks/subnets/join/action', scope: String(x.id) })),
    ];
    const missing = linked.filter((l) => !deps.grants?.allows(String(claims.oid ?? ''), l.action, l.scope));
    if (!missing.length) return;
    throw new HttpError(
      403,
      'LinkedAuthorizationFailed',
      linkedAuthorizationFailedMessage(
        String(claims.appid ?? claims.oid),
        String(claims.oid),
        'Microsoft.ContainerInstance/containerGroups/write',
        scope,
        missing,
      ),
    );
  }

  /**
   * ARM refuses an api-version the provider does not serve with 400 NoRegisteredProviderFound, naming
   * the versions and locations it does serve (azure-cli#30444, nebari-dev/nebari#2374 for the 400). A
   * value that is not a date-shaped version gets 400 InvalidApiVersionParameter (ansible-collections/
   * azure#188: "The api-version '…' is invalid. The supported versions are '…'.").
   */
  function checkApiVersion(url: URL): void {
    const v = url.searchParams.get('api-version') ?? '';
    if (SUPPORTED_API_VERSIONS.includes(v)) return;
    const list = SUPPORTED_API_VERSIONS.join(', ');
    if (!/^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?$/i.test(v)) {
      throw new HttpError(
        400,
        'InvalidApiVersionParameter',
        `The api-version '${v}' is invalid. The supported versions are '${list}'.`,
      );
    }
    const seg = url.pathname.split('/').filter(Boolean);
    const loc = seg.findIndex((x) => x.toLowerCase() === 'locations');
    const type = loc >= 0 && seg[loc + 2] ? `locations/${seg[loc + 2]}` : 'containerGroups';
    throw new HttpError(
      400,
      'NoRegisteredProviderFound',
      `No registered resource provider found for location '${normalizeLocation(deps.location)}' and API version '${v}' for type '${type}'. The supported api-versions are '${list}'. The supported locations are '${normalizeLocation(deps.location)}'.`,
    );
  }

  /** A job identity pulls only with AcrPull (or, ABAC mode, Repository Reader) on the registry. */
  function canPull(identityResourceId: string): boolean {
    const grants = deps.grants;
    const principal = deps.identities.byResource(identityResourceId)?.principalId;
    return !!grants && !!principal && grants.mayRead(principal, 'content');
  }

  function asyncOpHeaders(op: Operation): Record<string, string> {
    const url = `${deps.armEndpoint()}/subscriptions/${op.subscriptionId}/providers/Microsoft.ContainerInstance/locations/${normalizeLocation(op.location)}/operations/${op.id}?api-version=${OPERATION_API_VERSION}`;
    return { 'Azure-AsyncOperation': url };
  }

  function notFound(rg: string, name: string): HttpError {
    return new HttpError(
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.ContainerInstance/containerGroups/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
  }

  function transitioning(g: GroupRecord): HttpError {
    return new HttpError(
      409,
      'ContainerGroupTransitioning',
      `The container group '${g.name}' is still transitioning, please retry later.`,
    );
  }

  function checkResourceGroup(rg: string): void {
    if (deps.resourceGroups && !deps.resourceGroups.some((x) => x.toLowerCase() === rg.toLowerCase())) {
      throw new HttpError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
    }
  }

  function checkQuota(sub: string, name: string, cpu: number, memory: number, existing?: GroupRecord): void {
    const u = groups.usage(sub);
    const loc = deps.location;
    // Quota is 400 ContainerGroupQuotaReached with this message (recorded response quoted in
    // MicrosoftDocs/SupportArticles-docs, azure-container-instances "ContainerGroupQuotaReached");
    // 409 ServiceUnavailable is capacity, below.
    if (!existing && u.groups + 1 > deps.maxGroups) {
      throw new HttpError(
        400,
        'ContainerGroupQuotaReached',
        `Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'ContainerGroups' exceeded in region '${loc}'. Limit: '${deps.maxGroups}', Usage: '${u.groups}' Requested: '1'.`,
      );
    }
    const current =
      existing && (existing.state === 'Pending' || existing.state === 'Running') ? existing.spec.totalCpu : 0;
    if (u.cores - current + cpu > deps.maxCores) {
      throw new HttpError(
        400,
        'ContainerGroupQuotaReached',
        `Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'StandardCores' exceeded in region '${loc}'. Limit: '${deps.maxCores}', Usage: '${u.cores}' Requested: '${cpu}'.`,
      );
    }
    if (faults.take('capacity')) {
      throw new HttpError(
        409,
        'ServiceUnavailable',
        `The requested resource is not available in the location '${loc}' at this moment. Please retry with a different resource request or in another location. Resource requested: '${cpu}' CPU '${memory}' GB memory 'Linux' OS. Container group: '${name}'.`,
      );
    }
  }

  function listPage(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    items: GroupRecord[],
    hdrs: Record<string, string>,
  ): void {
    const skip = Math.max(0, Number(url.searchParams.get('$skiptoken') ?? '0') || 0);
    const top = Math.min(deps.pageSize, Number(url.searchParams.get('$top') ?? deps.pageSize) || deps.pageSize);
    const page = items.slice(skip, skip + top);
    const body: Record<string, unknown> = { value: page.map((g) => groups.render(g, false)) };
    if (skip + top < items.length) {
      const next = new URL(url.pathname, deps.armEndpoint());
      next.searchParams.set('api-version', url.searchParams.get('api-version') ?? '');
      next.searchParams.set('$skiptoken', String(skip + top));
      if (url.searchParams.get('$top')) next.searchParams.set('$top', String(top));
      body.nextLink = next.toString();
    }
    sendJson(res, 200, body, hdrs);
  }

  async function jsonBody(req: IncomingMessage): Promise<unknown> {
    const buf = await readBody(req);
    const ct = String(req.headers['content-type'] ?? '');
    if (buf.length && ct && !/json/i.test(ct)) {
      throw new HttpError(
        415,
        'UnsupportedMediaType',
        `The content media type '${ct}' is not supported. Only 'application/json' is supported.`,
      );
    }
    if (!buf.length) return undefined;
    try {
      return JSON.parse(buf.toString('utf8'));
    } catch (err) {
      throw new HttpError(
        400,
        'InvalidRequestContent',
        `The request content was invalid and could not be deserialized: '${(err as Error).message}'.`,
      );
    }
  }

  async function route(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    hdrs: Record<string, string>,
    claims: Claims,
  ): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const seg = decodeSegments(url.pathname);
    if (!eq(seg[0], 'subscriptions') || !seg[1]) {
      throw new HttpError(404, 'InvalidResourceType', `No route for '${method} ${url.pathname}'.`);
    }
    const sub = seg[1];
    const subScope = `/subscriptions/${sub}`;
    // /subscriptions/{s}/providers/Microsoft.ContainerInstance/...
    if (eq(seg[2], 'providers') && eq(seg[3], PROVIDER)) {
      if (eq(seg[4], 'containergroups') && seg.length === 5 && method === 'GET') {
        authorize(claims, 'Microsoft.ContainerInstance/containerGroups/read', subScope);
        return listPage(req, res, url, groups.list(sub), hdrs);
      }
      if (eq(seg[4], 'locations') && seg[5]) {
        const loc = seg[5];
        if (eq(seg[6], 'operations') && seg[7] && seg.length === 8 && method === 'GET') {
          // ARM checks the status read at the resource group of the operation's resource: a role on that
          // group suffices, one on the resource alone does not (MicrosoftDocs/azure-docs,
          // articles/azure-resource-manager/management/async-operations.md, "Permission for tracking
          // async status"). An unknown operation has no group: the subscription is the only scope left.
          const op = groups.operations.get(seg[7]);
          const known = op && op.subscriptionId.toLowerCase() === sub.toLowerCase();
          const rgOfOp = known
            ? /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+)\//i.exec(op.groupId)?.[1]
            : undefined;
          authorize(claims, 'Microsoft.ContainerInstance/locations/operations/read', rgOfOp ?? subScope);
          if (!op || !known) {
            throw new HttpError(404, 'OperationNotFound', `The operation '${seg[7]}' was not found.`);
          }
          // Shape of the recorded status (azure-sdk-for-js arm-containerinstance recordings,
          // recording_containergroups_create_test.json): id (the group), status, startTime, properties.events.
          const body: Record<string, unknown> = {
            id: op.groupId,
            status: op.status,
            startTime: op.startTime,
            properties: { events: op.events },
          };
          if (op.endTime) body.endTime = op.endTime;
          if (op.error) body.error = op.error;
          sendJson(res, 200, body, hdrs);
          return;
        }
        if (eq(seg[6], 'usages') && seg.length === 7 && method === 'GET') {
          authorize(claims, 'Microsoft.ContainerInstance/locations/usages/read', subScope);
          if (normalizeLocation(loc) !== normalizeLocation(deps.location)) {
            sendJson(res, 200, { value: [] }, hdrs);
            return;
          }
          const u = groups.usage(sub);
          const base = `/subscriptions/${sub}/providers/Microsoft.ContainerInstance/locations/${normalizeLocation(loc)}/usages`;
          sendJson(
            res,
            200,
            {
              value: [
                {
                  id: `${base}/ContainerGroups`,
                  unit: 'Count',
                  currentValue: u.groups,
                  limit: deps.maxGroups,
                  name: { value: 'ContainerGroups', localizedValue: 'Container Groups' },
                },
                {
                  id: `${base}/StandardCores`,
                  unit: 'Count',
                  currentValue: u.cores,
                  limit: deps.maxCores,
                  name: { value: 'StandardCores', localizedValue: 'Standard Cores' },
                },
              ],
            },
            hdrs,
          );
          return;
        }
      }
      throw new HttpError(
        404,
        'InvalidResourceType',
        `The resource type could not be found in the namespace 'Microsoft.ContainerInstance' for api version '${url.searchParams.get('api-version')}'.`,
      );
    }
    // /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups[/{name}[/...]]
    if (
      !eq(seg[2], 'resourcegroups') ||
      !seg[3] ||
      !eq(seg[4], 'providers') ||
      !eq(seg[5], PROVIDER) ||
      !eq(seg[6], 'containergroups')
    ) {
      throw new HttpError(404, 'InvalidResourceType', `No route for '${method} ${url.pathname}'.`);
    }
    const rg = seg[3];
    checkResourceGroup(rg);
    if (seg.length === 7) {
      if (method !== 'GET')
        throw new HttpError(405, 'MethodNotAllowed', `The method '${method}' is not allowed on a resource collection.`);
      authorize(claims, 'Microsoft.ContainerInstance/containerGroups/read', `${subScope}/resourceGroups/${rg}`);
      return listPage(req, res, url, groups.list(sub, rg), hdrs);
    }
    const name = seg[7] as string;
    const scope = `${subScope}/resourceGroups/${rg}/providers/Microsoft.ContainerInstance/containerGroups/${name}`;
    const action = groupAction(method, seg);
    if (action) authorize(claims, action, scope);
    if (method === 'GET') return groupRoute(req, res, url, hdrs, seg, sub, rg, name, claims);
    return locked(groups.idOf(sub, rg, name).toLowerCase(), () =>
      groupRoute(req, res, url, hdrs, seg, sub, rg, name, claims),
    );
  }

  /** The RBAC action of a request on one group (learn.microsoft.com permissions/containers: Microsoft.ContainerInstance). */
  function groupAction(method: string, seg: string[]): string | undefined {
    const base = 'Microsoft.ContainerInstance/containerGroups';
    if (seg.length === 8) {
      if (method === 'GET') return `${base}/read`;
      if (method === 'PUT' || method === 'PATCH') return `${base}/write`;
      if (method === 'DELETE') return `${base}/delete`;
      return undefined;
    }
    const verb = seg[8]?.toLowerCase();
    if (seg.length === 9 && method === 'POST' && (verb === 'stop' || verb === 'start' || verb === 'restart'))
      return `${base}/${verb}/action`;
    if (eq(seg[8], 'containers') && seg.length === 11) {
      const what = seg[10]?.toLowerCase();
      if (what === 'logs') return `${base}/containers/logs/read`;
      if (what === 'exec' || what === 'attach') return `${base}/containers/${what}/action`;
    }
    return undefined;
  }

  async function groupRoute(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    hdrs: Record<string, string>,
    seg: string[],
    sub: string,
    rg: string,
    name: string,
    claims: Claims,
  ): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const g = groups.find(sub, rg, name);
    const action = seg[8]?.toLowerCase();

    if (seg.length === 8) {
      if (method === 'PUT') {
        const body = await jsonBody(req);
        authorizeLinked(claims, groups.idOf(sub, rg, name), body);
        const spec = validateGroup(body, {
          name,
          location: deps.location,
          catalog: deps.catalog,
          registryHosts: deps.registryHosts(),
          anonymousPull: deps.anonymousPull,
          identityExists: (rid) => !!deps.identities.byResource(rid),
          ...(deps.grants ? { canPull: (rid: string) => canPull(rid) } : {}),
        });
        if (g) {
          const running = groups.inFlight(g);
          if (running && g.provisioningState !== 'Deleting' && groups.sameDefinition(g, spec)) {
            // A retried PUT while the group is still being created: the same operation, not a conflict.
            sendJson(res, 200, groups.render(g, true), { ...hdrs, ...asyncOpHeaders(running) });
            return;
          }
          if (groups.isTransitioning(g)) throw transitioning(g);
          const change = immutableChange(g.spec, spec);
          if (change) {
            // azure-compute-docs container-instances-update.md "Properties that require container
            // delete"; code and message as ARM returns them (MicrosoftDocs/azure-docs#31168, #38067).
            throw new HttpError(
              400,
              'InvalidContainerGroupUpdate',
              `The updates on container group '${g.name}' are invalid. If you are going to update the ${change.property} (old "${change.old}", new "${change.new}") for a container group, you must delete it first and then create a new one.`,
            );
          }
          checkQuota(sub, name, spec.totalCpu, spec.totalMemoryInGB, g);
          if (groups.sameDefinition(g, spec) && ['Stopped', 'Succeeded', 'Failed'].includes(g.state)) {
            // A stopped or terminated group is deployed again by a PUT of its own definition
            // (container-instances-update.md: "Once a container group is stopped (is in the Terminated
            // state) or deleted, the group is deployed as new").
            if (canonicalJson(g.spec.tags) !== canonicalJson(spec.tags)) groups.updateTags(g, spec.tags);
            const op = await groups.start(g);
            sendJson(res, 200, groups.render(g, true), { ...hdrs, ...asyncOpHeaders(op) });
            return;
          }
          const op = await groups.update(g, spec);
          sendJson(res, 200, groups.render(g, true), { ...hdrs, ...asyncOpHeaders(op) });
          return;
        }
        checkQuota(sub, name, spec.totalCpu, spec.totalMemoryInGB);
        const count = rateCheck('creates', sub, hdrs);
        const created = await groups.create(sub, rg, name, spec);
        count();
        sendJson(res, 201, groups.render(created.group, true), { ...hdrs, ...asyncOpHeaders(created.op) });
        return;
      }
      validateName(name);
      if (method === 'GET') {
        if (!g) throw notFound(rg, name);
        sendJson(res, 200, groups.render(g, true), hdrs);
        return;
      }
      if (method === 'PATCH') {
        if (!g) throw notFound(rg, name);
        const body = (await jsonBody(req)) as { tags?: unknown } | undefined;
        const tags = body?.tags;
        if (
          !tags ||
          typeof tags !== 'object' ||
          Array.isArray(tags) ||
          Object.values(tags).some((v) => typeof v !== 'string')
        ) {
          throw new HttpError(
            400,
            'InvalidRequestContent',
            "The request content was invalid: PATCH supports only 'tags' (an object of strings).",
          );
        }
        groups.updateTags(g, tags as Record<string, string>);
        sendJson(res, 200, groups.render(g, true), hdrs);
        return;
      }
      if (method === 'DELETE') {
        if (!g) {
          res.writeHead(204, hdrs);
          res.end();
          return;
        }
        if (g.provisioningState === 'Deleting') throw transitioning(g);
        const count = rateCheck('deletes', sub, hdrs);
        count();
        const body = groups.render(g, true);
        const op = await groups.delete(g);
        if (op) {
          (body.properties as Record<string, unknown>).provisioningState = 'Deleting';
          sendJson(res, 202, body, { ...hdrs, ...asyncOpHeaders(op) });
        } else {
          sendJson(res, 200, body, hdrs);
        }
        return;
      }
      throw new HttpError(405, 'MethodNotAllowed', `The method '${method}' is not allowed.`);
    }

    if (seg.length === 9 && method === 'POST' && (action === 'stop' || action === 'start' || action === 'restart')) {
      if (!g) throw notFound(rg, name);
      if (groups.isTransitioning(g)) throw transitioning(g);
      if (action === 'stop') {
        await groups.stop(g);
        res.writeHead(204, hdrs);
        res.end();
        return;
      }
      if (action === 'start') {
        if (g.state === 'Running' || g.state === 'Pending') {
          res.writeHead(204, hdrs);
          res.end();
          return;
        }
        checkQuota(sub, name, g.spec.totalCpu, g.spec.totalMemoryInGB, g);
        const op = await groups.start(g);
        sendJson(res, 202, undefined, { ...hdrs, ...asyncOpHeaders(op) });
        return;
      }
      if (g.state === 'Stopped') {
        throw new HttpError(
          409,
          'ContainerGroupStopped',
          `The container group '${g.name}' is stopped; start it instead of restarting it.`,
        );
      }
      await groups.restart(g);
      res.writeHead(204, hdrs);
      res.end();
      return;
    }

    if (eq(seg[8], 'containers') && seg[9] && seg.length === 11) {
      if (!g) throw notFound(rg, name);
      const c = seg[9];
      const sub2 = seg[10]?.toLowerCase();
      if (sub2 === 'logs' && method === 'GET') {
        const tailRaw = url.searchParams.get('tail');
        const tail = tailRaw === null ? undefined : Number(tailRaw);
        if (tail !== undefined && (!Number.isInteger(tail) || tail < 0))
          throw new HttpError(
            400,
            'InvalidTailParameter',
            `The 'tail' parameter '${tailRaw}' must be a non-negative integer.`,
          );
        const timestamps = url.searchParams.get('timestamps') === 'true';
        sendJson(res, 200, { content: groups.logs(g, c, tail, timestamps) }, hdrs);
        return;
      }
      if ((sub2 === 'exec' || sub2 === 'attach') && method === 'POST') {
        throw new HttpError(
          400,
          'OperationNotSupported',
          `'${sub2}' needs a WebSocket session, which this emulator does not provide; read the logs instead.`,
        );
      }
    }
    throw new HttpError(404, 'InvalidResourceType', `No route for '${method} ${url.pathname}'.`);
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', deps.armEndpoint());
    const hdrs = armHeaders(req);
    try {
      if (url.pathname.startsWith('/_emulator/')) {
        if (!isLoopback(req.socket.remoteAddress))
          throw new HttpError(403, 'Forbidden', 'The admin API is loopback-only.');
        await deps.admin(req, res, url.pathname);
        return;
      }
      const lat = faults.current.latencyMs;
      if (lat > 0) await new Promise((r) => setTimeout(r, lat));
      const claims = authenticate(req);
      if (!url.searchParams.get('api-version')) {
        throw new HttpError(
          400,
          'MissingApiVersionParameter',
          'The api-version query parameter (?api-version=) is required for all requests.',
        );
      }
      checkApiVersion(url);
      const method = req.method ?? 'GET';
      const th = faults.take('throttle', method);
      if (th) {
        const after = th.retryAfterSeconds ?? 1;
        const kind = method === 'GET' ? 'read' : method === 'DELETE' ? 'delete' : 'write';
        throw new HttpError(
          429,
          'SubscriptionRequestsThrottled',
          `Number of '${kind}' requests for subscription '${decodeSegments(url.pathname)[1] ?? ''}' actor '' exceeded. Please try again after '${after}' seconds after additional tooltip. Please refer to https://aka.ms/arm-throttling`,
          th.omitRetryAfter ? {} : { 'Retry-After': String(after) },
        );
      }
      const t5 = faults.take('transient5xx', method);
      if (t5) {
        const status = t5.status ?? 500;
        throw new HttpError(
          status,
          status === 503 ? 'ServiceUnavailable' : status === 502 ? 'BadGateway' : 'InternalServerError',
          'The server encountered an internal error. Please retry the request. (injected transient fault)',
        );
      }
      await route(req, res, url, hdrs, claims);
    } catch (err) {
      if (err instanceof HttpError) {
        const body: Record<string, unknown> = { code: err.code, message: err.message };
        if (err.target) body.target = err.target;
        if (err.status >= 500 || err.status === 429 || err.status === 401)
          deps.log.info({ status: err.status, code: err.code, method: req.method, path: url.pathname }, 'ARM error');
        else deps.log.debug({ status: err.status, code: err.code, path: url.pathname }, 'ARM error');
        sendJson(res, err.status, { error: body }, { ...hdrs, ...err.headers });
        return;
      }
      deps.log.error({ err }, 'ARM handler failed');
      sendJson(
        res,
        500,
        { error: { code: 'InternalServerError', message: 'An internal error occurred in the emulator.' } },
        hdrs,
      );
    }
  };
}
