// Every error the host reports is created here with a stable code, so callers (and tests) can
// match on `code` rather than on message text.
export type HostErrorCode =
  | 'AppNotFound'
  | 'AppInvalid'
  | 'MainNotFound'
  | 'DuplicateFunction'
  | 'NoFunctions'
  | 'RouteNotFound'
  | 'MethodNotAllowed'
  | 'BodyTooLarge'
  | 'BadRequest'
  | 'FunctionError'
  | 'FunctionNotFound'
  | 'InstanceNotFound'
  | 'InstanceExists'
  | 'InstanceCompleted'
  | 'NotSupported'
  | 'InternalError';

export class HostError extends Error {
  readonly code: HostErrorCode;
  readonly status: number;

  constructor(code: HostErrorCode, message: string, status = 500, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HostError';
    this.code = code;
    this.status = status;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The JSON body every error response carries (never a stack trace). */
export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}
