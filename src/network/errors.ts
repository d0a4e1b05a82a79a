import { getSystemErrorName } from 'node:util';

/**
 * Typed errors of the network layer. Every error has a stable `code` (an errno name such as `EEXIST`
 * where the kernel gave one) and, when it wraps a lower-level failure, that failure as `cause`.
 */

/** Base class of every error this module throws. */
export class NetworkError extends Error {
  /** A stable, machine-readable code: an errno name (`EEXIST`, `ENODEV`...) or an `ERR_` name. */
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NetworkError';
    this.code = code;
  }
}

/** A netlink request the kernel (or the socket) refused; `operation` says what was being done. */
export class NetlinkError extends NetworkError {
  /** What was being done, e.g. `add address 10.0.0.5/24 to interface index 3`. */
  readonly operation: string;
  constructor(operation: string, detail: string, code: string, options?: ErrorOptions) {
    super(`${operation}: ${detail} (${code})`, code, options);
    this.name = 'NetlinkError';
    this.operation = operation;
  }
}

/** EEXIST: the object (address, route, link) already exists. */
export class AlreadyExistsError extends NetlinkError {
  constructor(operation: string, detail = 'already exists', options?: ErrorOptions) {
    super(operation, detail, 'EEXIST', options);
    this.name = 'AlreadyExistsError';
  }
}

/** ENODEV: no interface with that index (or name). */
export class NoSuchDeviceError extends NetlinkError {
  constructor(operation: string, detail = 'no such device', options?: ErrorOptions) {
    super(operation, detail, 'ENODEV', options);
    this.name = 'NoSuchDeviceError';
  }
}

/** ENODEV for a lookup by name; the message names the interface. */
export class LinkNotFoundError extends NoSuchDeviceError {
  /** The interface name that was looked up. */
  readonly ifname: string;
  constructor(ifname: string, options?: ErrorOptions) {
    super(`look up interface '${ifname}'`, `interface '${ifname}' not found`, options);
    this.name = 'LinkNotFoundError';
    this.message = `interface '${ifname}' not found`;
    this.ifname = ifname;
  }
}

/** EPERM or EACCES: the process lacks CAP_NET_ADMIN in this network namespace (or the kernel forbids it). */
export class PermissionDeniedError extends NetlinkError {
  constructor(operation: string, code: 'EPERM' | 'EACCES' = 'EPERM', options?: ErrorOptions) {
    super(operation, 'operation not permitted (needs CAP_NET_ADMIN)', code, options);
    this.name = 'PermissionDeniedError';
  }
}

/** ENETUNREACH: e.g. a route's gateway is not reachable through any route on that device. */
export class NetworkUnreachableError extends NetlinkError {
  constructor(operation: string, detail = 'network is unreachable', options?: ErrorOptions) {
    super(operation, detail, 'ENETUNREACH', options);
    this.name = 'NetworkUnreachableError';
  }
}

/** EINVAL (or a value refused before it reached the kernel): an invalid argument. */
export class InvalidArgumentError extends NetlinkError {
  constructor(operation: string, detail = 'invalid argument', options?: ErrorOptions) {
    super(operation, detail, 'EINVAL', options);
    this.name = 'InvalidArgumentError';
  }
}

/** ENOENT or ESRCH: the object to change or delete does not exist. */
export class NotFoundError extends NetlinkError {
  constructor(operation: string, code: 'ENOENT' | 'ESRCH' = 'ENOENT', options?: ErrorOptions) {
    super(operation, 'no such object', code, options);
    this.name = 'NotFoundError';
  }
}

/** EADDRNOTAVAIL: the address is not available (e.g. a source address not on the interface). */
export class AddressNotAvailableError extends NetlinkError {
  constructor(operation: string, options?: ErrorOptions) {
    super(operation, 'address not available', 'EADDRNOTAVAIL', options);
    this.name = 'AddressNotAvailableError';
  }
}

/** The kernel did not answer within the handle's timeout. */
export class NetlinkTimeoutError extends NetlinkError {
  constructor(operation: string, timeoutMs: number, options?: ErrorOptions) {
    super(operation, `no answer within ${timeoutMs} ms`, 'ETIMEDOUT', options);
    this.name = 'NetlinkTimeoutError';
  }
}

/** The handle was closed before (or while) the request was made. */
export class NetlinkClosedError extends NetlinkError {
  constructor(operation: string) {
    super(operation, 'the netlink handle is closed', 'ERR_NETLINK_CLOSED');
    this.name = 'NetlinkClosedError';
  }
}

/**
 * A netlink message that cannot be decoded: truncated, a length that runs past its buffer, a field
 * of the wrong size, an unexpected message type. A sane kernel never sends one; the handle reports it
 * as a NetlinkError of the same code naming the operation, with this error as `cause`.
 */
