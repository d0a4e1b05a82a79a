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
