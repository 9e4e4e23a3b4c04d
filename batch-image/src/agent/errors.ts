// Every error the agent answers with is created here, with a stable code: the controller and the
// tests branch on `code`, never on the message. Bodies follow the API's `{error:{code, message, details?}}`.

export interface FieldError {
  field: string;
  message: string;
}

export type AgentErrorCode =
  | 'Unauthorized'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'InvalidJson'
  | 'InvalidInput'
  | 'PayloadTooLarge'
  | 'AgentBusy'
  | 'NotRunning'
  | 'AlreadyFinished'
  | 'NotFinished'
  | 'ShuttingDown'
  | 'InternalError';

export class AgentError extends Error {
  override readonly name = 'AgentError';

  constructor(
    readonly status: number,
    readonly code: AgentErrorCode,
    message: string,
    readonly details?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  toBody(): { error: { code: AgentErrorCode; message: string; details?: FieldError[] } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export const unauthorized = (): AgentError =>
  new AgentError(401, 'Unauthorized', 'Missing or invalid bearer token.', undefined, { 'WWW-Authenticate': 'Bearer' });

export const notFound = (what: string): AgentError => new AgentError(404, 'NotFound', `${what} not found.`);

export const methodNotAllowed = (allowed: readonly string[]): AgentError =>
  new AgentError(405, 'MethodNotAllowed', `Use ${allowed.join(' or ')}.`, undefined, { Allow: allowed.join(', ') });

export const invalidJson = (reason: string): AgentError =>
  new AgentError(400, 'InvalidJson', `The request body is not valid JSON: ${reason}`);

export const invalidInput = (details: FieldError[]): AgentError =>
  new AgentError(
    400,
    'InvalidInput',
    details.length === 1
      ? `Invalid field ${details[0]?.field}: ${details[0]?.message}`
      : `${details.length} invalid fields: ${details.map((d) => d.field).join(', ')}`,
    details,
  );

export const payloadTooLarge = (limitBytes: number): AgentError =>
  new AgentError(413, 'PayloadTooLarge', `The request body exceeds ${limitBytes} bytes.`, undefined, {
    Connection: 'close',
  });

export const agentBusy = (currentJobId: string): AgentError =>
  new AgentError(409, 'AgentBusy', `This agent already runs job '${currentJobId}'; one agent runs one job.`);

export const notRunning = (): AgentError =>
  new AgentError(409, 'NotRunning', 'No job has been started; nothing to cancel.');

export const alreadyFinished = (state: string): AgentError =>
  new AgentError(409, 'AlreadyFinished', `The job already finished (${state}); nothing to cancel.`);

export const notFinished = (state: string): AgentError =>
  new AgentError(409, 'NotFinished', `The job has not finished yet (state: ${state}).`);

export const shuttingDown = (): AgentError =>
  new AgentError(503, 'ShuttingDown', 'The agent is shutting down.', undefined, { Connection: 'close' });

export const internalError = (): AgentError => new AgentError(500, 'InternalError', 'Internal agent error.');

/** The AbortError shape Node uses (DOMException name 'AbortError'), whatever class produced it. */
export function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
