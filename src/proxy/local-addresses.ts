import { networkInterfaces } from 'node:os';
import { type NumericIp, toNumericIp } from './policy/ip.js';

/** How long the list of the host's own addresses is reused before it is read again. */
export const LOCAL_ADDRESSES_TTL_MS = 5000;

/**
 * Tells whether an address is the proxy's own: loopback (127.0.0.0/8, ::1), unspecified (0.0.0.0,
 * ::) or an address of one of its interfaces. The proxy never connects to these, whatever the
 * policy, so a client cannot reach the proxy's own ports (or other local services) through it.
 *
 * @param now the clock (for tests)
 * @returns the predicate
 */
export function createSelfCheck(now: () => number = Date.now): (ip: NumericIp) => boolean {
  let readAt = Number.NEGATIVE_INFINITY;
  let own4 = new Set<number>();
  let own6 = new Set<bigint>();
  return (ip) => {
    if (ip.family === 4 && (ip.value >>> 24 === 127 || ip.value === 0)) return true;
    if (ip.family === 6 && (ip.value === 0n || ip.value === 1n)) return true;
    if (now() - readAt > LOCAL_ADDRESSES_TTL_MS) {
      own4 = new Set();
      own6 = new Set();
      for (const list of Object.values(networkInterfaces())) {
        for (const entry of list ?? []) {
          const local = toNumericIp(entry.address.split('%')[0]!);
          if (local?.family === 4) own4.add(local.value);
          else if (local?.family === 6) own6.add(local.value);
        }
      }
      readAt = now();
    }
    return ip.family === 4 ? own4.has(ip.value) : own6.has(ip.value);
  };
}
