/**
 * An error a user must act on: the entry file prints its message as one plain line on stderr and
 * exits with its code. Commands throw it; only main.ts exits the process.
 */
export class ExitError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ExitError';
    this.exitCode = exitCode;
  }
}

/**
 * Whether `error` is an ExitError, also one thrown by a command bundled apart from main.ts (the
 * proxies' bundles each have their own copy of the class, so `instanceof` would not see it).
 */
export function isExitError(error: unknown): error is ExitError {
  return (
    error instanceof Error &&
    error.name === 'ExitError' &&
    typeof (error as Partial<ExitError>).exitCode === 'number'
  );
}
