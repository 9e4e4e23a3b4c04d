// ARM routing for Microsoft.ContainerInstance: case-insensitive, decoded path segments → the
// subscription's list, the location routes, a resource group's list and the routes of one group
// (writes to one group serialised, reads not), each behind its RBAC check.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, sendJson } from '../http-util';
import type { GroupRecord } from '../container-groups';
import type { Claims } from '../tokens';
import { authorize, groupAction } from './authorize';
import type { ArmContext, ArmDeps } from './context';
import { groupRoute } from './group-routes';
import { checkResourceGroup } from './limits';
import { operationStatus, usages } from './location-routes';
import { decodeSegments, eq, PROVIDER } from './request';

export async function route(
  ctx: ArmContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  hdrs: Record<string, string>,
  claims: Claims,
): Promise<void> {
  const { deps } = ctx;
  const { groups } = deps;
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
      authorize(deps, claims, 'Microsoft.ContainerInstance/containerGroups/read', subScope);
      return listPage(deps, req, res, url, groups.list(sub), hdrs);
    }
    if (eq(seg[4], 'locations') && seg[5]) {
      const loc = seg[5];
      if (eq(seg[6], 'operations') && seg[7] && seg.length === 8 && method === 'GET') {
        return operationStatus(deps, res, hdrs, claims, sub, seg[7]);
      }
      if (eq(seg[6], 'usages') && seg.length === 7 && method === 'GET') {
        return usages(deps, res, hdrs, claims, sub, loc);
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
  checkResourceGroup(deps, rg);
  if (seg.length === 7) {
    if (method !== 'GET')
      throw new HttpError(405, 'MethodNotAllowed', `The method '${method}' is not allowed on a resource collection.`);
    authorize(deps, claims, 'Microsoft.ContainerInstance/containerGroups/read', `${subScope}/resourceGroups/${rg}`);
    return listPage(deps, req, res, url, groups.list(sub, rg), hdrs);
  }
  const name = seg[7] as string;
  const scope = `${subScope}/resourceGroups/${rg}/providers/Microsoft.ContainerInstance/containerGroups/${name}`;
  const action = groupAction(method, seg);
  if (action) authorize(deps, claims, action, scope);
  if (method === 'GET') return groupRoute(ctx, req, res, url, hdrs, seg, sub, rg, name, claims);
  return ctx.locked(groups.idOf(sub, rg, name).toLowerCase(), () =>
    groupRoute(ctx, req, res, url, hdrs, seg, sub, rg, name, claims),
  );
}

function listPage(
  deps: ArmDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  items: GroupRecord[],
  hdrs: Record<string, string>,
): void {
  const { groups } = deps;
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
