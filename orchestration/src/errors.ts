// Every error the app creates is built here, with a stable code (tests assert codes, not
// messages), an HTTP status, and whether retrying can help. Errors cross the activity →
// orchestrator boundary as text, so a coded error can be serialized into its message and parsed back.
import { encodeJobError, type JobError, type JobErrorCode } from './contracts';

export interface FieldProblem {
  field: string;
  message: string;
}

export const API_ERROR_CODES = {
  validationFailed: 'ValidationFailed',
  invalidJson: 'InvalidJson',
  unsupportedMediaType: 'UnsupportedMediaType',
  unauthorized: 'Unauthorized',
  notFound: 'NotFound',
  idempotencyConflict: 'IdempotencyKeyReused',
  jobAlreadyFinished: 'JobAlreadyFinished',
  notFinished: 'NotFinished',
  payloadTooLarge: 'PayloadTooLarge',
  queueFull: 'QueueFull',
  serviceUnavailable: 'ServiceUnavailable',
  noResult: 'NoResult',
  commandNotAllowed: 'CommandNotAllowed',
  forbidden: 'Forbidden',
  operatorApiDisabled: 'OperatorApiDisabled',
  internal: 'InternalError',
} as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[keyof typeof API_ERROR_CODES];

/**
 * Every code the app creates: the API's and the jobs' (contracts/job-errors.ts). A code that is not
 * in one of the two tables does not compile. (A job may also end with the batch agent's own code
 * when it refuses its input — passed through from the agent, not created here.)
 */
export type ErrorCode = ApiErrorCode | JobErrorCode;

export class CodedError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly details?: FieldProblem[];
  /** Extra response headers (e.g. Retry-After). */
  readonly headers?: Record<string, string>;

  constructor(init: {
    code: ErrorCode;
    message: string;
    httpStatus?: number;
    retryable?: boolean;
    details?: FieldProblem[];
    headers?: Record<string, string>;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'CodedError';
    this.code = init.code;
    this.httpStatus = init.httpStatus ?? 500;
    this.retryable = init.retryable ?? false;
    if (init.details) this.details = init.details;
    if (init.headers) this.headers = init.headers;
  }

  toJobError(): JobError {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.details ? { details: this.details } : {}),
    };
  }

  /** The API's error body. Never a stack trace. */
  toBody(): { error: { code: string; message: string; details?: FieldProblem[] } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

// ---- API errors -----------------------------------------------------------------------------

export const validationFailed = (
  details: FieldProblem[],
  message = 'The request is invalid; see details for every field.',
): CodedError => new CodedError({ code: API_ERROR_CODES.validationFailed, httpStatus: 400, message, details });

export const invalidJson = (why: string): CodedError =>
  new CodedError({ code: API_ERROR_CODES.invalidJson, httpStatus: 400, message: `The body is not valid JSON: ${why}` });

export const unsupportedMediaType = (): CodedError =>
  new CodedError({
    code: API_ERROR_CODES.unsupportedMediaType,
    httpStatus: 415,
    message: 'Send the body as application/json.',
  });

export const unauthorized = (): CodedError =>
  new CodedError({
    code: API_ERROR_CODES.unauthorized,
    httpStatus: 401,
    message: 'Missing or invalid API key: send "Authorization: Bearer <key>" or "x-api-key: <key>".',
    headers: { 'WWW-Authenticate': 'Bearer realm="aci-batch"' },
  });

export const notFound = (what = 'resource'): CodedError =>
  new CodedError({ code: API_ERROR_CODES.notFound, httpStatus: 404, message: `No such ${what}.` });

export const idempotencyConflict = (): CodedError =>
  new CodedError({
    code: API_ERROR_CODES.idempotencyConflict,
    httpStatus: 409,
    message: 'This Idempotency-Key was already used with a different request body.',
  });

export const jobAlreadyFinished = (state: string): CodedError =>
  new CodedError({
    code: API_ERROR_CODES.jobAlreadyFinished,
    httpStatus: 409,
    message: `The job already finished (${state}).`,
  });

export const notFinished = (state: string): CodedError =>
  new CodedError({
    code: API_ERROR_CODES.notFinished,
    httpStatus: 409,
    message: `The job has no result yet (state ${state}).`,
  });

export const payloadTooLarge = (limit: number): CodedError =>
  new CodedError({
    code: API_ERROR_CODES.payloadTooLarge,
    httpStatus: 413,
    message: `The body exceeds ${limit} bytes.`,
  });

export const queueFull = (limit: number, retryAfterSeconds: number): CodedError =>
  new CodedError({
    code: API_ERROR_CODES.queueFull,
    httpStatus: 429,
    retryable: true,
    message: `The tenant already has ${limit} queued jobs (maxQueuedJobs); retry later.`,
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });

export const serviceUnavailable = (message: string, retryAfterSeconds = 5): CodedError =>
  new CodedError({
    code: API_ERROR_CODES.serviceUnavailable,
    httpStatus: 503,
    retryable: true,
    message,
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });

export const commandNotAllowed = (tenant: string): CodedError =>
  new CodedError({
    code: API_ERROR_CODES.commandNotAllowed,
    httpStatus: 403,
    message: `Tenant ${tenant} may not set "command" (tenants file: allowCommand); submit without it to run what the image runs.`,
  });

export const internal = (message = 'Internal error.'): CodedError =>
  new CodedError({ code: API_ERROR_CODES.internal, httpStatus: 500, message });

// ---- job errors (activities and orchestrator) -------------------------------------------------

export const jobError = (
  code: JobErrorCode,
  message: string,
  retryable = false,
  details?: FieldProblem[],
): CodedError => new CodedError({ code, message, retryable, httpStatus: 500, ...(details ? { details } : {}) });

// ---- crossing the activity boundary ------------------------------------------------------------

/** Message of an Error thrown by an activity so that the orchestrator can recover the code. */
export const encodeForActivity = (err: CodedError): string => encodeJobError(err.toJobError());
