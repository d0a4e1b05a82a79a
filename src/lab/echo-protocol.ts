import { isIPv4, isIPv6 } from 'node:net';

/** A transport protocol of the echo server. */
export type EchoProto = 'tcp' | 'udp';

/** The one JSON line the echo server answers with. */
export interface EchoReply {
  /** The address and port the server was reached on: `203.0.113.25:80` or `[2001:db8:113::25]:80`. */
  readonly local: string;
  /** The address the connection or datagram came from, as the server saw it. */
  readonly peer: string;
  readonly proto: EchoProto;
}

/**
 * Why a request got no echo: `refused` (RST or ICMP port unreachable), `timeout` (no answer in
 * time), `unreachable` (no route, ICMP host/network unreachable), `reset` (connection reset after
 * it was made), `closed` (closed without an answer), `error` (anything else, e.g. a malformed answer).
 */
export type RequestFailure = 'refused' | 'timeout' | 'unreachable' | 'reset' | 'closed' | 'error';

/** The outcome of one TCP or UDP request to the echo server. */
export type RequestResult =
  | { readonly ok: true; readonly reply: EchoReply }
  | { readonly ok: false; readonly failure: RequestFailure; readonly message: string };

/**
 * Drops the `::ffff:` of an IPv4-mapped IPv6 address, as a dual-stack socket reports IPv4 peers.
 *
 * @example normalizeAddress('::ffff:192.168.12.99') // '192.168.12.99'
 */
export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && isIPv4(lower.slice(7))) return lower.slice(7);
  return address;
}

/**
 * Formats an address and port, with brackets around IPv6.
 *
 * @example formatHostPort('2001:db8::1', 80) // '[2001:db8::1]:80'
 */
export function formatHostPort(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Splits `address:port` or `[address]:port`.
 *
 * @returns the address and port, or undefined when the text is neither form
 */
export function splitHostPort(text: string): { address: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  const address = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (port > 65535 || !(isIPv4(address) || isIPv6(address))) return undefined;
  return { address, port };
}

/**
 * Parses the echo server's answer (the first line of `text`).
 *
 * @returns the reply, or undefined when it is not one
 */
export function parseEchoReply(text: string): EchoReply | undefined {
  const line = text.split('\n', 1)[0] ?? '';
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { local, peer, proto } = value as Record<string, unknown>;
  if (typeof local !== 'string' || typeof peer !== 'string') return undefined;
  if (proto !== 'tcp' && proto !== 'udp') return undefined;
  return { local, peer, proto };
}

/**
 * Parses the client script's output line.
 *
 * @returns the result, or undefined when it is not one
 */
export function parseRequestResult(text: string): RequestResult | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text.trim().split('\n').pop() ?? '');
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (record.ok === true) {
    const reply = parseEchoReply(JSON.stringify(record.reply));
    return reply === undefined ? undefined : { ok: true, reply };
  }
  const failures: readonly string[] = ['refused', 'timeout', 'unreachable', 'reset', 'closed', 'error'];
  if (record.ok === false && typeof record.failure === 'string' && failures.includes(record.failure)) {
    return {
      ok: false,
      failure: record.failure as RequestFailure,
      message: typeof record.message === 'string' ? record.message : '',
    };
  }
  return undefined;
}

/**
 * Maps a socket error code to a request failure.
 *
 * @param code an errno name such as ECONNREFUSED
 */
export function failureOf(code: string | undefined): RequestFailure {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'unreachable';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    default:
      return 'error';
  }
}
