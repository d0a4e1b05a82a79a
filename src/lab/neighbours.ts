/** One entry of a neighbour table (ARP for IPv4, NDP for IPv6), as `ip -j neigh show` prints it. */
export interface Neighbour {
  /** The neighbour's IP address. */
  readonly address: string;
  /** The interface it was learnt on. */
  readonly dev: string;
  /** Its link-layer (MAC) address, lower case; undefined while unresolved (INCOMPLETE, FAILED). */
  readonly lladdr: string | undefined;
  /** The states (`REACHABLE`, `STALE`, `DELAY`, `PROBE`, `FAILED`, `INCOMPLETE`, `PERMANENT`, ...). */
  readonly state: readonly string[];
  /** True when it announced itself as a router (IPv6). */
  readonly router: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses `ip -j neigh show`. Pure.
 *
 * @param text the command's output (empty is an empty table)
 * @returns the entries, in the order printed; entries without an address or interface are left out
 * @throws SyntaxError when the text is not JSON
 * @throws TypeError when it is not a list
 * @example parseNeighbours('[{"dst":"192.168.50.11","dev":"nodenet0","lladdr":"02:ec:50:00:00:11","state":["REACHABLE"]}]')
 */
export function parseNeighbours(text: string): Neighbour[] {
  if (text.trim() === '') return [];
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value)) throw new TypeError('ip -j neigh: not a list');
  const entries: Neighbour[] = [];
  for (const item of value) {
    if (!isRecord(item) || typeof item.dst !== 'string' || typeof item.dev !== 'string') continue;
    const state = Array.isArray(item.state)
      ? item.state.filter((s): s is string => typeof s === 'string')
      : [];
    entries.push({
      address: item.dst,
      dev: item.dev,
      lladdr: typeof item.lladdr === 'string' ? item.lladdr.toLowerCase() : undefined,
      state,
      router: item.router !== undefined && item.router !== false,
    });
  }
  return entries;
}
