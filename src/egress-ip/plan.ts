/**
 * Static egress IPs (seed 6.6): which node hosts which namespace's egress IP, and what this node
 * does about it. Pure: the cluster's objects (and, for automatic IPs, which nodes answer and what
 * they hold) in, a plan out; src/egress-ip's apply layer makes it real.
 */
import type { ClusterState } from '../cluster/types.js';
import { parseIp } from '../destination-parser/address.js';
import { addressRange, type IpRange, parseCanonicalCidr, within } from '../firewall/ip-range.js';
import { assignEgressIps, type CandidateNode, compareAddresses } from './assign.js';

/** What the egress IP planner needs. */
export interface EgressIpInput {
  readonly state: ClusterState;
  readonly nodeName: string;
  /** The pod networks: only pod addresses in them are sources. */
  readonly clusterNetworks: readonly IpRange[];
  /** Automatic mode: the nodes that answer (this node always does). Default: every node. */
  readonly alive?: ReadonlySet<string>;
  /** Automatic mode: false while this node is fenced (its Lease not current): it gets nothing. */
  readonly selfCandidate?: boolean;
  /** Automatic mode: which nodes say they host each IP now. */
  readonly current?: ReadonlyMap<string, readonly string[]>;
  /**
   * The node network, as this node's interface holding its hostIP has it (every node is taken to be
   * on the same one): an egress IP outside it cannot be hosted (openshift-sdn's `egress IP %q is not
   * in local network`). Unchecked when absent.
   */
  readonly nodeNetwork?: {
    readonly interface: string;
    readonly networks: readonly { readonly range: IpRange; readonly text: string }[];
  };
}

/** How one namespace with egress IPs leaves the cluster. */
export interface NamespaceEgressStatus {
  readonly namespace: string;
  /** The IP in use (the first of `egressIPs`), when valid. */
  readonly ip?: string;
  /** `hosted`: SNATed to `ip` on `node`; `dropped`: its external traffic is dropped (`reason`). */
  readonly state: 'hosted' | 'dropped';
  readonly node?: string;
  /** The hosting node's address on the node network, where other nodes send the traffic. */
  readonly hostIP?: string;
  /** `manual` (a HostSubnet lists it) or `automatic` (egressCIDRs). */
  readonly mode?: 'manual' | 'automatic';
  readonly reason?: string;
  readonly warnings: readonly string[];
}

/** This node's part. */
export interface EgressIpPlan {
  /** Every namespace with egress IPs, sorted by name. */
  readonly statuses: readonly NamespaceEgressStatus[];
  /** HostSubnets' own problems (bad entries), each one line. */
  readonly problems: readonly string[];
  /** The IPs this node hosts, each with the pod addresses (on every node) SNATed to it. */
  readonly hosted: readonly {
    readonly ip: string;
    readonly namespace: string;
    readonly sources: readonly string[];
  }[];
  /** This node's pods whose egress IP is on another node: pod address → that node's hostIP. */
  readonly remote: ReadonlyMap<string, string>;
  /** This node's pods whose namespace's external traffic is dropped. */
  readonly dropped: ReadonlySet<string>;
  /** The IPs this node hosts automatically (what it tells the other nodes it holds). */
  readonly automatic: readonly string[];
}

interface NodeRecord {
  readonly name: string;
  readonly hostIP: string;
  readonly ips: readonly string[];
  readonly cidrs: readonly IpRange[];
}

/**
 * Plans egress IPs with the seed's semantics (openshift-sdn 3.7's, where they differ later):
 *
 * - A NetNamespace's first egress IP is used; the others are ignored, with a warning.
 * - A HostSubnet's egressIPs are hosted by its node (manual mode); an IP no HostSubnet lists is
 *   placed on a node whose egressCIDRs hold it (automatic mode, assignEgressIps).
 * - An IP that no node hosts, that two HostSubnets claim, that two namespaces use, or that is a
 *   node's own address: the namespace's external traffic is dropped, and the status says why.
 *
 * @param input the objects, this node, the networks, and the automatic mode's view
 * @returns the plan
 */
