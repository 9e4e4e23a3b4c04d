// The ContainerGroups port (what the controller needs of ACI) and its ARM implementation over
// @azure/arm-containerinstance. Calls never block on long-running operations: the orchestrator
// waits with durable timers, so an activity only issues the request and returns.
import { ContainerInstanceManagementClient, type ContainerGroup } from '@azure/arm-containerinstance';
import type { TokenCredential } from '@azure/identity';
import type { GroupView } from '../contracts';
import type { ContainerGroups, GroupSpec, GroupSummary } from '../ports';
import { classifyArmError, isNotFound } from './arm-errors';

/** Name of the one container in each job group. */
export const CONTAINER_NAME = 'job';

export interface AciOptions {
  endpoint: string;
  subscriptionId: string;
  resourceGroup: string;
  requestTimeoutMs?: number;
}

/**
 * The ARM body of a job's group. Spot and pull-mode groups get no `ipAddress` and no container
 * ports: ACI refuses Spot with inbound connectivity (400
 * SpotPriorityContainerGroupNotSupportedForInboundConnectivity, "Remove the network-related
 * properties": learn.microsoft.com troubleshoot/azure/azure-container-instances/configuration-setup/
 * error-codes-spot-container-creation) and supports no virtual network for Spot (MicrosoftDocs/azure-docs
 * articles/container-instances/container-instances-spot-containers-overview.md, "Unsupported features").
 */
export function buildContainerGroup(spec: GroupSpec): ContainerGroup {
  const spot = spec.priority === 'Spot';
  const inbound = !spec.noInbound && !spot;
  const subnetId = spot ? undefined : spec.subnetId;
  const env = [
    ...Object.entries(spec.env).map(([name, value]) => ({ name, value })),
    ...Object.entries(spec.secureEnv).map(([name, secureValue]) => ({ name, secureValue })),
  ];
  return {
    location: spec.location,
    tags: spec.tags,
    identity: { type: 'UserAssigned', userAssignedIdentities: { [spec.jobIdentityResourceId]: {} } },
    osType: 'Linux',
    restartPolicy: 'Never',
    priority: spot ? 'Spot' : 'Regular',
    imageRegistryCredentials: [{ server: spec.registryServer, identity: spec.jobIdentityResourceId }],
    ...(inbound
      ? { ipAddress: { type: subnetId ? 'Private' : 'Public', ports: [{ port: spec.port, protocol: 'TCP' }] } }
      : {}),
    ...(subnetId ? { subnetIds: [{ id: subnetId }] } : {}),
    containers: [
      {
        name: CONTAINER_NAME,
        image: spec.image,
        ...(spec.command ? { command: spec.command } : {}),
        ...(inbound ? { ports: [{ port: spec.port, protocol: 'TCP' }] } : {}),
        environmentVariables: env,
        resources: {
          requests: {
            cpu: spec.cpu,
            memoryInGB: spec.memoryGb,
          },
        },
      },
    ],
  };
}

export function toGroupView(g: ContainerGroup | undefined): GroupView {
  if (!g) return { exists: false, provisioningState: null, state: null, ip: null, container: null, lastEvent: null };
  const c = g.containers?.[0];
  const cur = c?.instanceView?.currentState;
  const events = [...(g.instanceView?.events ?? []), ...(c?.instanceView?.events ?? [])];
  const last = events.filter((e) => e.type === 'Warning' || /fail|error|kill/i.test(e.name ?? '')).pop();
  const iso = (d: Date | string | undefined): string | null =>
    d === undefined ? null : d instanceof Date ? d.toISOString() : String(d);
  return {
    exists: true,
    provisioningState: g.provisioningState ?? null,
    state: g.instanceView?.state ?? null,
    ip: g.ipAddress?.ip ?? null,
    container: c
      ? {
          state: cur?.state ?? null,
          exitCode: cur?.exitCode ?? null,
          detailStatus: cur?.detailStatus ?? null,
          restartCount: c.instanceView?.restartCount ?? 0,
          startTime: iso(cur?.startTime),
          finishTime: iso(cur?.finishTime),
        }
      : null,
    lastEvent: last ? `${last.name ?? ''}: ${last.message ?? ''}`.slice(0, 500) : null,
  };
}

export function createArmContainerGroups(credential: TokenCredential, opts: AciOptions): ContainerGroups {
  const client = new ContainerInstanceManagementClient(credential, opts.subscriptionId, {
    endpoint: opts.endpoint,
    credentialScopes: ['https://management.azure.com/.default'],
    // The SDK absorbs short throttling (Retry-After) and 5xx; longer outages surface to the
    // orchestrator, whose callActivityWithRetry backs off durably.
    retryOptions: { maxRetries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 8000 },
  });
  const rg = opts.resourceGroup;
  const requestOptions = { timeout: opts.requestTimeoutMs ?? 30_000 };
  return {
    async create(spec) {
      try {
        // begin* sends the PUT (and one poll); provisioning is observed later through get().
        await client.containerGroups.beginCreateOrUpdate(rg, spec.name, buildContainerGroup(spec), {
          requestOptions,
          updateIntervalInMs: 1000,
        });
      } catch (e) {
        throw classifyArmError(e, `create container group ${spec.name}`);
      }
    },
    async get(name) {
      try {
        return toGroupView(await client.containerGroups.get(rg, name, { requestOptions }));
      } catch (e) {
        if (isNotFound(e)) return toGroupView(undefined);
        throw classifyArmError(e, `get container group ${name}`);
      }
    },
    async list() {
      const out: GroupSummary[] = [];
      try {
        for await (const g of client.containerGroups.listByResourceGroup(rg, { requestOptions })) {
          if (g.name) out.push({ name: g.name, tags: g.tags ?? {}, provisioningState: g.provisioningState ?? null });
        }
      } catch (e) {
        throw classifyArmError(e, 'list container groups');
      }
      return out;
    },
    async delete(name) {
      try {
        await client.containerGroups.beginDelete(rg, name, { requestOptions, updateIntervalInMs: 1000 });
        return true;
      } catch (e) {
        if (isNotFound(e)) return false;
        throw classifyArmError(e, `delete container group ${name}`);
      }
    },
    async stop(name) {
      try {
        await client.containerGroups.stop(rg, name, { requestOptions });
        return true;
      } catch (e) {
        if (isNotFound(e)) return false;
        throw classifyArmError(e, `stop container group ${name}`);
      }
    },
    async restart(name) {
      try {
        await client.containerGroups.beginRestart(rg, name, { requestOptions, updateIntervalInMs: 1000 });
      } catch (e) {
        throw classifyArmError(e, `restart container group ${name}`);
      }
    },
    async logs(name) {
      try {
        const r = await client.containers.listLogs(rg, name, CONTAINER_NAME, { requestOptions });
        return r.content ?? '';
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw classifyArmError(e, `logs of container group ${name}`);
      }
    },
  };
}
