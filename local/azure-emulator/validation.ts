// ARM/ACI validation of a container group PUT, answered synchronously with ACI's error codes.
import { HttpError } from './http-util';
import type { ImageCatalog } from './image-catalog';
import { parseImageReference } from './image-catalog';

export const MAX_GROUP_CPU = 4;
export const MAX_GROUP_MEMORY_GB = 16;
export const NAME_RULE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface EnvVar {
  name: string;
  value?: string;
  secureValue?: string;
}

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  ports: Array<{ port: number; protocol: string }>;
  env: EnvVar[];
  cpu: number;
  memoryInGB: number;
  /** local image: repository in the emulated registry */
  repository: string;
  reference: string;
}

export interface GroupSpec {
  location: string;
  tags: Record<string, string>;
  zones?: string[];
  identity?: { type: string; userAssignedIdentities?: Record<string, object> };
  /** the request's `properties`, kept to echo back (secrets stripped on output) */
  properties: Record<string, unknown>;
  containers: ContainerSpec[];
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  totalCpu: number;
  totalMemoryInGB: number;
}

export interface ValidationContext {
  name: string;
  location: string;
  catalog: ImageCatalog;
  /** host[:port] names under which the emulated registry is reachable */
  registryHosts: string[];
  anonymousPull: boolean;
  /** returns false when a user-assigned identity resource id is unknown (restricted identities) */
  identityExists: (resourceId: string) => boolean;
  /** with RBAC: whether a user-assigned identity may pull from the registry (AcrPull) */
  canPull?: (resourceId: string) => boolean;
}

const bad = (code: string, message: string, target?: string) => new HttpError(400, code, message, {}, target);

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function normalizeLocation(l: string): string {
  return l.replace(/\s+/g, '').toLowerCase();
}

export function validateName(name: string): void {
  if (!NAME_RULE.test(name) || name.includes('--')) {
    throw bad(
      'ContainerGroupNameInvalid',
      `The container group name '${name}' is invalid. The name must contain no more than 63 characters and only lowercase alphanumeric characters and '-'. It can not start or end with '-' and can not have '--'.`,
      'name',
    );
  }
}

