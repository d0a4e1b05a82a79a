import { type Cidr, type Family, type IpAddress, parseCidr, parseIp } from './address.js';

/** At most one value per address family: how EGRESS_SOURCE and EGRESS_GATEWAY hold dual stack. */
export interface PerFamily<T> {
  readonly ipv4?: T;
  readonly ipv6?: T;
}

/** The values of a PerFamily, IPv4 first. */
export function perFamilyValues<T>(pair: PerFamily<T>): T[] {
  return [pair.ipv4, pair.ipv6].filter((value): value is T => value !== undefined);
}

/** The families a PerFamily has a value for. */
export function perFamilyFamilies<T>(pair: PerFamily<T>): Set<Family> {
  const families = new Set<Family>();
  if (pair.ipv4 !== undefined) families.add(4);
  if (pair.ipv6 !== undefined) families.add(6);
  return families;
}

/**
 * Parses EGRESS_SOURCE: one address with an optional prefix, or one IPv4 and one IPv6 separated by
 * a comma (`192.168.12.99/24,2001:db8:12::99/64`). Addresses that cannot be a host's own unicast
 * address (unspecified, loopback, multicast, broadcast) are refused.
 *
 * @param value the variable's value
 * @returns the addresses per family, or undefined when the value is missing or invalid
 */
export function parseSource(value: string | undefined): PerFamily<Cidr> | undefined {
  return parsePair(value, (text) => {
    const cidr = parseCidr(text);
    return cidr && isHostAddress(cidr) ? cidr : undefined;
  });
}

/**
 * Parses EGRESS_GATEWAY: one address, or one per family separated by a comma.
 *
 * @param value the variable's value
 * @returns the gateways per family, or undefined when the value is missing or invalid
 */
export function parseGateway(value: string | undefined): PerFamily<IpAddress> | undefined {
  return parsePair(value, (text) => {
    const ip = parseIp(text);
    return ip && isHostAddress(ip) ? ip : undefined;
  });
}

function parsePair<T extends IpAddress>(
  value: string | undefined,
  parse: (text: string) => T | undefined,
): PerFamily<T> | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const parts = value.split(',').map((part) => part.trim());
  if (parts.length > 2) return undefined;
  let ipv4: T | undefined;
  let ipv6: T | undefined;
  for (const part of parts) {
    const parsed = parse(part);
    if (parsed === undefined) return undefined;
    if (parsed.family === 4) {
      if (ipv4) return undefined;
      ipv4 = parsed;
    } else {
      if (ipv6) return undefined;
      ipv6 = parsed;
    }
  }
  return { ...(ipv4 && { ipv4 }), ...(ipv6 && { ipv6 }) };
}

function isHostAddress(ip: IpAddress): boolean {
  if (ip.family === 4) {
    const first = Number(ip.address.split('.')[0]);
    return ip.address !== '0.0.0.0' && ip.address !== '255.255.255.255' && first !== 127 && first < 224;
  }
  return ip.address !== '::' && ip.address !== '::1' && !ip.address.startsWith('ff');
}
