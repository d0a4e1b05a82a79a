import type { AddressHealth } from './health.js';

/**
 * The order in which a new connection tries a destination's addresses: round robin from `start`
 * over the addresses that are up (or whose back-off ran out), then the down ones, soonest retry
 * first (so a connection still gets a chance when every address is down), at most `max` of them.
 * Pure.
 *
 * @param addresses the destination's current addresses
 * @param start the round-robin position (any integer; taken modulo the count)
 * @param port the destination port (part of the health key)
 * @param health the health table
 * @param now the current time
 * @param max how many addresses one connection tries at most
 * @returns the addresses to try, in order
 * @example connectOrder(['a', 'b', 'c'], 1, 80, new AddressHealth(), 0, 4) // ['b', 'c', 'a']
 */
export function connectOrder(
  addresses: readonly string[],
  start: number,
  port: number,
  health: AddressHealth,
  now: number,
  max: number,
): string[] {
  const n = addresses.length;
  const first = n === 0 ? 0 : ((start % n) + n) % n;
  const up: string[] = [];
  const down: { address: string; retryAt: number }[] = [];
  for (let i = 0; i < n; i++) {
    const address = addresses[(first + i) % n]!;
    const retryAt = health.allUp ? undefined : health.retryAt(`${address} ${port}`);
    if (retryAt === undefined || retryAt <= now) up.push(address);
    else down.push({ address, retryAt });
  }
  down.sort((a, b) => a.retryAt - b.retryAt);
  for (const { address } of down) up.push(address);
  return up.length > max ? up.slice(0, max) : up;
}