export function validateGroup(body: unknown, ctx: ValidationContext): GroupSpec {
  const { name } = ctx;
  validateName(name);
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw bad(
      'InvalidRequestContent',
      'The request content was invalid and could not be deserialized: the body must be a JSON object.',
    );
  }
  const b = body as Record<string, unknown>;
  if (typeof b.location !== 'string' || !b.location) {
    throw bad('LocationRequired', 'The location property is required for this definition.', 'location');
  }
  if (normalizeLocation(b.location) !== normalizeLocation(ctx.location)) {
    throw bad(
      'LocationNotAvailableForResourceType',
      `The provided location '${b.location}' is not available for resource type 'Microsoft.ContainerInstance/containerGroups'. List of available regions for the resource type is '${ctx.location}'.`,
      'location',
    );
  }
  const props = b.properties as Record<string, unknown> | undefined;
  if (!props || typeof props !== 'object') {
    throw bad(
      'InvalidRequestContent',
      "The request content was invalid and could not be deserialized: 'properties' is required.",
      'properties',
    );
  }
  if (props.osType !== 'Linux') {
    if (props.osType === 'Windows')
      throw bad(
        'UnsupportedOsType',
        `The OS type 'Windows' of container group '${name}' is not supported by this (Linux) emulator.`,
        'properties.osType',
      );
    throw bad(
      'InvalidOsType',
      `The 'osType' of container group '${name}' must be 'Linux' or 'Windows'.`,
      'properties.osType',
    );
  }
  const restartPolicy = (props.restartPolicy ?? 'Always') as string;
  if (!['Always', 'OnFailure', 'Never'].includes(restartPolicy)) {
    throw bad(
      'InvalidRestartPolicy',
      `The restart policy '${restartPolicy}' of container group '${name}' is invalid. Allowed values: 'Always', 'OnFailure', 'Never'.`,
      'properties.restartPolicy',
    );
  }
  const sku = (props.sku ?? 'Standard') as string;
  if (!['Standard', 'Dedicated', 'Confidential'].includes(sku))
    throw bad('InvalidSku', `The sku '${sku}' is invalid.`, 'properties.sku');
  const priority = props.priority as string | undefined;
  if (priority !== undefined && priority !== 'Regular' && priority !== 'Spot') {
    throw bad(
      'PriorityNotSpecified',
      `The priority '${priority}' of container group '${name}' is invalid. Allowed values: 'Regular', 'Spot'.`,
      'properties.priority',
    );
  }

  const rawContainers = props.containers;
  if (!Array.isArray(rawContainers) || rawContainers.length === 0) {
    throw bad(
      'ContainerGroupContainersMissing',
      `The container group '${name}' must have at least one container.`,
      'properties.containers',
    );
  }
  if (rawContainers.length > 60)
    throw bad(
      'TooManyContainers',
      `The container group '${name}' has ${rawContainers.length} containers; at most 60 are allowed.`,
    );

  // Identities and registry credentials.
  const identity = b.identity as GroupSpec['identity'];
  const uamis = Object.keys(identity?.userAssignedIdentities ?? {});
  if (identity) {
    const t = String(identity.type ?? '');
    if (!['SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned', 'None'].includes(t)) {
      throw bad('InvalidIdentityType', `The identity type '${t}' is invalid.`, 'identity.type');
    }
    if (t.includes('UserAssigned') && uamis.length === 0) {
      throw bad(
        'BadRequest',
        "The 'userAssignedIdentities' property is required when the identity type includes 'UserAssigned'.",
        'identity.userAssignedIdentities',
      );
    }
    for (const id of uamis) {
      if (
        !/^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.managedidentity\/userassignedidentities\/[^/]+$/i.test(
          id,
        )
      ) {
        throw bad(
          'InvalidIdentityResourceId',
          `The user-assigned identity '${id}' is not a valid resource id.`,
          'identity.userAssignedIdentities',
        );
      }
      if (!ctx.identityExists(id)) {
        throw bad(
          'UserAssignedIdentityNotFound',
          `The user-assigned identity '${id}' of container group '${name}' was not found.`,
          'identity.userAssignedIdentities',
        );
      }
    }
  }
  const creds = (props.imageRegistryCredentials ?? []) as Array<Record<string, unknown>>;
  if (!Array.isArray(creds))
    throw bad('InvalidRequestContent', "The request content was invalid: 'imageRegistryCredentials' must be an array.");
  for (const c of creds) {
    if (typeof c.server !== 'string' || !c.server)
      throw bad(
        'InvalidImageRegistryCredential',
        `An image registry credential of container group '${name}' has no server.`,
      );
    if (c.username && c.identity) {
      throw bad(
        'AmbiguousImageResitryCredentialType',
        `The image registry credential '${c.server}' of container group '${name}' is invalid. Please set exactly one of username or identity`,
      );
    }
    if (c.identity) {
      const idRef = String(c.identity).toLowerCase();
      if (idRef === '[system]') {
        throw bad(
          'InvalidImageRegistryIdentity',
          `The system-assigned identity of container group '${name}' cannot be used to pull images; use a user-assigned identity.`,
        );
      }
      if (!uamis.some((u) => u.toLowerCase() === idRef)) {
        throw bad(
          'InvalidImageRegistryIdentity',
          `The identity in the 'imageRegistryCredentials' of container group '${name}' not found in container group identity list.`,
        );
      }
    }
  }

  // Containers.
  const containers: ContainerSpec[] = [];
  const names = new Set<string>();
  const allPorts = new Set<number>();
  let totalCpu = 0;
  let totalMem = 0;
  rawContainers.forEach((rc: unknown, i: number) => {
    const c = rc as { name?: unknown; properties?: Record<string, unknown> };
    const cname = typeof c?.name === 'string' ? c.name : '';
    const target = `properties.containers[${i}]`;
    if (!NAME_RULE.test(cname)) {
      throw bad(
        'InvalidContainerName',
        `The container name '${cname}' in container group '${name}' is invalid. The name must contain no more than 63 characters and only lowercase alphanumeric characters and '-'. It can not start or end with '-'.`,
        `${target}.name`,
      );
    }
    if (names.has(cname))
      throw bad(
        'DuplicateContainerName',
        `The container name '${cname}' is used more than once in container group '${name}'.`,
        `${target}.name`,
      );
    names.add(cname);
    const p = c.properties;
    if (!p || typeof p !== 'object')
      throw bad(
        'InvalidRequestContent',
        `The request content was invalid: container '${cname}' has no properties.`,
        `${target}.properties`,
      );
    const image = p.image;
    if (typeof image !== 'string' || !image)
      throw bad(
        'ContainerImageMissing',
        `The image of container '${cname}' in container group '${name}' is missing.`,
        `${target}.properties.image`,
      );
    const res = (p.resources as { requests?: Record<string, unknown>; limits?: Record<string, unknown> } | undefined)
      ?.requests;
    const cpu = num(res?.cpu);
    const mem = num(res?.memoryInGB);
    if (cpu === undefined || mem === undefined) {
      throw bad(
        'InvalidContainerResourceRequests',
        `The resource requests (cpu and memoryInGB) of container '${cname}' in container group '${name}' are required.`,
        `${target}.properties.resources.requests`,
      );
    }
    if (cpu <= 0 || mem <= 0 || Math.round(mem * 10) / 10 !== mem) {
      throw bad(
        'InvalidContainerResourceRequests',
        `The resource requests of container '${cname}' in container group '${name}' are invalid: cpu must be > 0 and memoryInGB > 0 in steps of 0.1. Requested: '${cpu}' CPU '${mem}' GB.`,
        `${target}.properties.resources.requests`,
      );
    }
    totalCpu += cpu;
    totalMem += mem;
    let command: string[] | undefined;
    if (p.command !== undefined) {
      if (!Array.isArray(p.command) || !p.command.every((x) => typeof x === 'string'))
        throw bad(
          'InvalidRequestContent',
          `The command of container '${cname}' must be an array of strings.`,
          `${target}.properties.command`,
        );
      command = p.command.length ? (p.command as string[]) : undefined;
    }
    const ports = ((p.ports ?? []) as Array<{ port?: unknown; protocol?: unknown }>).map((x) => {
      const port = num(x?.port);
      if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw bad(
          'InvalidContainerPorts',
          `The ports of container '${cname}' in container group '${name}' are invalid: ${JSON.stringify(x?.port)}.`,
          `${target}.properties.ports`,
        );
      }
      if (allPorts.has(port))
        throw bad(
          'DuplicateContainerPorts',
          `The port '${port}' is used by more than one container in container group '${name}'.`,
        );
      allPorts.add(port);
      return { port, protocol: typeof x.protocol === 'string' ? x.protocol : 'TCP' };
    });
    const env = ((p.environmentVariables ?? []) as Array<Record<string, unknown>>).map((e) => {
      if (!e || typeof e.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(e.name)) {
        throw bad(
          'InvalidEnvironmentVariable',
          `An environment variable name of container '${cname}' in container group '${name}' is invalid: ${JSON.stringify(e?.name)}.`,
          `${target}.properties.environmentVariables`,
        );
      }
      const v: EnvVar = { name: e.name };
      if (typeof e.value === 'string') v.value = e.value;
      if (typeof e.secureValue === 'string') v.secureValue = e.secureValue;
      return v;
    });
    const ref = parseImageReference(image);
    const hostOk = ref && ctx.registryHosts.includes(ref.server);
    const resolved = hostOk && ref ? ctx.catalog.resolve(ref.repository, ref.reference) : undefined;
    // With RBAC an identity credential works only if that identity has AcrPull on the registry: ACI then
    // answers InaccessibleImage as for any image it cannot pull (container-instances-troubleshooting.md).
    const hasCred =
      hostOk &&
      creds.some(
        (c) =>
          String(c.server).toLowerCase() === ref?.server &&
          (!c.identity || !ctx.canPull || ctx.canPull(String(c.identity))),
      );
    if (!ref || !resolved || (!hasCred && !ctx.anonymousPull)) {
      throw bad(
        'InaccessibleImage',
        `The image '${image}' in container group '${name}' is not accessible. Please check the image and registry credential.`,
      );
    }
    containers.push({
      name: cname,
      image,
      ports,
      env,
      cpu,
      memoryInGB: mem,
      repository: ref.repository,
      reference: ref.reference,
      ...(command ? { command } : {}),
    });
  });
  totalCpu = Math.round(totalCpu * 1000) / 1000;
  totalMem = Math.round(totalMem * 1000) / 1000;
  if (totalCpu > MAX_GROUP_CPU || totalMem > MAX_GROUP_MEMORY_GB) {
    // Above the standard size (Linux: 4 vCPU, 16 GB without a quota increase, azure-compute-docs
    // container-instances-resource-and-quota-limits.md) ACI answers as for no capacity: 409
    // ServiceUnavailable with this message (recorded in a Terraform log: '4' CPU '32' GB → this text;
    // container-instances-troubleshooting.md "Resource not available").
    throw new HttpError(
      409,
      'ServiceUnavailable',
      `The requested resource is not available in the location '${normalizeLocation(ctx.location)}' at this moment. Please retry with a different resource request or in another location. Resource requested: '${totalCpu}' CPU '${totalMem}' GB memory 'Linux' OS`,
    );
  }
  checkLimits(name, containers, rawContainers as Array<{ properties?: Record<string, unknown> }>, totalCpu, totalMem);
  const ip = props.ipAddress as { type?: string; ports?: Array<{ port?: unknown }> } | undefined;
  if (ip) {
    if (ip.type !== 'Public' && ip.type !== 'Private')
      throw bad('InvalidIpAddressType', `The IP address type '${ip.type}' is invalid.`, 'properties.ipAddress.type');
    for (const gp of ip.ports ?? []) {
      const port = num(gp?.port);
      if (port === undefined || !allPorts.has(port)) {
        throw bad(
          'InvalidIpAddressPorts',
          `The IP address port '${JSON.stringify(gp?.port)}' of container group '${name}' is not exposed by any container.`,
          'properties.ipAddress.ports',
        );
      }
    }
    if (priority === 'Spot' && ip.type === 'Public') {
      throw bad(
        'SpotPriorityContainerGroupNotSupportedForInboundConnectivity',
        `Container group '${name}' with 'Spot' priority does not support inbound connectivity (public IP address).`,
      );
    }
  }
  const tags = (b.tags ?? {}) as Record<string, string>;
  if (typeof tags !== 'object' || Array.isArray(tags) || Object.values(tags).some((v) => typeof v !== 'string')) {
    throw bad('InvalidTag', 'Tags must be an object of string values.', 'tags');
  }
  return {
    location: ctx.location,
    tags,
    ...(Array.isArray(b.zones) ? { zones: b.zones as string[] } : {}),
    ...(identity ? { identity } : {}),
    properties: props,
    containers,
    restartPolicy: restartPolicy as GroupSpec['restartPolicy'],
    totalCpu,
    totalMemoryInGB: totalMem,
  };
}

