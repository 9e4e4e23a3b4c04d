// Request plumbing and the error shapes every ARM route shares: decoded path segments, the JSON body,
// the Azure-AsyncOperation header, 404 ResourceNotFound and 409 ContainerGroupTransitioning.
import type { IncomingMessage } from 'node:http';
import { HttpError, readBody } from '../http-util';
import type { GroupRecord, Operation } from '../container-groups';
import { normalizeLocation } from '../validation';

export const PROVIDER = 'microsoft.containerinstance';
const OPERATION_API_VERSION = '2018-06-01';

export function decodeSegments(path: string): string[] {
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

export function eq(a: string | undefined, b: string): boolean {
  return (a ?? '').toLowerCase() === b;
}

export function asyncOpHeaders(armEndpoint: string, op: Operation): Record<string, string> {
  const url = `${armEndpoint}/subscriptions/${op.subscriptionId}/providers/Microsoft.ContainerInstance/locations/${normalizeLocation(op.location)}/operations/${op.id}?api-version=${OPERATION_API_VERSION}`;
  return { 'Azure-AsyncOperation': url };
}

export function notFound(rg: string, name: string): HttpError {
  return new HttpError(
    404,
    'ResourceNotFound',
    `The Resource 'Microsoft.ContainerInstance/containerGroups/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

export function transitioning(g: GroupRecord): HttpError {
  return new HttpError(
    409,
    'ContainerGroupTransitioning',
    `The container group '${g.name}' is still transitioning, please retry later.`,
  );
}

export async function jsonBody(req: IncomingMessage): Promise<unknown> {
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
