import { type Family, formatIpv6Pieces, parseIp } from '../destination-parser/address.js';

/** A closed range of addresses of one family, as numbers (IPv4 too, so that one compiler serves both). */
export interface IpRange {
  readonly family: Family;
  readonly start: bigint;
  /** Inclusive. */
  readonly end: bigint;
}

/** What parsing a CIDR as the OpenShift API takes it gave. */
export type CidrResult =
  | { readonly ok: true; readonly range: IpRange; readonly prefix: number; readonly text: string }
  /** Not an address with a prefix at all. */
  | { readonly ok: false; readonly reason: 'invalid' }
  /** An address with host bits set (`1.2.3.4/24`): the network it names is `canonical`. */
  | { readonly ok: false; readonly reason: 'noncanonical'; readonly canonical: string };

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

/**
 * Parses `address/prefix` strictly (a prefix is required; `/0` is allowed), and refuses one whose
 * address has host bits set, as OpenShift's API did: `1.2.3.4/24` names `1.2.3.0/24`. Pure.
 *
 * @param text the CIDR as written
 * @returns the range, or why not
 * @example parseCanonicalCidr('10.0.0.0/8') // ok, 10.0.0.0-10.255.255.255
 */
export function parseCanonicalCidr(text: string): CidrResult {
  const slash = text.indexOf('/');
  if (slash === -1) return { ok: false, reason: 'invalid' };
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (ip === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return { ok: false, reason: 'invalid' };
  const prefix = Number(prefixText);
  const bits = BITS[ip.family];
  if (prefix > bits) return { ok: false, reason: 'invalid' };
  const value = ipToBigInt(ip.address);
  const hostBits = BigInt(bits - prefix);
  const start = (value >> hostBits) << hostBits;
  const end = start | ((1n << hostBits) - 1n);
  if (start !== value) {
    return { ok: false, reason: 'noncanonical', canonical: `${bigIntToIp(start, ip.family)}/${prefix}` };
  }
  return { ok: true, range: { family: ip.family, start, end }, prefix, text: `${ip.address}/${prefix}` };
}

/**
 * The network an interface address is in: `192.168.50.11` with prefix 24 is `192.168.50.0/24`.
 *
 * @returns the network's range and canonical text, or undefined when address is not an address
 */
export function networkOf(address: string, prefix: number): { range: IpRange; text: string } | undefined {
  const parsed = parseCanonicalCidr(`${address}/${prefix}`);
  if (parsed.ok) return { range: parsed.range, text: parsed.text };
  if (parsed.reason !== 'noncanonical') return undefined;
  const network = parseCanonicalCidr(parsed.canonical);
  return network.ok ? { range: network.range, text: network.text } : undefined;
}

/**
 * Whether a range lies wholly inside one of the networks (of its family).
 *
 * @param range an address (a range of one) or a range
 * @param networks the networks
 */
export function within(range: IpRange, networks: readonly IpRange[]): boolean {
  return networks.some((n) => n.family === range.family && n.start <= range.start && range.end <= n.end);
}

/**
 * An address as a range of one.
 *
 * @param text an IPv4 or IPv6 literal
 * @returns its range, or undefined when text is not an address
 */
export function addressRange(text: string): IpRange | undefined {
  const ip = parseIp(text);
  if (ip === undefined) return undefined;
  const value = ipToBigInt(ip.address);
  return { family: ip.family, start: value, end: value };
}

/**
 * An address literal as its number.
 *
 * @param text a valid IPv4 or IPv6 literal (IPv4-mapped IPv6 stays IPv6)
 */
export function ipToBigInt(text: string): bigint {
  const ip = parseIp(text);
  if (ip === undefined) throw new RangeError(`not an IP address: '${text}'`);
  if (ip.family === 4)
    return BigInt(ip.address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0));
  // Canonical IPv6 text has hex groups only (an embedded dotted IPv4 is rewritten by parseIp).
  const [left = '', right] = ip.address.split('::');
  const parse = (part: string) =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const leftPieces = parse(left);
  const rightPieces = right === undefined ? [] : parse(right);
  const zeros = right === undefined ? 0 : 8 - leftPieces.length - rightPieces.length;
  const pieces = [...leftPieces, ...new Array<number>(zeros).fill(0), ...rightPieces];
  return pieces.reduce((acc, piece) => (acc << 16n) | BigInt(piece), 0n);
}

/**
 * A number as address text (IPv6 in RFC 5952 form).
 *
 * @param value the address
 * @param family its family
 */
export function bigIntToIp(value: bigint, family: Family): string {
  if (family === 4) {
    const n = Number(value);
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  }
  const pieces: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) pieces.push(Number((value >> shift) & 0xffffn));
  return formatIpv6Pieces(pieces);
}

/**
 * The prefix length when a range is exactly one network (start aligned, size a power of two).
 *
 * @returns the prefix length, or undefined
 */
export function prefixOf(range: IpRange): number | undefined {
  const size = range.end - range.start + 1n;
  if ((size & (size - 1n)) !== 0n) return undefined;
  const hostBits = size.toString(2).length - 1;
  if (range.start & (size - 1n)) return undefined;
  return BITS[range.family] - hostBits;
}