export function planEgressIps(input: EgressIpInput): EgressIpPlan {
  const { state } = input;
  const problems: string[] = [];
  const nodes: NodeRecord[] = [];
  for (const subnet of [...state.hostSubnets.values()].sort((a, b) => (a.host < b.host ? -1 : 1))) {
    const ips: string[] = [];
    subnet.egressIPs.forEach((value, i) => {
      const ip = typeof value === 'string' ? parseIp(value) : undefined;
      if (ip && ip.address === value) ips.push(ip.address);
      else
        problems.push(
          `HostSubnet ${subnet.name}: egressIPs[${i}]: Invalid value: ${JSON.stringify(value)}: invalid IP address`,
        );
    });
    const cidrs: IpRange[] = [];
    subnet.egressCIDRs.forEach((value, i) => {
      const parsed = typeof value === 'string' ? parseCanonicalCidr(value) : undefined;
      if (parsed?.ok) cidrs.push(parsed.range);
      else
        problems.push(
          `HostSubnet ${subnet.name}: egressCIDRs[${i}]: Invalid value: ${JSON.stringify(value)}: ${parsed && parsed.reason === 'noncanonical' ? `not in canonical form (should be ${parsed.canonical})` : 'invalid CIDR address'}`,
        );
    });
    nodes.push({ name: subnet.host, hostIP: subnet.hostIP, ips, cidrs });
  }
  const nodeIPs = new Set(nodes.map((n) => parseIp(n.hostIP)?.address ?? n.hostIP));
  const byName = new Map(nodes.map((n) => [n.name, n]));

  // Namespaces: the first valid egress IP each.
  const wanted = new Map<string, { ip?: string; warnings: string[]; reason?: string }>();
  for (const netns of state.netNamespaces.values()) {
    if (netns.egressIPs.length === 0) continue;
    const [first, ...rest] = netns.egressIPs;
    const warnings =
      rest.length > 0
        ? [`Ignoring extra EgressIPs (${rest.map(String).join(', ')}) in NetNamespace "${netns.name}"`]
        : [];
    const ip = typeof first === 'string' ? parseIp(first) : undefined;
    if (!ip || ip.address !== first) {
      wanted.set(netns.netname, {
        warnings,
        reason: `egressIPs[0]: Invalid value: ${JSON.stringify(first)}: invalid IP address; dropping all external traffic`,
      });
    } else {
      wanted.set(netns.netname, { ip: ip.address, warnings });
    }
  }
  const users = new Map<string, string[]>();
  for (const [namespace, want] of wanted) {
    if (want.ip) users.set(want.ip, [...(users.get(want.ip) ?? []), namespace]);
  }
  const claims = new Map<string, NodeRecord[]>();
  for (const node of nodes) for (const ip of node.ips) claims.set(ip, [...(claims.get(ip) ?? []), node]);

  // Automatic placement for requested IPs no HostSubnet lists.
  const unlisted = [...users.keys()]
    .filter((ip) => !claims.has(ip) && !nodeIPs.has(ip))
    .sort(compareAddresses);
  const alive = input.alive ?? new Set(nodes.map((n) => n.name));
  const candidates: CandidateNode[] = nodes
    .filter((n) => n.cidrs.length > 0)
    .map((n) => ({
      name: n.name,
      cidrs: n.cidrs,
      alive: n.name === input.nodeName ? input.selfCandidate !== false : alive.has(n.name),
      manual: n.ips.length,
    }));
  const automatic = new Map(
    assignEgressIps(unlisted, candidates, input.current ?? new Map()).map((a) => [a.ip, a]),
  );

  const statuses: NamespaceEgressStatus[] = [];
  const hostOf = new Map<string, { node: NodeRecord; mode: 'manual' | 'automatic' }>();
  for (const [namespace, want] of [...wanted].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const base = { namespace, warnings: want.warnings };
    const ip = want.ip;
    if (!ip) {
      statuses.push({ ...base, state: 'dropped', reason: want.reason ?? 'no valid egress IP' });
      continue;
    }
    const drop = (reason: string) =>
      statuses.push({ ...base, ip, state: 'dropped', reason: `${reason}; dropping all external traffic` });
    const sharing = users.get(ip) ?? [];
    const claimed = claims.get(ip) ?? [];
    if (sharing.length > 1)
      drop(`Multiple namespaces (${[...sharing].sort().join(', ')}) claiming EgressIP ${ip}`);
    else if (nodeIPs.has(ip)) drop(`desired egress IP ${ip} is the node IP`);
    else if (outsideNodeNetwork(ip, input.nodeNetwork)) {
      const local = input.nodeNetwork?.networks.map((n) => n.text).join(', ') || 'none';
      drop(`egress IP ${ip} is not in local network ${local} of interface ${input.nodeNetwork?.interface}`);
    } else if (claimed.length > 1)
      drop(`Multiple nodes (${claimed.map((n) => n.hostIP).join(', ')}) claiming EgressIP ${ip}`);
    else if (claimed.length === 1) {
      const node = claimed[0] as NodeRecord;
      hostOf.set(namespace, { node, mode: 'manual' });
      statuses.push({ ...base, ip, state: 'hosted', node: node.name, hostIP: node.hostIP, mode: 'manual' });
    } else {
      const placed = automatic.get(ip);
      const node = placed?.node !== undefined ? byName.get(placed.node) : undefined;
      if (!node) {
        drop(
          `no node hosts egress IP ${ip}: ${placed && placed.node === undefined ? placed.reason : 'no HostSubnet lists it'}`,
        );
        continue;
      }
      hostOf.set(namespace, { node, mode: 'automatic' });
      statuses.push({
        ...base,
        ip,
        state: 'hosted',
        node: node.name,
        hostIP: node.hostIP,
        mode: 'automatic',
      });
    }
  }

  // Pods: sources of the hosted IPs, and this node's part.
  const inCluster = (ip: string) => {
    const range = addressRange(ip);
    return range !== undefined && within(range, input.clusterNetworks);
  };
  const sources = new Map<string, string[]>();
  const remote = new Map<string, string>();
  const dropped = new Set<string>();
  const droppedNamespaces = new Set(statuses.filter((s) => s.state === 'dropped').map((s) => s.namespace));
  for (const pod of state.pods.values()) {
    if (pod.hostNetwork || pod.phase === 'Succeeded' || pod.phase === 'Failed') continue;
    for (const text of pod.ips) {
      const ip = parseIp(text)?.address;
      if (!ip || !inCluster(ip)) continue;
      const host = hostOf.get(pod.namespace);
      if (host) {
        sources.set(pod.namespace, [...(sources.get(pod.namespace) ?? []), ip]);
        if (pod.nodeName === input.nodeName && host.node.name !== input.nodeName)
          remote.set(ip, host.node.hostIP);
      } else if (droppedNamespaces.has(pod.namespace) && pod.nodeName === input.nodeName) {
        dropped.add(ip);
      }
    }
  }
  const hosted = statuses
    .filter((s) => s.state === 'hosted' && s.node === input.nodeName)
    .map((s) => ({
      ip: s.ip as string,
      namespace: s.namespace,
      sources: (sources.get(s.namespace) ?? []).sort(),
    }));
  return {
    statuses,
    problems,
    hosted,
    remote,
    dropped,
    automatic: statuses
      .filter((s) => s.node === input.nodeName && s.mode === 'automatic')
      .map((s) => s.ip as string),
  };
}

function outsideNodeNetwork(ip: string, network: EgressIpInput['nodeNetwork']): boolean {
  if (!network) return false;
  const range = addressRange(ip);
  return (
    !range ||
    !within(
      range,
      network.networks.map((n) => n.range),
    )
  );
}
