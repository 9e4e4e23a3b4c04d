// Azure RBAC for the emulator (--grants FILE): which principal may do which action at which scope, so
// a missing role assignment fails here as it fails in Azure instead of only after deployment.
// Without a grants file every authenticated caller may do everything (the emulator's old behaviour).
import { readFileSync } from 'node:fs';
import type { Identity, IdentityRegistry } from './identities';

/**
 * The grants document, kept close to what a deployment creates (a role definition's actions /
 * notActions assigned to a principal at a scope) so that it can be extracted from compiled Bicep.
 */
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
    doc: GrantsFile,
    private readonly identities: IdentityRegistry,
    source = 'grants',
  ) {
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
