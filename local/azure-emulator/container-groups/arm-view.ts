// What ARM shows of a group (secure values and passwords removed, instance views on GET) and what
// the admin API shows (processes, cgroups, usage).
import type { Cgroups } from '../cgroups';
import type { IdentityRegistry } from '../identities';
import { isAlive } from '../process-runner';
import type { GroupRecord } from './model';

export function renderGroup(
  g: GroupRecord,
  withInstanceView: boolean,
  identities: IdentityRegistry,
): Record<string, unknown> {
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
  // Spot groups are never assigned an address (container-instances-spot-containers-overview.md,
  // "Unsupported features"): their loopback lease only keeps their listeners apart on this machine.
  if (ipReq && g.spec.properties.priority !== 'Spot') {
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
      o.principalId = identities.systemAssigned.principalId;
      o.tenantId = identities.tenantId;
    }
    if (ident.userAssignedIdentities) {
      o.userAssignedIdentities = Object.fromEntries(
        Object.keys(ident.userAssignedIdentities).map((rid) => {
          const i = identities.byResource(rid);
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
export function inspectGroups(groups: GroupRecord[], cgroups: Cgroups): unknown[] {
  return groups.map((g) => ({
    id: g.id,
    name: g.name,
    // A Spot group has no address (ARM reports none); its loopback lease is shown apart.
    ip: g.spec.properties.priority === 'Spot' ? null : g.ip,
    loopback: g.ip,
    priority: g.spec.properties.priority ?? 'Regular',
    uid: g.uid ?? null,
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
        cpuUsageNs: rt.cgroup ? (cgroups.cpuUsageNs(rt.cgroup) ?? null) : null,
        cpuStat: rt.cgroup ? (cgroups.cpuStat(rt.cgroup) ?? null) : null,
        memory: rt.cgroup ? cgroups.memoryUsage(rt.cgroup) : null,
      };
    }),
  }));
}
