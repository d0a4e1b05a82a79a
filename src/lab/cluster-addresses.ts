/**
 * The cluster lab's addressing plan and names, pure: what {@link createClusterLab} builds, computed
 * without touching the kernel, so tests and the node agent's fixtures can name the same addresses.
 *
 * ```
 * node network   192.168.50.0/24   fd00:50::/64     gateway .1 / ::1, node i .(10+i) / ::(10+i)
 * cluster net    10.128.0.0/14     fd01::/48        node i: 10.128.(2(i-1)).0/23, fd01:0:0:i::/64
 * service net    172.30.0.0/16     fd02::/112       (named only: nothing answers there)
 * outside        203.0.113.0/24    2001:db8:113::/64  gateway .1 / ::1, servers .25.. / ::25..
 * ```
 *
 * IPv6 host parts are the IPv4 host numbers written as they are (`.25` is `::25`), as in lab.ts.
 *
 * @module
 */

/** Nodes a cluster lab has unless told otherwise. */
export const DEFAULT_CLUSTER_NODES = 3;
/** The most nodes a cluster lab can have. */
export const MAX_CLUSTER_NODES = 16;
/** The most outside addresses beyond the first three. */
export const MAX_EXTRA_OUTSIDE = 200;
/** The first host number a pod gets in its node's subnet (`.10`, `::10`). */
export const FIRST_POD_HOST = 10;
/** The last host number of a node's /23 (10.128.x.0/23 ends at x+1.254). */
export const LAST_POD_HOST = 510;
/** How many node network addresses the lab keeps free for egress IPs (from `.100`, `::100`). */
export const EGRESS_CANDIDATES = 20;

/** Interface names inside the cluster lab's namespaces (names are per namespace). */
export const CLUSTER_INTERFACES = {
  /** In `<p>-sw`: the bridge that is the node network. */
  switchBridge: 'br0',
  /** In `<p>-gw`: the gateway's interface on the node network. */
  gwNode: 'nodenet0',
  /** In `<p>-gw`: the gateway's interface on the outside network. */
  gwOutside: 'outnet0',
  /** In `<p>-out`: the outside servers' interface. */
  outEth0: 'eth0',
  /** In a node: its interface on the node network. */
  nodeUplink: 'eth0',
  /** In a node: the bridge of its pods, holding the pod subnet's gateway. */
  podBridge: 'cbr0',
  /** In a pod: its interface, a veth to its node's cbr0. */
  podEth0: 'eth0',
} as const;

/**
 * The port of br0 in `<p>-sw` for the gateway's nodenet0.
 */
export const SWITCH_GATEWAY_PORT = 'sw-gw';

/**
 * The port of br0 in `<p>-sw` for node i's eth0: what cutNode sets down.
 *
 * @param node the node's number, from 1
 * @returns `sw-n<i>`
 */
export function switchNodePort(node: number): string {
  return `sw-n${node}`;
}

/**
 * The node end (a port of cbr0) of the veth of pod k.
 *
 * @param podIndex the pod's number (its namespace is `<p>-p<k>`)
 * @returns `veth-p<k>`
 */
export function podHostVeth(podIndex: number): string {
  return `veth-p${podIndex}`;
}

/** One node's addresses. */
export interface ClusterNodeAddresses {
  /** The node's number, from 1. */
  readonly index: number;
  /** Its Kubernetes name, `node<i>`: the NODE_NAME of the agent that runs on it. */
  readonly name: string;
  /** Its address on the node network (HostSubnet `hostIP`). */
  readonly node4: string;
  readonly node6: string;
  /** The fixed MAC address of its eth0, as the gateway's neighbour table shows it. */
  readonly mac: string;
  /** Its pod subnet (HostSubnet `subnet`). */
  readonly podSubnet4: string;
  readonly podSubnet6: string;
  /** The pod subnet's gateway, on the node's cbr0: its pods' default route. */
  readonly podGateway4: string;
  readonly podGateway6: string;
}

/** Every address of a cluster lab. */
export interface ClusterLabAddresses {
  /** The node network (the underlay, bridge br0 in `<p>-sw`). */
  readonly nodeNetwork4: string;
  readonly nodeNetwork6: string;
  /** The upstream router's address on the node network: every node's default route. */
  readonly gateway4: string;
  readonly gateway6: string;
  /** The fixed MAC address of the gateway's nodenet0. */
  readonly gatewayMac: string;
  /** The nodes, node 1 first. */
  readonly nodes: readonly ClusterNodeAddresses[];
  /** The cluster (pod) network, made of the nodes' pod subnets. */
  readonly clusterNetwork4: string;
  readonly clusterNetwork6: string;
  /** The service network: named for the agent's configuration, nothing is routed there. */
  readonly serviceNetwork4: string;
  readonly serviceNetwork6: string;
  /**
   * Node network addresses the lab never assigns (`.100`.., `::100`..): for egress IPs that nodes
   * host (HostSubnet `egressIPs`).
   */
  readonly egressCandidates4: readonly string[];
  readonly egressCandidates6: readonly string[];
  /** The outside network. */
  readonly outsideNetwork4: string;
  readonly outsideNetwork6: string;
  /** The gateway's address on the outside network. */
  readonly outsideGateway4: string;
  readonly outsideGateway6: string;
  /** The outside servers' addresses: .25, .26, .27, then one more per extra address. */
  readonly outside4: readonly string[];
  readonly outside6: readonly string[];
}

/** A pod's addresses. */
export interface PodAddresses {
  readonly ip4: string;
  readonly ip6: string;
}

