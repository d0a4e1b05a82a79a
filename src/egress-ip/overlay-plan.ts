/**
 * The overlay's addressing, derived from the HostSubnets alone, so that every node derives the
 * same (docs/egress-ips.md): each node's index comes from the low 12 bits of its IPv4 node address,
 * and from the index its VXLAN MAC, its link-local next-hop addresses, its routing table and its
 * mark. Pure.
 */
import type { ClusterState } from '../cluster/types.js';
import { parseIp } from '../destination-parser/address.js';
import { markOf } from './ruleset.js';

/** One node's overlay identity. */
export interface OverlayNode {
  readonly name: string;
  readonly hostIP: string;
  /** 1..4095: the low 12 bits of the node's IPv4 address (0 and 4095 are not used). */
  readonly index: number;
  /** Its VXLAN device's MAC. */
  readonly mac: string;
  /** The next hop other nodes route its traffic via (onlink; its own device holds via4). */
  readonly via4: string;
  readonly via6: string;
  /** The routing table (and rule priority) other nodes send its traffic with. */
  readonly table: number;
  readonly mark: number;
}

/** This node's overlay, and the other nodes'. */
export interface OverlayPlan {
  readonly self: OverlayNode | undefined;
  readonly peers: readonly OverlayNode[];
  /** Nodes left out, one line each. */
  readonly problems: readonly string[];
}

/** The VXLAN device's name, its UDP port and its network identifier. */
export const OVERLAY = {
  device: 'egv',
  port: 4790,
  vni: 1,
  tableBase: 1000,
  nodeNetworkRulePriority: 999,
} as const;

/**
 * The overlay of a node, from the HostSubnets.
 *
 * @param state the cluster's objects
 * @param nodeName this node
 * @returns this node (undefined without a usable HostSubnet) and the others
 */
export function planOverlay(state: ClusterState, nodeName: string): OverlayPlan {
  const problems: string[] = [];
  const byIndex = new Map<number, OverlayNode[]>();
  for (const subnet of [...state.hostSubnets.values()].sort((a, b) => (a.host < b.host ? -1 : 1))) {
    const ip = parseIp(subnet.hostIP);
    if (ip?.family !== 4) {
      problems.push(
        `HostSubnet ${subnet.name}: hostIP ${JSON.stringify(subnet.hostIP)} is not an IPv4 address: the overlay needs one`,
      );
      continue;
    }
    const [, , c, d] = ip.address.split('.').map(Number) as [number, number, number, number];
    const index = ((c & 0x0f) << 8) | d;
    if (index === 0 || index === 0xfff) {
      problems.push(
        `HostSubnet ${subnet.name}: hostIP ${ip.address} ends in ${index === 0 ? '.0' : '.255'} of its /20: no overlay index`,
      );
      continue;
    }
    const hex = (n: number) => n.toString(16).padStart(2, '0');
    const node: OverlayNode = {
      name: subnet.host,
      hostIP: ip.address,
      index,
      mac: `02:65:67:00:${hex(index >> 8)}:${hex(index & 0xff)}`,
      via4: `169.254.${index >> 8}.${index & 0xff}`,
      via6: `fe80::6567:${index.toString(16)}`,
      table: OVERLAY.tableBase + index,
      mark: markOf(index),
    };
    byIndex.set(index, [...(byIndex.get(index) ?? []), node]);
  }
  const nodes: OverlayNode[] = [];
  for (const [index, sharing] of byIndex) {
    if (sharing.length > 1) {
      problems.push(
        `nodes ${sharing.map((n) => `${n.name} (${n.hostIP})`).join(', ')} share overlay index ${index} (the low 12 bits of their address): left out`,
      );
      continue;
    }
    nodes.push(sharing[0] as OverlayNode);
  }
  nodes.sort((a, b) => (a.name < b.name ? -1 : 1));
  return {
    self: nodes.find((n) => n.name === nodeName),
    peers: nodes.filter((n) => n.name !== nodeName),
    problems,
  };
}
