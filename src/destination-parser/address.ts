import { isIPv4, isIPv6 } from 'node:net';

/** An IP address family, as a number the way Node's `net` module names it. */
export type Family = 4 | 6;

/** A validated IP address in canonical text form (IPv6 compressed and lower case). */
export interface IpAddress {
  readonly address: string;
  readonly family: Family;
}

/** A validated address with a prefix length, as installed on an interface. */
export interface Cidr extends IpAddress {
  readonly prefix: number;
}

/**
 * Parses one IP address strictly: dotted-quad decimal IPv4 (no leading zeros, no short forms) or
 * IPv6 without a zone index.
 *
 * @param text the address as written
 * @returns the address in canonical form, or undefined when it is not one
 * @example parseIp('2001:DB8:0::1') // { address: '2001:db8::1', family: 6 }
 */
export function parseIp(text: string): IpAddress | undefined {
  if (isIPv4(text)) return { address: text, family: 4 };
  if (text.includes('%') || !isIPv6(text)) return undefined;
  return { address: canonicalIpv6(text), family: 6 };
}

/**
 * Parses `address` or `address/prefix`; without a prefix the address is a host (/32 or /128).
 *
 * @param text the address, with an optional decimal prefix length
 * @returns the address and prefix, or undefined when either is invalid
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const ip = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (ip === undefined) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  if (slash === -1) return { ...ip, prefix: max };
  const prefixText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix < 1 || prefix > max) return undefined;
  return { ...ip, prefix };
}

/** The family's name as nftables and iproute2 spell it. */
export function familyName(family: Family): 'ipv4' | 'ipv6' {
  return family === 4 ? 'ipv4' : 'ipv6';
}

/**
 * RFC 5952 text of an IPv6 address given as its eight 16-bit pieces: lower-case hex without leading
 * zeros, the first longest run of two or more zero pieces as `::`. The same text as canonicalIpv6
 * (WHATWG's serialiser), without a URL parse: the first `new URL()` of a process costs milliseconds.
 *
 * @param pieces eight integers 0..65535
 * @returns the address text
 */
export function formatIpv6Pieces(pieces: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (pieces[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && pieces[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  const hex = (from: number, to: number) =>
    pieces
      .slice(from, to)
      .map((piece) => piece.toString(16))
      .join(':');
  if (bestStart === -1) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/** RFC 5952 text of a valid IPv6 address (WHATWG URL serialisation is exactly that). */
function canonicalIpv6(text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}