export class MalformedMessageError extends NetworkError {
  /** The byte offset in the decoded buffer where decoding stopped, when known. */
  readonly offset: number | undefined;
  /**
   * @param detail what is wrong, e.g. `attribute length 40 outside 4..12`
   * @param offset where in the buffer (of the datagram, or of the attributes being decoded)
   */
  constructor(detail: string, offset?: number) {
    const where = offset === undefined ? '' : ` at byte ${offset}`;
    super(`malformed netlink message${where}: ${detail}`, 'ERR_NETLINK_MALFORMED');
    this.name = 'MalformedMessageError';
    this.offset = offset;
  }
}

/**
 * The kernel refused a request (an NLMSG_ERROR or NLMSG_DONE with a negative errno): what the socket
 * layer rejects with, before mapNetlinkError gives it a class by `code`.
 */
export class KernelErrnoError extends Error {
  /** The errno name (`EEXIST`), or `ERRNO_<n>` when Node does not know its name. */
  readonly code: string;
  /** The positive errno number. */
  readonly errno: number;
  constructor(errno: number) {
    const code = errnoName(errno);
    super(`the kernel refused the request: ${code}`);
    this.name = 'KernelErrnoError';
    this.code = code;
    this.errno = errno;
  }
}

/**
 * The name of an errno number as Node spells it (`17` is `EEXIST`), or `ERRNO_<n>` when unknown.
 *
 * @param errno the errno, positive or negative (netlink carries it negated)
 */
export function errnoName(errno: number): string {
  const positive = Math.abs(errno);
  if (positive === 0 || !Number.isInteger(positive)) return `ERRNO_${positive}`;
  const name = getSystemErrorName(-positive);
  return /^E[A-Z0-9]+$/.test(name) ? name : `ERRNO_${positive}`;
}

/** Writing or reading a sysctl under /proc/sys failed; `code` is the file system's errno name. */
export class SysctlError extends NetworkError {
  /** The /proc/sys path. */
  readonly path: string;
  /**
   * @param operation what was being done, e.g. `enable IPv4 forwarding`
   * @param path the file under /proc/sys
   * @param cause the file system error (its code becomes `code`: EACCES, EROFS, ENOENT...)
   */
  constructor(operation: string, path: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(`${operation}: ${reason}`, typeof errno === 'string' ? errno : 'ERR_SYSCTL', { cause });
    this.name = 'SysctlError';
    this.path = path;
  }
}

/**
 * The errno name of a netlink failure: the `code` of a KernelErrnoError or of a socket's errno
 * exception. The messages of netlink@0.3.0's own message layer (`Request rejected: EEXIST`), which
 * this module no longer uses, are still understood: mapNetlinkError is public.
 */
export function netlinkErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(E[A-Z0-9]+|ERRNO_\d+)$/.test(code)) return code;
  const message = (error as { message?: unknown }).message;
  if (typeof message !== 'string') return undefined;
  // netlink@0.3.0 rejects with `Error('Request rejected: EEXIST')` (or the errno number when unnamed).
  const match = /^Request rejected: (-?\d+|E[A-Z0-9]+)$/.exec(message);
  if (match === null) return undefined;
  const name = match[1]!;
  return /^-?\d+$/.test(name) ? `ERRNO_${Math.abs(Number(name))}` : name;
}

/**
 * Turns whatever a netlink call threw into a typed error, keeping the original as `cause`.
 *
 * @param error what a netlink request rejected with (a KernelErrnoError, a socket error...)
 * @param operation what was being done, for the message
 * @param timeoutMs the request timeout in force, for the timeout message
 * @returns a NetlinkError subclass chosen by errno (the error itself if it already is a NetworkError)
 */
export function mapNetlinkError(error: unknown, operation: string, timeoutMs = 0): NetworkError {
  if (error instanceof NetworkError) return error;
  const options = { cause: error };
  const message = error instanceof Error ? error.message : String(error);
  if (message === 'Timeout has been reached') return new NetlinkTimeoutError(operation, timeoutMs, options);
  const code = netlinkErrorCode(error);
  switch (code) {
    case undefined:
      return new NetlinkError(operation, message, 'ERR_NETLINK', options);
    case 'EEXIST':
      return new AlreadyExistsError(operation, undefined, options);
    case 'ENODEV':
      return new NoSuchDeviceError(operation, undefined, options);
    case 'EPERM':
    case 'EACCES':
      return new PermissionDeniedError(operation, code, options);
    case 'ENETUNREACH':
      return new NetworkUnreachableError(operation, undefined, options);
    case 'EINVAL':
      return new InvalidArgumentError(operation, undefined, options);
    case 'ENOENT':
    case 'ESRCH':
      return new NotFoundError(operation, code, options);
    case 'EADDRNOTAVAIL':
      return new AddressNotAvailableError(operation, options);
    default:
      return new NetlinkError(operation, message, code, options);
  }
}
