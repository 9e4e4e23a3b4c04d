// The RBAC hook (--grants): which action a request needs at which scope, the linked actions a PUT
// needs on the identities and subnets it names, and the pull right a job identity needs on the registry.
import { HttpError } from '../http-util';
import { authorizationFailedMessage, linkedAuthorizationFailedMessage } from '../rbac';
import type { Claims } from '../tokens';
import type { ArmDeps } from './context';
import { eq } from './request';

/** 403 AuthorizationFailed unless the grants allow the caller the action at the scope. */
export function authorize(deps: ArmDeps, claims: Claims, action: string, scope: string): void {
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
export function authorizeLinked(deps: ArmDeps, claims: Claims, scope: string, body: unknown): void {
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

/** A job identity pulls only with AcrPull (or, ABAC mode, Repository Reader) on the registry. */
export function canPull(deps: ArmDeps, identityResourceId: string): boolean {
  const grants = deps.grants;
  const principal = deps.identities.byResource(identityResourceId)?.principalId;
  return !!grants && !!principal && grants.mayRead(principal, 'content');
}

/** The RBAC action of a request on one group (learn.microsoft.com permissions/containers: Microsoft.ContainerInstance). */
export function groupAction(method: string, seg: string[]): string | undefined {
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
