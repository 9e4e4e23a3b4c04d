// The routes of one container group: PUT (create, update, redeploy), GET, PATCH (tags), DELETE, and
// the stop/start/restart actions, with the status codes and async-operation headers ACI answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, sendJson } from '../http-util';
import { canonicalJson } from '../image-catalog';
import type { Claims } from '../tokens';
import { immutableChange, validateGroup, validateName } from '../validation';
import { authorizeLinked, canPull } from './authorize';
import { containerRoute } from './container-routes';
import type { ArmContext } from './context';
import { checkQuota } from './limits';
import { asyncOpHeaders, eq, jsonBody, notFound, transitioning } from './request';

export async function groupRoute(
  ctx: ArmContext,
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
  const { deps } = ctx;
  const { groups } = deps;
  const method = (req.method ?? 'GET').toUpperCase();
  const g = groups.find(sub, rg, name);
  const action = seg[8]?.toLowerCase();

  if (seg.length === 8) {
    if (method === 'PUT') {
      const body = await jsonBody(req);
      authorizeLinked(deps, claims, groups.idOf(sub, rg, name), body);
      const spec = validateGroup(body, {
        name,
        location: deps.location,
        catalog: deps.catalog,
        registryHosts: deps.registryHosts(),
        anonymousPull: deps.anonymousPull,
        identityExists: (rid) => !!deps.identities.byResource(rid),
        ...(deps.grants ? { canPull: (rid: string) => canPull(deps, rid) } : {}),
      });
      if (g) {
        const running = groups.inFlight(g);
        if (running && g.provisioningState !== 'Deleting' && groups.sameDefinition(g, spec)) {
          // A retried PUT while the group is still being created: the same operation, not a conflict.
          sendJson(res, 200, groups.render(g, true), { ...hdrs, ...asyncOpHeaders(deps.armEndpoint(), running) });
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
        checkQuota(deps, sub, name, spec.totalCpu, spec.totalMemoryInGB, g);
        if (groups.sameDefinition(g, spec) && ['Stopped', 'Succeeded', 'Failed'].includes(g.state)) {
          // A stopped or terminated group is deployed again by a PUT of its own definition
          // (container-instances-update.md: "Once a container group is stopped (is in the Terminated
          // state) or deleted, the group is deployed as new").
          if (canonicalJson(g.spec.tags) !== canonicalJson(spec.tags)) groups.updateTags(g, spec.tags);
          const op = await groups.start(g);
          sendJson(res, 200, groups.render(g, true), { ...hdrs, ...asyncOpHeaders(deps.armEndpoint(), op) });
          return;
        }
        const op = await groups.update(g, spec);
        sendJson(res, 200, groups.render(g, true), { ...hdrs, ...asyncOpHeaders(deps.armEndpoint(), op) });
        return;
      }
      checkQuota(deps, sub, name, spec.totalCpu, spec.totalMemoryInGB);
      const count = ctx.rateCheck('creates', sub, hdrs);
      const created = await groups.create(sub, rg, name, spec);
      count();
      sendJson(res, 201, groups.render(created.group, true), {
        ...hdrs,
        ...asyncOpHeaders(deps.armEndpoint(), created.op),
      });
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
      const count = ctx.rateCheck('deletes', sub, hdrs);
      count();
      const body = groups.render(g, true);
      const op = await groups.delete(g);
      if (op) {
        (body.properties as Record<string, unknown>).provisioningState = 'Deleting';
        sendJson(res, 202, body, { ...hdrs, ...asyncOpHeaders(deps.armEndpoint(), op) });
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
      checkQuota(deps, sub, name, g.spec.totalCpu, g.spec.totalMemoryInGB, g);
      const op = await groups.start(g);
      sendJson(res, 202, undefined, { ...hdrs, ...asyncOpHeaders(deps.armEndpoint(), op) });
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
    if (containerRoute(deps, res, url, hdrs, method, g, seg[9], seg[10])) return;
  }
  throw new HttpError(404, 'InvalidResourceType', `No route for '${method} ${url.pathname}'.`);
}
