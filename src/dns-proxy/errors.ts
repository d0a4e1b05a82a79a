/** Stable codes of the errors a DNS proxy configuration can have; each maps to one user-facing text. */
export type DnsProxyErrorCode =
  /** `Must specify EGRESS_DNS_PROXY_DESTINATION` (CONTRACT), also for an empty or unreadable file. */
  | 'DESTINATION_UNSPECIFIED'
  /** Both EGRESS_DNS_PROXY_DESTINATION and EGRESS_DNS_PROXY_DESTINATION_FILE are set. */
  | 'DESTINATION_BOTH_SET'
  /** `Bad destination '<line>'` (CONTRACT): a line of no known form, a bad address or name. */
  | 'DESTINATION_INVALID'
  /** `Invalid port: <port>, must be in the range 1 to 65535` (CONTRACT). */
  | 'PORT_INVALID'
  /** `Proxy port <port> already used, must be unique for each destination` (CONTRACT). */
  | 'PORT_IN_USE'
  /** A destination's port is the admin port. */
  | 'PORT_IS_ADMIN_PORT'
  /** A tuning variable (timeouts, TTL bounds, admin port, ...) has a bad value. */
  | 'SETTING_INVALID';

/** One problem in a configuration: a stable code, the exact user-facing text, and its line if any. */
export interface DnsProxyError {
  readonly code: DnsProxyErrorCode;
  readonly message: string;
  /** 1-based line of the destination list the error is about. */
  readonly line?: number;
}

/** The result of a parser: a value, or every problem found (in check order). */
export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly errors: DnsProxyError[] };

/**
 * Builds a DnsProxyError.
 *
 * @param code the stable code
 * @param message the exact text a user sees
 * @param line the 1-based list line, when the error is about one
 */
export function dnsProxyError(code: DnsProxyErrorCode, message: string, line?: number): DnsProxyError {
  return line === undefined ? { code, message } : { code, message, line };
}

/**
 * Formats problems the way `--check` and the reload log report them: `<origin>:<line>: <text>` for
 * a line of the list, the plain text otherwise.
 *
 * @param errors the problems, in check order
 * @param origin where the list came from: a file path or `EGRESS_DNS_PROXY_DESTINATION`
 * @returns one line per problem
 * @example formatErrors(errors, '/cm/destination') // ["/cm/destination:3: Bad destination 'x'"]
 */
export function formatErrors(errors: readonly DnsProxyError[], origin: string): string[] {
  return errors.map((error) =>
    error.line === undefined ? error.message : `${origin}:${error.line}: ${error.message}`,
  );
}
