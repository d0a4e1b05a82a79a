/** The Kubernetes source's error type, and the small text helpers its files share. */
/** A request that failed: the HTTP status when the server answered, its Status message in the text. */
export class KubernetesApiError extends Error {
  override readonly name = 'KubernetesApiError';

  /**
   * @param message one line: `403 Forbidden: <the server's message>`, or what went wrong on the way
   * @param status the HTTP status, undefined when there was no answer
   */
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
