// A container's routes: its logs (ACI's tail and timestamps parameters), and exec/attach, which need a
// WebSocket session this emulator does not provide.
import type { ServerResponse } from 'node:http';
import { HttpError, sendJson } from '../http-util';
import type { GroupRecord } from '../container-groups';
import type { ArmDeps } from './context';

/** Answers a container's route; false when there is none (the caller's 404). */
export function containerRoute(
  deps: ArmDeps,
  res: ServerResponse,
  url: URL,
  hdrs: Record<string, string>,
  method: string,
  g: GroupRecord,
  c: string,
  verb: string | undefined,
): boolean {
  const { groups } = deps;
  const sub2 = verb?.toLowerCase();
  if (sub2 === 'logs' && method === 'GET') {
    const tailRaw = url.searchParams.get('tail');
    const tail = tailRaw === null ? undefined : Number(tailRaw);
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 0))
      throw new HttpError(
        400,
        'InvalidTailParameter',
        `The 'tail' parameter '${tailRaw}' must be a non-negative integer.`,
      );
    const timestamps = url.searchParams.get('timestamps') === 'true';
    sendJson(res, 200, { content: groups.logs(g, c, tail, timestamps) }, hdrs);
    return true;
  }
  if ((sub2 === 'exec' || sub2 === 'attach') && method === 'POST') {
    throw new HttpError(
      400,
      'OperationNotSupported',
      `'${sub2}' needs a WebSocket session, which this emulator does not provide; read the logs instead.`,
    );
  }
  return false;
}
