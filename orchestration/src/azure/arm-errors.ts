// Classifies Azure SDK failures into our coded errors: what is retryable (throttling, 5xx,
// network, capacity), what waits for quota, what is not retryable, and a clear message. LRO failures
// are plain Errors whose message carries the code ("The long-running operation has failed. <code>.
// <message>"); synchronous ARM errors are RestErrors with statusCode, code and response headers
// (azure-emulation.md §2.3, §2.7).
//
// Azure's contract (each case has a row in tests/unit/orchestration-arm-errors.test.ts):
// - 400 ContainerGroupQuotaReached: the subscription's regional quota (ContainerGroups, StandardCores,
//   StandardSpotCores, …) is used up. Recorded response: "Resource type 'Microsoft.ContainerInstance/
//   containerGroups' container group quota 'P100Cores' exceeded in region 'westus2'. Limit: '0', Usage:
//   '0' Requested: '1'." (MicrosoftDocs/SupportArticles-docs, azure-container-instances
//   "ContainerGroupQuotaReached" article). It clears when our own groups go away: wait, like the
//   controller's own quota cap.
// - 409 ServiceUnavailable "The requested resource is not available in the location …": regional
//   capacity, also for a request above the standard size (azure-compute-docs,
//   container-instances-troubleshooting.md "Resource not available"). Retry with back-off, then fail.
// - 429 with Retry-After (seconds or an HTTP date; also retry-after-ms / x-ms-retry-after-ms): ARM
//   throttling (learn.microsoft.com azure-resource-manager/management/request-limits-and-throttling).
//   The SDK already waits as told for a few tries; what is left surfaces with the wait it asked for.
import { JOB_ERROR_CODES } from '../contracts';
import { CodedError, jobError } from '../errors';
import { scrubText } from '../logging';

interface HeadersLike {
  get(name: string): string | undefined | null;
}

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
  name?: string;
  response?: { headers?: HeadersLike | Record<string, string | undefined> };
}

const NETWORK_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
  'REQUEST_SEND_ERROR',
];
const CAPACITY_RE = /not available in the location|ServiceUnavailable/i;
const QUOTA_RE = /ContainerGroupQuotaReached|container group quota .* exceeded/i;

function header(e: RestErrorLike, name: string): string | undefined {
  const h = e.response?.headers;
  if (!h) return undefined;
  if (typeof (h as HeadersLike).get === 'function') return (h as HeadersLike).get(name) ?? undefined;
  const rec = h as Record<string, string | undefined>;
  const key = Object.keys(rec).find((k) => k.toLowerCase() === name);
  return key ? rec[key] : undefined;
}

/** The wait a 429/503 asked for, in whole seconds (at least 1), or undefined when it named none. */
export function retryAfterSeconds(err: unknown, nowMs = Date.now()): number | undefined {
  const e = (err ?? {}) as RestErrorLike;
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = Number(header(e, name));
    if (header(e, name) !== undefined && Number.isFinite(ms) && ms >= 0) return Math.max(1, Math.ceil(ms / 1000));
  }
  const raw = header(e, 'retry-after')?.trim();
  if (!raw) return undefined;
  if (/^\d+$/.test(raw)) return Math.max(1, Number(raw));
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(1, Math.ceil((at - nowMs) / 1000));
}

export function classifyArmError(err: unknown, what: string): CodedError {
  if (err instanceof CodedError) return err;
  const e = (err ?? {}) as RestErrorLike;
  const message = scrubText(String(e.message ?? err)).slice(0, 600);
  const status = e.statusCode;
  const code = e.code;
  if (e.name === 'AbortError') return jobError(JOB_ERROR_CODES.transient, `${what}: timed out`, true);
  if (status === 400 && code === 'ContainerGroupQuotaReached')
    return jobError(JOB_ERROR_CODES.quotaExceeded, `${what}: regional ACI quota reached: ${message}`, true);
  if (status === 409 && code === 'ServiceUnavailable') {
    // Azure reports quota as 400 ContainerGroupQuotaReached; a 409 naming a quota is kept as quota.
    const quota = QUOTA_RE.test(message);
    return jobError(
      quota ? JOB_ERROR_CODES.quotaExceeded : JOB_ERROR_CODES.capacityUnavailable,
      `${what}: ${message}`,
      true,
    );
  }
  if (status === 409 && code === 'ContainerGroupTransitioning')
    return jobError(JOB_ERROR_CODES.transient, `${what}: ${message}`, true);
  if (status === 429) {
    const after = retryAfterSeconds(err);
    return new CodedError({
      code: JOB_ERROR_CODES.armThrottled,
      message: `${what}: throttled by ARM (${code ?? '429'})${after === undefined ? '' : `; retry after ${after} s`}`,
      retryable: true,
      ...(after === undefined ? {} : { headers: { 'Retry-After': String(after) } }),
    });
  }
  if (status !== undefined && status >= 500)
    return jobError(JOB_ERROR_CODES.transient, `${what}: ${status} ${code ?? ''} ${message}`.trim(), true);
  if (status === 408) return jobError(JOB_ERROR_CODES.transient, `${what}: request timeout`, true);
  if (status === undefined && code && NETWORK_CODES.includes(code))
    return jobError(JOB_ERROR_CODES.transient, `${what}: network error ${code}`, true);
  if (status === 400 && code === 'InaccessibleImage')
    return jobError(JOB_ERROR_CODES.imageNotFound, `${what}: ${message}`, false);
  if (status === 400 && code === 'RegistryErrorResponse')
    return jobError(JOB_ERROR_CODES.transient, `${what}: ${message}`, true);
  if (status === undefined && /long-running operation has failed/i.test(message)) {
    if (QUOTA_RE.test(message)) return jobError(JOB_ERROR_CODES.quotaExceeded, `${what}: ${message}`, true);
    if (CAPACITY_RE.test(message)) return jobError(JOB_ERROR_CODES.capacityUnavailable, `${what}: ${message}`, true);
    return jobError(JOB_ERROR_CODES.provisioningFailed, `${what}: ${message}`, false);
  }
  if (status === undefined && !code) return jobError(JOB_ERROR_CODES.transient, `${what}: ${message}`, true);
  return jobError(
    JOB_ERROR_CODES.armError,
    `${what}: ${status ?? ''} ${code ?? ''} ${message}`.replace(/\s+/g, ' ').trim(),
    false,
  );
}

export const isNotFound = (err: unknown): boolean => (err as RestErrorLike | undefined)?.statusCode === 404;
