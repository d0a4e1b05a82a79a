import { isIPv4, isIPv6 } from 'node:net';
import { ipv4ToNumber, type NumericIp, toNumericIp } from './policy/ip.js';
import { normalizeName } from './policy/parse-policy.js';

/** Where a client asked to go, parsed strictly: the host checked is the host connected to. */
export interface Target {
  /** The canonical host name, or undefined for an IP literal. */
  readonly name: string | undefined;
  /** The address, for an IP literal (any IPv4 spelling a resolver accepts is read as IPv4). */
  readonly ip: NumericIp | undefined;
  readonly port: number;
  /** The authority to send as Host: canonical host, `:port` unless it is the default. */
  readonly authority: string;
}

/** An absolute-URI request target: the target and the origin-form path to send upstream. */
export interface AbsoluteTarget extends Target {
  readonly path: string;
}

export type TargetResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

/**
 * Parses a CONNECT request target (authority-form `host:port`). Brackets only around an IPv6
 * literal, no userinfo, exactly one port.
 *
 * @param text the request target
 * @returns the target, or why it is refused
 */
export function parseConnectTarget(text: string): TargetResult<Target> {
  return readAuthority(text, undefined);
}

/**
 * Parses an absolute-form request target `http://authority/path`. Only the http scheme (HTTPS goes
 * through CONNECT); no userinfo, no backslash, no fragment.
 *
 * @param text the request target
 * @returns the target and the path to send upstream, or why it is refused
 */
export function parseAbsoluteTarget(text: string): TargetResult<AbsoluteTarget> {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text);
  if (!scheme)
    return { ok: false, reason: 'not a proxy request: the request target is not an absolute http:// URI' };
  if (scheme[1]!.toLowerCase() !== 'http') {
    return { ok: false, reason: `scheme '${scheme[1]}' is not proxied: use CONNECT for HTTPS` };
  }
  const rest = text.slice(scheme[0].length);
  if (rest.includes('#')) return { ok: false, reason: 'a request target has no fragment' };
  const end = rest.search(/[/?]/);
  const authorityText = end === -1 ? rest : rest.slice(0, end);
  const pathPart = end === -1 ? '' : rest.slice(end);
  if (pathPart.includes('\\')) return { ok: false, reason: 'backslash in the request target' };
  const authority = readAuthority(authorityText, 80);
  if (!authority.ok) return authority;
  const path = pathPart === '' ? '/' : pathPart.startsWith('?') ? `/${pathPart}` : pathPart;
  return { ok: true, value: { ...authority.value, path } };
}

/** Authorities read recently, by default port and text: clients ask for the same few again and again. */
const AUTHORITY_CACHE_SIZE = 1024;
const authorities = [new Map<string, TargetResult<Target>>(), new Map<string, TargetResult<Target>>()];

/** Longer authorities (no valid one is: a host is at most 253 bytes) are read without the cache. */
const MAX_CACHED_AUTHORITY = 261;

/**
 * parseAuthority, remembered (it is pure): emptied when full, so it holds at most 1,024 of each.
 * What is kept is parsed from a copy of the text: a slice of the request head would keep the
 * whole head in memory as long as the entry lives.
 */
function readAuthority(text: string, defaultPort: 80 | undefined): TargetResult<Target> {
  if (text.length > MAX_CACHED_AUTHORITY) return parseAuthority(text, defaultPort);
  const cache = authorities[defaultPort === undefined ? 0 : 1]!;
  let result = cache.get(text);
  if (result === undefined) {
    const own = Array.from(text).join('');
    result = Object.freeze(parseAuthority(own, defaultPort));
    if (cache.size >= AUTHORITY_CACHE_SIZE) cache.clear();
    cache.set(own, result);
  }
  return result;
}

