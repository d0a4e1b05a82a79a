import { type Family, formatIpv6Pieces, type IpAddress, parseIp } from '../destination-parser/address.js';

/** Linux address family numbers as netlink wants them. */
export const AF_INET = 2;
export const AF_INET6 = 10;

/** The Linux address family number of an IP family. */
export function addressFamily(family: Family): number {
  return family === 4 ? AF_INET : AF_INET6;
}

/** The IP family of a Linux address family number, or undefined when it is neither. */
export function familyOf(af: number | undefined): Family | undefined {
  if (af === AF_INET) return 4;
  if (af === AF_INET6) return 6;
  return undefined;
}

/**
 * The network-order bytes of an IP address (4 or 16 bytes).
 *
 * @param ip a parsed address, or its text (validated with parseIp)
 * @throws TypeError when the text is not an IP address
 */
export function ipToBytes(ip: IpAddress | string): Buffer {
  const parsed = typeof ip === 'string' ? parseIp(ip) : parseIp(ip.address);
  if (parsed === undefined)
    throw new TypeError(`not an IP address: '${typeof ip === 'string' ? ip : ip.address}'`);
  if (parsed.family === 4) return Buffer.from(parsed.address.split('.').map(Number));
  // parseIp's canonical IPv6 text has no dotted-quad tail, only hex groups and at most one '::'.
  const [head = '', tail] = parsed.address.split('::');
  const groups = (text: string | undefined) =>
    text ? text.split(':').map((g) => Number.parseInt(g, 16)) : [];
  const before = groups(head);
  const after = groups(tail);
  const all =
    tail === undefined ? before : [...before, ...Array(8 - before.length - after.length).fill(0), ...after];
  const bytes = Buffer.alloc(16);
  for (const [i, group] of all.entries()) bytes.writeUInt16BE(group, i * 2);
  return bytes;
}

/**
 * The canonical text of a 4- or 16-byte network-order address.
 *
 * @throws TypeError for any other length
 */
export function bytesToIp(bytes: Uint8Array): IpAddress {
  if (bytes.length === 4) return { address: Array.from(bytes).join('.'), family: 4 };
  if (bytes.length !== 16) throw new TypeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  const pieces: number[] = [];
  for (let i = 0; i < 16; i += 2) pieces.push((bytes[i]! << 8) | bytes[i + 1]!);
  return { address: formatIpv6Pieces(pieces), family: 6 };
}

/** `aa:bb:cc:dd:ee:ff` text of a hardware address. */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}
