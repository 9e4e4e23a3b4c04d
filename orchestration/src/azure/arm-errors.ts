// Classifies Azure SDK failures into our coded errors: what is retryable (throttling, 5xx,
// network, capacity), what is not, and a clear message. LRO failures are plain Errors whose message
// carries the code ("The long-running operation has failed. <code>. <message>"); synchronous ARM
// errors are RestErrors with statusCode and code (azure-emulation.md §2.3, §2.7).
import { JOB_ERROR_CODES } from '../contracts';
import { CodedError, jobError } from '../errors';
import { scrubText } from '../logging';

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
  name?: string;
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
const CAPACITY_RE = /not available in the location|ServiceUnavailable|quota .* exceeded|ContainerGroupQuotaReached/i;

export function classifyArmError(err: unknown, what: string): CodedError {
  if (err instanceof CodedError) return err;
  const e = (err ?? {}) as RestErrorLike;
  const message = scrubText(String(e.message ?? err)).slice(0, 600);
  const status = e.statusCode;
  const code = e.code;
  if (e.name === 'AbortError') return jobError(JOB_ERROR_CODES.transient, `${what}: timed out`, true);
  if (status === 409 && code === 'ServiceUnavailable') {
    const quota = /quota/i.test(message);
    return jobError(
      quota ? JOB_ERROR_CODES.quotaExceeded : JOB_ERROR_CODES.capacityUnavailable,
      `${what}: ${message}`,
      true,
    );
  }
  if (status === 409 && code === 'ContainerGroupTransitioning')
    return jobError(JOB_ERROR_CODES.transient, `${what}: ${message}`, true);
  if (status === 429)
    return jobError(JOB_ERROR_CODES.armThrottled, `${what}: throttled by ARM (${code ?? '429'})`, true);
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
