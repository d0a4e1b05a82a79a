/**
 * NetNamespace and HostSubnet manifests for a cluster lab (the node agent's directory source), as
 * the egress IP tests and benchmarks write them.
 */
import type { ClusterLab } from './cluster-lab.js';

/** What each node's HostSubnet offers. */
export interface HostSubnetEgress {
  /** HostSubnet.egressIPs of node i (1-based). */
  readonly egressIPs?: (node: number) => readonly string[];
  /** HostSubnet.egressCIDRs of node i (1-based). */
  readonly egressCIDRs?: (node: number) => readonly string[];
}

/**
 * One HostSubnet per lab node (`node<i>`, its node address and pod subnet), as JSON documents.
 *
 * @returns the documents, `---` between them
 */
export function hostSubnetManifests(lab: ClusterLab, egress: HostSubnetEgress = {}): string {
  return lab.addresses.nodes
    .map((n, i) =>
      JSON.stringify({
        apiVersion: 'network.openshift.io/v1',
        kind: 'HostSubnet',
        metadata: { name: `node${i + 1}` },
        host: `node${i + 1}`,
        hostIP: n.node4,
        subnet: n.podSubnet4,
        egressIPs: egress.egressIPs?.(i + 1) ?? [],
        egressCIDRs: egress.egressCIDRs?.(i + 1) ?? [],
      }),
    )
    .join('\n---\n');
}

/** A NetNamespace named after its namespace, as a JSON document. */
export function netNamespaceManifest(name: string, netid: number, egressIPs: readonly string[]): string {
  return JSON.stringify({
    apiVersion: 'network.openshift.io/v1',
    kind: 'NetNamespace',
    metadata: { name },
    netname: name,
    netid,
    egressIPs,
  });
}
