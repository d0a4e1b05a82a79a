/**
 * The cluster lab's stand-in for the SDN's NAT, pure: what openshift-sdn's iptables rule
 * `-A OPENSHIFT-MASQUERADE -s <cluster network> -j MASQUERADE` does on a node, written as one nft
 * table of the lab's own, so that the node agent's tables (`egress_router*`) never meet it.
 *
 * Where it sits: a nat chain on postrouting at priority `srcnat + 10` (110). The kernel binds NAT
 * once per connection, in the first nat chain (lowest priority) that sets it, so an agent's SNAT at
 * priority `srcnat` (100) runs before and wins: egress IPs are SNATed before the masquerade, as
 * openshift-sdn's egress IP rules come first in OPENSHIFT-MASQUERADE.
 *
 * @module
 */

/** The family of the lab's SDN table. */
export const LAB_SDN_FAMILY = 'inet';
/** The lab's SDN table, in every node. Never `egress_router*`: those are the agent's. */
export const LAB_SDN_TABLE = 'lab_sdn';
/** Its one chain. */
export const LAB_SDN_CHAIN = 'postrouting';
/** The chain's priority, as nft writes it: after an SNAT at `srcnat`. */
export const LAB_SDN_PRIORITY = 'srcnat + 10';

/** What the masquerade needs to know. */
export interface SdnNetworks {
  /** The cluster network of each family (`10.128.0.0/14`, `fd01::/48`). */
  readonly clusterNetwork4: string;
  readonly clusterNetwork6: string;
}

/**
 * The nft script that installs (or replaces, in one transaction) the lab's SDN table: pod traffic
 * leaving the node on its uplink for an address outside the cluster network is masqueraded to the
 * node's address, IPv4 and IPv6. Traffic between pods is not touched.
 *
 * @param networks the cluster networks
 * @param uplink the node's interface on the node network (default `eth0`)
 * @returns the text for `nft -f -`
 * @example sdnRuleset({ clusterNetwork4: '10.128.0.0/14', clusterNetwork6: 'fd01::/48' })
 */
export function sdnRuleset(networks: SdnNetworks, uplink = 'eth0'): string {
  const table = `${LAB_SDN_FAMILY} ${LAB_SDN_TABLE}`;
  const c4 = networks.clusterNetwork4;
  const c6 = networks.clusterNetwork6;
  return [
    // Made (empty) first so that the delete never fails, then made again: one atomic replace.
    `table ${table}`,
    `delete table ${table}`,
    `table ${table} {`,
    `\tchain ${LAB_SDN_CHAIN} {`,
    `\t\ttype nat hook postrouting priority ${LAB_SDN_PRIORITY}; policy accept;`,
    `\t\toifname "${uplink}" ip saddr ${c4} ip daddr != ${c4} masquerade`,
    `\t\toifname "${uplink}" ip6 saddr ${c6} ip6 daddr != ${c6} masquerade`,
    '\t}',
    '}',
    '',
  ].join('\n');
}

/**
 * The nft script that removes the lab's SDN table, present or not.
 *
 * @returns the text for `nft -f -`
 */
export function sdnRemoval(): string {
  const table = `${LAB_SDN_FAMILY} ${LAB_SDN_TABLE}`;
  return `table ${table}\ndelete table ${table}\n`;
}
