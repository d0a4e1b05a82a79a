/**
 * Automatic egress IPs (HostSubnet.egressCIDRs): which node hosts each requested IP that no
 * HostSubnet lists by hand. Pure and deterministic, so that every node's agent, given the same
 * objects and the same view of which nodes answer and which hold what, computes the same answer;
 * no master decides (docs/egress-ips.md).
 */
import { addressRange, type IpRange, within } from '../firewall/ip-range.js';

/** A node that may host automatic egress IPs. */
export interface CandidateNode {
  readonly name: string;
  /** Its HostSubnet's egressCIDRs. */
  readonly cidrs: readonly IpRange[];
  /** Whether it answers (its agent's probe); a node that does not is given nothing. */
  readonly alive: boolean;
  /** How many egress IPs it hosts by hand (HostSubnet.egressIPs): counted in its load. */
  readonly manual: number;
}

/** What assignEgressIps decides for one IP. */
export type Assignment =
  | { readonly ip: string; readonly node: string }
  | { readonly ip: string; readonly node: undefined; readonly reason: string };

/**
 * Assigns each IP to one node. Pure.
 *
 * 1. The candidates of an IP: the nodes that answer and whose egressCIDRs hold it.
 * 2. An IP some candidate already hosts stays there (the first listed in `current`: the longest
 *    holder, if several do): a node that comes back takes nothing away, so nothing flaps.
 * 3. The others, in address order, go to the candidate with the fewest IPs (hand-listed ones
 *    included), the lowest name on a tie.
 *
 * @param ips the IPs to place (requested by a NetNamespace, listed by no HostSubnet)
 * @param nodes every node with egressCIDRs
 * @param current which nodes say they host each IP now, the longest holder first
 * @returns one assignment per IP, in the order given
 */
export function assignEgressIps(
  ips: readonly string[],
  nodes: readonly CandidateNode[],
  current: ReadonlyMap<string, readonly string[]>,
): Assignment[] {
  const load = new Map(nodes.map((n) => [n.name, n.manual]));
  const chosen = new Map<string, string>();
  const candidatesOf = (ip: string) =>
    nodes
      .filter((n) => n.alive && holdsCidr(n, ip))
      .map((n) => n.name)
      .sort();
  const candidates = new Map(ips.map((ip) => [ip, candidatesOf(ip)]));
  for (const ip of ips) {
    const holders = (current.get(ip) ?? []).filter((n) => candidates.get(ip)?.includes(n));
    const holder = holders[0];
    if (holder === undefined) continue;
    chosen.set(ip, holder);
    load.set(holder, (load.get(holder) ?? 0) + 1);
  }
  for (const ip of [...ips].sort(compareAddresses)) {
    if (chosen.has(ip)) continue;
    const fits = candidates.get(ip) ?? [];
    let best: string | undefined;
    for (const name of fits) {
      if (best === undefined || (load.get(name) ?? 0) < (load.get(best) ?? 0)) best = name;
    }
    if (best === undefined) continue;
    chosen.set(ip, best);
    load.set(best, (load.get(best) ?? 0) + 1);
  }
  return ips.map((ip) => {
    const node = chosen.get(ip);
    if (node !== undefined) return { ip, node };
    const offering = nodes.filter((n) => holdsCidr(n, ip));
    return {
      ip,
      node: undefined,
      reason:
        offering.length === 0
          ? 'no HostSubnet lists it in egressIPs and none offers it in egressCIDRs'
          : `the nodes whose egressCIDRs hold it do not answer (${offering.map((n) => n.name).join(', ')})`,
    };
  });
}

function holdsCidr(node: CandidateNode, ip: string): boolean {
  const range = addressRange(ip);
  return range !== undefined && within(range, node.cidrs);
}

/** IPv4 before IPv6, then by address. */
export function compareAddresses(a: string, b: string): number {
  const x = addressRange(a);
  const y = addressRange(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  if (x.family !== y.family) return x.family - y.family;
  return x.start < y.start ? -1 : x.start > y.start ? 1 : 0;
}
