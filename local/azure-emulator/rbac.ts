// Azure RBAC for the emulator (--grants FILE): which principal may do which action at which scope, so
// a missing role assignment fails here as it fails in Azure instead of only after deployment.
// Without a grants file every authenticated caller may do everything (the emulator's old behaviour).
import { readFileSync } from 'node:fs';
import type { Identity, IdentityRegistry } from './identities';

/**
 * The grants document, kept close to what a deployment creates (a role definition's actions /
 * notActions assigned to a principal at a scope) so that it can be extracted from compiled Bicep.
 */
/**
 * The deployed grants as scripts/deployed-grants.ts writes them from the compiled Bicep (bicep/README.md
 * "Deployed grants"): principals and scopes are symbolic ('controller', resource group 'jobs', …) and are
 * placed on the emulator's own resources (see toGrantsFile).
 */
export interface DeployedGrantsFile {
  source: string;
  grants: Array<{
    principal: string;
    role: string;
    permissions: { actions: string[]; notActions: string[]; dataActions: string[]; notDataActions: string[] } | null;
    scope: { resourceGroup: string; resourceType?: string; identity?: string };
    repositories?: string | null;
    deployedWhen?: string | null;
  }>;
  /** emulator placement (optional): resource group names and identity names of the symbolic principals */
  resourceGroups?: Record<string, string>;
  principals?: Record<string, string>;
  registry?: string;
  appIdentities?: string[];
}

export interface GrantsFile {
  /** resource id of the emulated registry: the scope AcrPull must cover (default: see DEFAULT_REGISTRY) */
  registry?: string;
  /** the identities the app's identity endpoint serves (name, client id, principal id or resource id); default: every known one */
  appIdentities?: string[];
  assignments: Array<{
    /** principal id, client id, identity name or identity resource id */
    principal: string;
    /** informative: the role's name */
    role?: string;
    /** resource id the assignment covers, with everything below it */
    scope: string;
    /** action patterns; `*` matches any run of characters ("Microsoft.ContainerInstance/containerGroups/*") */
    actions: string[];
    notActions?: string[];
  }>;
}

// An action pattern as a regular expression: a star is any run of characters, and a segment that is
// only a star may also be empty: Managed Identity Operator's "userAssignedIdentities/<star>/assign/action"
// grants "userAssignedIdentities/assign/action", the action ARM checks.
function pattern(p: string): RegExp {
  const esc = (x: string) => x.replace(/[.+?^${}()|[\]\\/]/g, '\\$&');
  const body = p
    .split('/*/')
    .map((part) => part.split('*').map(esc).join('.*'))
    .join('(?:/.*)?/');
  return new RegExp(`^${body}$`, 'i');
}

/** Scope `outer` contains `inner` (same resource or an ancestor), compared segment-wise, case-insensitively. */
export function scopeCovers(outer: string, inner: string): boolean {
  const a = outer.toLowerCase().split('/').filter(Boolean);
  const b = inner.toLowerCase().split('/').filter(Boolean);
  return a.length <= b.length && a.every((s, i) => s === b[i]);
}

interface Assignment {
  principalId: string;
  scope: string;
  actions: RegExp[];
  notActions: RegExp[];
}

export class Grants {
  readonly registry: string;
  private readonly assignments: Assignment[];
  private readonly served?: Set<string>;

  constructor(
    input: GrantsFile | DeployedGrantsFile,
    private readonly identities: IdentityRegistry,
    source = 'grants',
  ) {
    const doc = isDeployed(input) ? toGrantsFile(input, identities, source) : input;
    if (!doc || typeof doc !== 'object' || !Array.isArray(doc.assignments)) {
      throw new Error(
        `${source}: expected {"assignments": [{"principal", "scope", "actions": [...]}, ...]} (see local/azure-emulator/README.md, RBAC)`,
      );
    }
    this.registry =
      doc.registry ??
      `/subscriptions/${identities.subscriptionId}/resourceGroups/aci-batch/providers/Microsoft.ContainerRegistry/registries/local`;
    this.assignments = doc.assignments.map((a, i) => {
      const where = `${source}: assignments[${i}]`;
      if (typeof a?.principal !== 'string' || !a.principal)
        throw new Error(`${where}.principal: a principal is required`);
      if (typeof a.scope !== 'string' || !a.scope.startsWith('/'))
        throw new Error(`${where}.scope: a resource id starting with '/' is required`);
      if (!Array.isArray(a.actions) || !a.actions.every((x) => typeof x === 'string'))
        throw new Error(`${where}.actions: an array of action patterns is required`);
      return {
        principalId: this.principalId(a.principal),
        scope: a.scope,
        actions: a.actions.map(pattern),
        notActions: (a.notActions ?? []).map(pattern),
      };
    });
    if (doc.appIdentities) this.served = new Set(doc.appIdentities.map((x) => this.principalId(x)));
  }