function parseAuthority(text: string, defaultPort: number | undefined): TargetResult<Target> {
  if (text === '') return { ok: false, reason: 'empty host' };
  if (text.includes('@')) return { ok: false, reason: 'userinfo is not allowed in the request target' };
  // '/', '?' and '#' would end the host for a URL parser, which would then check only a part of it.
  if (/[\\%\s/?#]/.test(text) || hasControlCharacter(text))
    return { ok: false, reason: 'invalid character in the host' };
  let hostText: string;
  let portText: string | undefined;
  let bracketed = false;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return { ok: false, reason: 'unclosed bracket in the host' };
    hostText = text.slice(1, close);
    if (!isIPv6(hostText)) return { ok: false, reason: 'brackets are only for IPv6 addresses' };
    const after = text.slice(close + 1);
    if (after !== '' && !after.startsWith(':'))
      return { ok: false, reason: 'garbage after the IPv6 address' };
    portText = after === '' ? undefined : after.slice(1);
    bracketed = true;
  } else {
    const colon = text.indexOf(':');
    if (colon !== -1 && text.indexOf(':', colon + 1) !== -1)
      return { ok: false, reason: 'more than one port, or an IPv6 address without brackets' };
    hostText = colon === -1 ? text : text.slice(0, colon);
    portText = colon === -1 ? undefined : text.slice(colon + 1);
    if (hostText.includes('[') || hostText.includes(']'))
      return { ok: false, reason: 'invalid character in the host' };
  }
  let port: number;
  if (portText === undefined) {
    if (defaultPort === undefined) return { ok: false, reason: 'the port is missing' };
    port = defaultPort;
  } else {
    if (!/^[0-9]{1,5}$/.test(portText)) return { ok: false, reason: `invalid port '${portText}'` };
    port = Number(portText);
    if (port < 1 || port > 65535) return { ok: false, reason: `invalid port '${portText}'` };
  }
  const portSuffix = port === (defaultPort ?? -1) ? '' : `:${port}`;
  if (bracketed) {
    const ip = toNumericIp(hostText);
    if (!ip) return { ok: false, reason: 'invalid IPv6 address' };
    const canonical = new URL(`http://[${hostText}]/`).hostname;
    return { ok: true, value: { name: undefined, ip, port, authority: `${canonical}${portSuffix}` } };
  }
  // A dotted quad as written is the address (the common case, read without the URL parser).
  if (PLAIN_IPV4.test(hostText)) {
    const ip: NumericIp = { family: 4, value: ipv4ToNumber(hostText) };
    return { ok: true, value: { name: undefined, ip, port, authority: `${hostText}${portSuffix}` } };
  }
  // The WHATWG host parser reads every IPv4 spelling a resolver accepts (3232235777, 0xc0a80101,
  // 0300.0250.1.1, 192.168.257) as the address it is, lower-cases and IDNA-encodes names.
  let hostname: string;
  if (isPlainHost(hostText)) {
    hostname = hostText;
  } else {
    try {
      hostname = new URL(`http://${hostText}/`).hostname;
    } catch {
      return { ok: false, reason: `invalid host '${hostText}'` };
    }
  }
  if (isIPv4(hostname)) {
    return {
      ok: true,
      value: { name: undefined, ip: toNumericIp(hostname), port, authority: `${hostname}${portSuffix}` },
    };
  }
  const name = normalizeName(hostname);
  if (!name) return { ok: false, reason: `invalid host '${hostText}'` };
  return { ok: true, value: { name, ip: undefined, port, authority: `${name}${portSuffix}` } };
}

const PLAIN_IPV4 =
  /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;
const PLAIN_NAME = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z](?:[a-z0-9-]*[a-z0-9])?\.?$/;

/**
 * A host the URL host parser returns unchanged, so it need not run (it is most of the cost of
 * reading a target): a dotted-quad IPv4 address without leading zeros, or a lower-case name of
 * letters, digits and hyphens whose last label starts with a letter (so it is never read as an
 * IPv4 number) and with no `xn--` label (which the parser decodes and checks).
 *
 * @param host the host as sent
 * @returns whether `new URL('http://' + host).hostname` is `host`
 */
export function isPlainHost(host: string): boolean {
  return PLAIN_IPV4.test(host) || (PLAIN_NAME.test(host) && !host.includes('xn--'));
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
