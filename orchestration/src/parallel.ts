// Fanning work out to many items: a bounded number at a time, and one event raised on many
// orchestrations, each on its own (best effort: every receiver has a fallback of its own). Shared by
// the activities, the API and the sweeper, which fan out to tasks, dependents and running jobs.
import type { Logger } from './logging';

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export type Raise = (instanceId: string, event: string, data: unknown) => Promise<void>;

/**
 * Raises `event` with `data` on every instance, each on its own; a failure is logged as "`what` not
 * raised" with `fields` and does not stop the others. Answers the instances it reached.
 */
export async function raiseEach(
  raise: Raise,
  log: Pick<Logger, 'warn'>,
  instanceIds: readonly string[],
  event: string,
  data: unknown,
  what: string,
  fields: Record<string, unknown> = {},
): Promise<string[]> {
  const results = await Promise.allSettled(instanceIds.map((id) => raise(id, event, data)));
  const reached: string[] = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') reached.push(instanceIds[i]!);
    else log.warn({ ...fields, instanceId: instanceIds[i], err: (r.reason as Error).message }, `${what} not raised`);
  });
  return reached;
}