  static load(file: string, identities: IdentityRegistry): Grants {
    let doc: GrantsFile;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8')) as GrantsFile;
    } catch (err) {
      throw new Error(`--grants ${file}: not readable JSON (${(err as Error).message})`);
    }
    return new Grants(doc, identities, file);
  }

  /** A principal named by name, client id, principal id or resource id → its principal (object) id. */
  private principalId(ref: string): string {
    const r = ref.toLowerCase();
    const all: Identity[] = [this.identities.systemAssigned, ...this.identities.known()];
    const hit = all.find(
      (i) =>
        i.name.toLowerCase() === r ||
        i.clientId.toLowerCase() === r ||
        i.principalId.toLowerCase() === r ||
        i.resourceId?.toLowerCase() === r,
    );
    return (hit?.principalId ?? r).toLowerCase();
  }

  /**
   * May the principal read an image's content (pull) or metadata from the registry? AcrPull's
   * registries/pull/read, or the ABAC-mode data actions of Container Registry Repository Reader
   * (learn.microsoft.com container-registry-rbac-abac-repository-permissions.md).
   */
  mayRead(principalId: string, what: 'content' | 'metadata'): boolean {
    return (
      this.allows(principalId, 'Microsoft.ContainerRegistry/registries/pull/read', this.registry) ||
      this.allows(principalId, `Microsoft.ContainerRegistry/registries/repositories/${what}/read`, this.registry)
    );
  }

  /** Azure's rule: allowed when some assignment at or above the scope has the action and does not exclude it. */
  allows(principalId: string, action: string, scope: string): boolean {
    const p = principalId.toLowerCase();
    return this.assignments.some(
      (a) =>
        a.principalId === p &&
        scopeCovers(a.scope, scope) &&
        a.actions.some((re) => re.test(action)) &&
        !a.notActions.some((re) => re.test(action)),
    );
  }

  /** The identity endpoint serves only the app's identities (all known ones unless appIdentities says). */
  serves(identity: Identity): boolean {
    if (this.served) return this.served.has(identity.principalId.toLowerCase());
    return (
      identity.principalId === this.identities.systemAssigned.principalId ||
      this.identities.known().some((i) => i.principalId === identity.principalId)
    );
  }
}

/** ARM's 403 for a missing action (learn.microsoft.com role-based-access-control/troubleshooting.md). */
export function authorizationFailedMessage(clientId: string, objectId: string, action: string, scope: string): string {
  return `The client '${clientId}' with object id '${objectId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`;
}

/**
 * ARM's 403 when the caller may write the resource but not use a resource it links to (a user-assigned
 * identity needs .../assign/action, a subnet .../join/action); same troubleshooting page.
 */
export function linkedAuthorizationFailedMessage(
  clientId: string,
  objectId: string,
  action: string,
  scope: string,
  linked: Array<{ action: string; scope: string }>,
): string {
  return `The client '${clientId}' with object id '${objectId}' has permission to perform action '${action}' on scope '${scope}'; however, it does not have permission to perform action(s) '${linked.map((l) => l.action).join(',')}' on the linked scope(s) '${linked.map((l) => l.scope).join(',')}' (respectively) or the linked scope(s) are invalid.`;
}

function isDeployed(doc: unknown): doc is DeployedGrantsFile {
  return !!doc && typeof doc === 'object' && Array.isArray((doc as DeployedGrantsFile).grants);
}

/**
 * Deployed grants → concrete assignments on the emulator's resources: resource group 'jobs' →
 * aci-batch-jobs (where the stack puts groups and identities), 'app' → aci-batch; an identity scope →
 * that identity's resource id; the registry → `registry`; any other resource type → every resource of
 * that type in the group. Principals: controller → aci-batch-controller, job → aci-batch-jobs; roles of
 * services the emulator does not serve (permissions null) are left out, and conditions (deployedWhen,
 * per-repository ABAC) are not evaluated: every listed grant counts, for every repository.
 */
export function toGrantsFile(doc: DeployedGrantsFile, identities: IdentityRegistry, source = 'grants'): GrantsFile {
  const sub = `/subscriptions/${identities.subscriptionId}`;
  const groupsOf: Record<string, string> = { jobs: 'aci-batch-jobs', app: 'aci-batch', ...(doc.resourceGroups ?? {}) };
  const names: Record<string, string> = {
    controller: 'aci-batch-controller',
    job: 'aci-batch-jobs',
    ...(doc.principals ?? {}),
  };
  const registry =
    doc.registry ?? `${sub}/resourceGroups/${groupsOf.app}/providers/Microsoft.ContainerRegistry/registries/local`;
  const identityId = (who: string) => {
    const name = names[who] ?? who;
    return (
      identities.known().find((i) => i.name === name)?.resourceId ??
      `${sub}/resourceGroups/${groupsOf.app}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`
    );
  };
  const assignments: GrantsFile['assignments'] = [];
  doc.grants.forEach((g, i) => {
    if (!g.permissions) return;
    const rg = groupsOf[g.scope?.resourceGroup];
    if (!rg)
      throw new Error(
        `${source}: grants[${i}].scope.resourceGroup '${g.scope?.resourceGroup}' is not one of ${Object.keys(groupsOf).join(', ')}`,
      );
    const type = g.scope.resourceType;
    const scope = !type
      ? `${sub}/resourceGroups/${rg}`
      : type.toLowerCase() === 'microsoft.containerregistry/registries'
        ? registry
        : type.toLowerCase() === 'microsoft.managedidentity/userassignedidentities' && g.scope.identity
          ? identityId(g.scope.identity)
          : `${sub}/resourceGroups/${rg}/providers/${type}`;
    assignments.push({
      principal: names[g.principal] ?? g.principal,
      role: g.role,
      scope,
      actions: [...g.permissions.actions, ...g.permissions.dataActions],
      notActions: [...g.permissions.notActions, ...g.permissions.notDataActions],
    });
  });
  return { registry, appIdentities: doc.appIdentities ?? [names.controller as string], assignments };
}