/**
 * `resources.limits` of each container: at least the container's request (400
 * ResourceLimitsLessThanRequests) and at most the group's total request (400
 * ContainerLimitGreaterThanContainerGroupTotalRequest). Codes and messages as ARM returns them
 * (docker-archive/compose-cli#357 and virtual-kubelet/azure-aci#149, both quoting ACI's 400s; the
 * rule: azure-compute-docs container-instances-container-groups.md "Resource usage").
 */
function checkLimits(
  group: string,
  containers: ContainerSpec[],
  raw: Array<{ properties?: Record<string, unknown> }>,
  totalCpu: number,
  totalMem: number,
): void {
  containers.forEach((c, i) => {
    const limits = (raw[i]?.properties?.resources as { limits?: unknown } | undefined)?.limits;
    if (limits === undefined || limits === null) return;
    const target = `properties.containers[${i}].properties.resources.limits`;
    const l = limits as Record<string, unknown>;
    if (
      typeof limits !== 'object' ||
      Array.isArray(limits) ||
      ['cpu', 'memoryInGB'].some((k) => l[k] !== undefined && (num(l[k]) ?? 0) <= 0)
    ) {
      throw bad(
        'InvalidContainerResourceLimits',
        `The resource limits of container '${c.name}' in container group '${group}' are invalid: cpu and memoryInGB must be numbers > 0.`,
        target,
      );
    }
    const cpu = num(l.cpu);
    const mem = num(l.memoryInGB);
    const requirement = JSON.stringify({
      requests: { memoryInGB: c.memoryInGB, cpu: c.cpu },
      limits: { ...(mem !== undefined ? { memoryInGB: mem } : {}), ...(cpu !== undefined ? { cpu } : {}) },
    });
    for (const [label, limit, request, total] of [
      ['Cpu', cpu, c.cpu, totalCpu],
      ['MemoryInGB', mem, c.memoryInGB, totalMem],
    ] as const) {
      if (limit === undefined) continue;
      if (limit < request) {
        throw bad(
          'ResourceLimitsLessThanRequests',
          `The resource requirement '${requirement}' in container '${c.name}' of contain group '${group}' is invalid. The '${label}' limit value must be greater than or equal to the request value.`,
          target,
        );
      }
      if (limit > total) {
        throw bad(
          'ContainerLimitGreaterThanContainerGroupTotalRequest',
          `The '${label}' limit '${limit}' in container '${c.name}' is greater than the total request '${total}' of container group '${group}'.`,
          target,
        );
      }
    }
  });
}

