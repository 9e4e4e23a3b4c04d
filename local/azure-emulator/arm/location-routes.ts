// The location routes: the status of an async operation (what pollers of Azure-AsyncOperation read)
// and the region's usages against the quota.
import type { ServerResponse } from 'node:http';
import { HttpError, sendJson } from '../http-util';
import type { Claims } from '../tokens';
import { normalizeLocation } from '../validation';
import { authorize } from './authorize';
import type { ArmDeps } from './context';

export function operationStatus(
  deps: ArmDeps,
  res: ServerResponse,
  hdrs: Record<string, string>,
  claims: Claims,
  sub: string,
  operationId: string,
): void {
  const { groups } = deps;
  const subScope = `/subscriptions/${sub}`;
  // ARM checks the status read at the resource group of the operation's resource: a role on that
  // group suffices, one on the resource alone does not (MicrosoftDocs/azure-docs,
  // articles/azure-resource-manager/management/async-operations.md, "Permission for tracking
  // async status"). An unknown operation has no group: the subscription is the only scope left.
  const op = groups.operations.get(operationId);
  const known = op && op.subscriptionId.toLowerCase() === sub.toLowerCase();
  const rgOfOp = known ? /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+)\//i.exec(op.groupId)?.[1] : undefined;
  authorize(deps, claims, 'Microsoft.ContainerInstance/locations/operations/read', rgOfOp ?? subScope);
  if (!op || !known) {
    throw new HttpError(404, 'OperationNotFound', `The operation '${operationId}' was not found.`);
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
}

export function usages(
  deps: ArmDeps,
  res: ServerResponse,
  hdrs: Record<string, string>,
  claims: Claims,
  sub: string,
  loc: string,
): void {
  const { groups } = deps;
  const subScope = `/subscriptions/${sub}`;
  authorize(deps, claims, 'Microsoft.ContainerInstance/locations/usages/read', subScope);
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
}
