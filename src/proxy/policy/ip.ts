import { isIPv4, isIPv6 } from 'node:net';

/**
 * An address as a number, for prefix matching: IPv4 as a 32-bit value, IPv6 as a 128-bit bigint.
 * IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is the IPv4 address it maps.
 */
export type NumericIp =
  | { readonly family: 4; readonly value: number }
  | { readonly family: 6; readonly value: bigint };

/**
 * Parses a canonical IP literal (dotted-quad IPv4, or IPv6) into its number. IPv4-mapped IPv6
 * becomes IPv4.
 *
 * @param text an IP literal without brackets or zone
 * @returns the numeric address, or undefined when text is not one
 */
export function toNumericIp(text: string): NumericIp | undefined {
  if (isIPv4(text)) return { family: 4, value: ipv4ToNumber(text) };
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const value = ipv6ToBigInt(text);
  if (value >> 32n === 0xffffn) return { family: 4, value: Number(value & 0xffffffffn) };
  return { family: 6, value };
}

/** The IPv4 address embedded in an IPv6 address that carries one (NAT64 64:ff9b::/96, IPv4-compatible ::/96). */
export function embeddedIpv4(ip: NumericIp): number | undefined {
  if (ip.family !== 6) return undefined;
  const high = ip.value >> 32n;
  const low = Number(ip.value & 0xffffffffn);
  if (high === 0x0064ff9b0000000000000000n) return low;
  if (high === 0n && low > 1) return low;
  return undefined;
}

/** Text of a numeric address (IPv6 compressed). */
export function numericIpToString(ip: NumericIp): string {
  if (ip.family === 4) return numberToIpv4(ip.value);
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((ip.value >> shift) & 0xffffn).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

export function ipv4ToNumber(text: string): number {
  return text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function numberToIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

function ipv6ToBigInt(text: string): bigint {
  let head = text;
  let tailV4: number | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tailV4 = ipv4ToNumber(text.slice(lastColon + 1));
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left = '', right] = head.split('::');
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups = [...leftGroups, ...Array(right === undefined ? 0 : missing).fill('0'), ...rightGroups];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(Number.parseInt(group, 16));
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | BigInt(tailV4);
  return value;
}