function checkCount(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer from ${min} to ${max}: ${value}`);
  }
}

/**
 * One node's addresses.
 *
 * @param node the node's number, from 1
 * @returns its addresses
 * @throws RangeError when the number is out of range
 */
export function clusterNodeAddresses(node: number): ClusterNodeAddresses {
  checkCount('node', node, 1, MAX_CLUSTER_NODES);
  const host = 10 + node;
  return {
    index: node,
    name: `node${node}`,
    node4: `192.168.50.${host}`,
    node6: `fd00:50::${host}`,
    mac: `02:ec:50:00:00:${host}`,
    podSubnet4: `10.128.${2 * (node - 1)}.0/23`,
    podSubnet6: `fd01:0:0:${node}::/64`,
    podGateway4: `10.128.${2 * (node - 1)}.1`,
    podGateway6: `fd01:0:0:${node}::1`,
  };
}

/**
 * The addresses of a cluster lab.
 *
 * @param nodeCount how many nodes (default 3)
 * @param extraOutsideAddresses outside addresses beyond the first three (default 0)
 * @returns every address, the nodes in order
 * @throws RangeError when a count is out of range
 * @example clusterLabAddresses(2).nodes[1].node4 // '192.168.50.12'
 */
export function clusterLabAddresses(
  nodeCount = DEFAULT_CLUSTER_NODES,
  extraOutsideAddresses = 0,
): ClusterLabAddresses {
  checkCount('nodeCount', nodeCount, 1, MAX_CLUSTER_NODES);
  checkCount('extraOutsideAddresses', extraOutsideAddresses, 0, MAX_EXTRA_OUTSIDE);
  const outsideHosts = Array.from({ length: 3 + extraOutsideAddresses }, (_, i) => 25 + i);
  const candidates = Array.from({ length: EGRESS_CANDIDATES }, (_, i) => 100 + i);
  return {
    nodeNetwork4: '192.168.50.0/24',
    nodeNetwork6: 'fd00:50::/64',
    gateway4: '192.168.50.1',
    gateway6: 'fd00:50::1',
    gatewayMac: '02:ec:50:00:00:01',
    nodes: Array.from({ length: nodeCount }, (_, i) => clusterNodeAddresses(i + 1)),
    clusterNetwork4: '10.128.0.0/14',
    clusterNetwork6: 'fd01::/48',
    serviceNetwork4: '172.30.0.0/16',
    serviceNetwork6: 'fd02::/112',
    egressCandidates4: candidates.map((host) => `192.168.50.${host}`),
    egressCandidates6: candidates.map((host) => `fd00:50::${host}`),
    outsideNetwork4: '203.0.113.0/24',
    outsideNetwork6: '2001:db8:113::/64',
    outsideGateway4: '203.0.113.1',
    outsideGateway6: '2001:db8:113::1',
    outside4: outsideHosts.map((host) => `203.0.113.${host}`),
    outside6: outsideHosts.map((host) => `2001:db8:113::${host}`),
  };
}

/**
 * The addresses of the pod with a given host number in a node's subnets.
 *
 * @param node the node's number, from 1
 * @param host the host number, from 10 (`.10`, `::10`) to 510 (`10.128.x+1.254`, `::510`)
 * @returns the pod's IPv4 and IPv6 addresses
 * @throws RangeError when a number is out of range
 * @example podAddresses(2, 11) // { ip4: '10.128.2.11', ip6: 'fd01:0:0:2::11' }
 */
export function podAddresses(node: number, host: number): PodAddresses {
  checkCount('node', node, 1, MAX_CLUSTER_NODES);
  checkCount('pod host', host, FIRST_POD_HOST, LAST_POD_HOST);
  const third = 2 * (node - 1) + Math.floor(host / 256);
  return { ip4: `10.128.${third}.${host % 256}`, ip6: `fd01:0:0:${node}::${host}` };
}

/** The names of a cluster lab's fixed namespaces. */
export interface ClusterNamespaces {
  /** `<p>-sw`: the switch (bridge br0) of the node network. */
  readonly sw: string;
  /** `<p>-gw`: the upstream router. */
  readonly gw: string;
  /** `<p>-out`: the outside servers. */
  readonly out: string;
  /** `<p>-n1`, `<p>-n2`, ...: the nodes, node 1 first. */
  readonly nodes: readonly string[];
}

/**
 * The fixed namespace names of a cluster lab.
 *
 * @param prefix the lab's prefix
 * @param nodeCount how many nodes
 * @returns the names
 */
export function clusterNamespaces(prefix: string, nodeCount: number): ClusterNamespaces {
  return {
    sw: `${prefix}-sw`,
    gw: `${prefix}-gw`,
    out: `${prefix}-out`,
    nodes: Array.from({ length: nodeCount }, (_, i) => `${prefix}-n${i + 1}`),
  };
}

/**
 * The namespace of pod k.
 *
 * @param prefix the lab's prefix
 * @param podIndex the pod's number, from 1, in the order pods were added
 * @returns `<p>-p<k>`
 */
export function podNamespace(prefix: string, podIndex: number): string {
  return `${prefix}-p${podIndex}`;
}

/** The role part of every cluster lab namespace name: `sw`, `gw`, `out`, `n<i>`, `p<k>`. */
export const CLUSTER_ROLE_PATTERN = '(?:sw|gw|out|n\\d+|p\\d+)';

/**
 * Whether a name is one of the lab's own references (`sw`, `gw`, `out`, `n<i>`, `p<k>`), which a pod
 * may not be named.
 *
 * @param name a pod name
 * @returns true when it would be taken for a namespace role
 */
export function isRoleName(name: string): boolean {
  return new RegExp(`^${CLUSTER_ROLE_PATTERN}$`).test(name);
}
