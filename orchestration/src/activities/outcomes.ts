// How an activity reports failure: non-retryable failures are RETURNED as Outcome errors so that
// callActivityWithRetry does not retry them; retryable ones are THROWN with the coded error embedded
// in the message, and the orchestrator's retry policy backs off durably.
import { encodeJobError, JOB_ERROR_CODES, type JobError, type JobErrorCode, type Outcome } from '../contracts';
import { CodedError, jobError } from '../errors';
import { scrubText } from '../logging';

export const fail = (e: JobError): Outcome<never> => ({ ok: false, error: e });
export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });

/** The job's stored input is gone (checked at resolve and read at the start): it cannot run. */
export const inputMissing = (blob: string): Outcome<never> =>
  fail({
    code: JOB_ERROR_CODES.inputMissing,
    message: `The job's input (${blob}) is missing from storage; submit the job again.`,
  });

/** Throws retryable errors (with the code embedded), returns non-retryable ones. */
export function settle<T>(e: unknown, fallbackCode: JobErrorCode): Outcome<T> {
  const coded =
    e instanceof CodedError ? e : jobError(fallbackCode, scrubText(e instanceof Error ? e.message : String(e)), true);
  if (coded.retryable) throw new Error(encodeJobError(coded.toJobError()));
  return fail(coded.toJobError());
}

/** Throws any failure as retryable (for activities whose failures are all transient). */
export async function retryable<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const coded =
      e instanceof CodedError
        ? e
        : jobError(
            JOB_ERROR_CODES.transient,
            `${what}: ${scrubText(e instanceof Error ? e.message : String(e))}`,
            true,
          );
    throw new Error(encodeJobError({ ...coded.toJobError(), retryable: true }));
  }
}
