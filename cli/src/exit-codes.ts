// The CLI's exit codes, in one place because scripts branch on them and cli/README.md documents them.
export const EXIT = {
  /** The command did what was asked (for `submit --wait`: the job succeeded). */
  ok: 0,
  /** The job ended failed, canceled or timed out (`submit --wait`, `wait`). */
  jobNotSucceeded: 1,
  /** Bad flags, arguments, input file or configuration: nothing was sent. */
  usage: 2,
  /** The API answered with an error (4xx other than auth, 5xx) or could not be reached. */
  api: 3,
  /** The API refused the key: 401 (missing or unknown key) or 403 (not allowed). */
  auth: 4,
  /** The API has no such route yet (an older controller): the feature is not available there. */
  unavailable: 5,
  /** Interrupted by Ctrl-C while waiting; the job itself goes on. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one message (plus details) and turns into its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly details: string[] = [],
    /** The API's error, when the API sent one (printed as-is with --json). */
    readonly apiError?: { status: number; code: string; message: string; details?: unknown },
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string, details: string[] = []): CliError =>
  new CliError(message, EXIT.usage, details);