/**
 * The first property of an existing group that a PUT may not change: OS type, restart policy, a
 * container's CPU/memory/GPU, network profile (subnets) or zones (azure-compute-docs
 * container-instances-update.md, "Properties that require container delete"). Named as ARM names it
 * in InvalidContainerGroupUpdate ("the RestartPolicy (old "OnFailure", new "Always")").
 */
export function immutableChange(
  prev: GroupSpec,
  next: GroupSpec,
): { property: string; old: string; new: string } | undefined {
  const str = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  const diff = (property: string, a: unknown, b: unknown) =>
    str(a) === str(b) ? undefined : { property, old: str(a), new: str(b) };
  const requests = (s: GroupSpec, name: string) => {
    const raw = (s.properties.containers as Array<{ name?: string; properties?: Record<string, unknown> }>).find(
      (c) => c.name === name,
    );
    return ((raw?.properties?.resources as { requests?: Record<string, unknown> } | undefined)?.requests ?? {}) as {
      gpu?: unknown;
    };
  };
  const checks = [
    diff('OsType', prev.properties.osType, next.properties.osType),
    diff('RestartPolicy', prev.restartPolicy, next.restartPolicy),
    diff(
      'NetworkProfile',
      prev.properties.subnetIds ?? prev.properties.networkProfile,
      next.properties.subnetIds ?? next.properties.networkProfile,
    ),
    diff('Zones', prev.zones, next.zones),
  ];
  for (const c of next.containers) {
    const before = prev.containers.find((p) => p.name === c.name);
    if (!before) continue;
    checks.push(diff('Cpu', before.cpu, c.cpu), diff('MemoryInGB', before.memoryInGB, c.memoryInGB));
    checks.push(diff('Gpu', requests(prev, c.name).gpu, requests(next, c.name).gpu));
  }
  return checks.find((x) => x !== undefined);
}
