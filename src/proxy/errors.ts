/** Why the proxy did not (fully) serve a request; each maps to one HTTP status. */
export type ProxyErrorCode =
  | 'BAD_REQUEST'
  | 'DENIED'
  | 'SELF'
  | 'NAME_NOT_RESOLVED'
  | 'CONNECT_REFUSED'
  | 'UNREACHABLE'
  | 'CONNECT_TIMEOUT'
  | 'RESPONSE_TIMEOUT'
  | 'UPSTREAM_ERROR';

/** A proxy failure with a stable code, the text for the client, and the original cause. */
export class ProxyError extends Error {
  readonly code: ProxyErrorCode;
  constructor(code: ProxyErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ProxyError';
    this.code = code;
  }
}

/**
 * The one mapping from proxy errors to HTTP statuses: denied 403 (as squid; not 407, which breaks
 * clients when no Proxy-Authenticate follows), unresolvable or unreachable 502, timeouts 504.
 *
 * @param code the error's code
 * @returns the status
 */
export function statusFor(code: ProxyErrorCode): number {
  switch (code) {
    case 'BAD_REQUEST':
      return 400;
    case 'DENIED':
    case 'SELF':
      return 403;
    case 'CONNECT_TIMEOUT':
    case 'RESPONSE_TIMEOUT':
      return 504;
    case 'NAME_NOT_RESOLVED':
    case 'CONNECT_REFUSED':
    case 'UNREACHABLE':
    case 'UPSTREAM_ERROR':
      return 502;
  }
}

/**
 * Classifies a socket error of a connection attempt to a destination.
 *
 * @param error the error from net.connect
 * @returns the proxy error code
 */
export function connectErrorCode(error: NodeJS.ErrnoException): ProxyErrorCode {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'CONNECT_REFUSED';
    case 'ETIMEDOUT':
      return 'CONNECT_TIMEOUT';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'UNREACHABLE';
    default:
      return 'UPSTREAM_ERROR';
  }
}

/** Why the proxy could not start: the proxy port or the admin port could not be listened on. */
export type ProxyStartErrorCode = 'LISTEN_FAILED' | 'ADMIN_LISTEN_FAILED';

/**
 * The proxy could not start. Its message is the one line a user reads (the CLI prints it and
 * exits 1, src/cli/http-proxy.ts); the socket error is its `cause`.
 */
export class ProxyStartError extends Error {
  readonly code: ProxyStartErrorCode;
  constructor(code: ProxyStartErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ProxyStartError';
    this.code = code;
  }
}
