import { isIPv4 } from 'node:net';
import type { IpAddress } from '../destination-parser/address.js';

/**
 * Whether a TCP connection to an address can mean anything: not the unspecified address (which
 * connects to the proxy's own host), not multicast, not the IPv4 broadcast address. Used for the
 * list's literal addresses and for every address a name resolves to.
 *
 * @param ip a valid address in canonical form
 * @returns false for `0.0.0.0`, `::`, `224.0.0.0/4`, `255.255.255.255`, `ff00::/8`
 * @example isConnectable({ address: '224.0.0.1', family: 4 }) // false
 */
export function isConnectable(ip: IpAddress): boolean {
  if (ip.family === 4) {
    if (!isIPv4(ip.address)) return false;
    const first = Number(ip.address.slice(0, ip.address.indexOf('.')));
    return ip.address !== '0.0.0.0' && ip.address !== '255.255.255.255' && (first < 224 || first > 239);
  }
  return ip.address !== '::' && !ip.address.startsWith('ff');
}
