// Cancelling many jobs of a tenant at once (an array's tasks, from its parent's orchestration and from
// the API's cancel of the parent): the cancel record of every entry in one ledger compare-and-swap,
// then the cancel event on each job to wake it now. Best effort per job: the record is what a job's
// own checks read, the event only hurries it.
import { EVENTS } from '../contracts';
import type { Logger } from '../logging';
import { raiseEach, type Raise } from '../parallel';
import type { Admission } from './service';

/** Answers how many jobs were told, by the ledger's record or by the event. */
export async function cancelJobs(
  deps: { admission: Pick<Admission, 'cancelAll'>; raise: Raise; log: Pick<Logger, 'warn'> },
  tenant: string,
  instanceIds: readonly string[],
  requestedAt: string,
): Promise<number> {
  if (instanceIds.length === 0) return 0;
  const recorded = await deps.admission.cancelAll(tenant, instanceIds).then(
    () => true,
    (e: unknown) => {
      deps.log.warn(
        { tenant, jobs: instanceIds.length, err: (e as Error).message },
        'cancels not recorded in the ledger',
      );
      return false;
    },
  );
  const reached = await raiseEach(deps.raise, deps.log, instanceIds, EVENTS.cancel, { requestedAt }, 'cancel event', {
    tenant,
  });
  return recorded ? instanceIds.length : reached.length;
}
