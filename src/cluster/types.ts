/**
 * The cluster objects the node agent reads, as typed values: only the fields it uses, read from the
 * shapes `oc get -o yaml` prints (OpenShift 3.11's `network.openshift.io/v1`, core `v1`). What a
 * field holds is checked by the concern that uses it (the firewall validates a policy's rules with
 * the API server's messages); here only the shape is.
 */

/** The kinds an object source delivers. */
export const CLUSTER_KINDS = [
  'Namespace',
  'Pod',
  'EgressNetworkPolicy',
  'NetNamespace',
  'HostSubnet',
] as const;
export type ClusterKind = (typeof CLUSTER_KINDS)[number];

/** The API group and version of the OpenShift network kinds (and of our CRDs on plain Kubernetes). */
export const NETWORK_API_VERSION = 'network.openshift.io/v1';

/** A Namespace (core v1). */
export interface NamespaceObject {
  readonly name: string;
}

/** A Pod (core v1): where it runs and its addresses. */
export interface PodObject {
  readonly namespace: string;
  readonly name: string;
  /** `spec.nodeName`: unset while the pod is not scheduled. */
  readonly nodeName: string | undefined;
  /** `spec.hostNetwork`: such a pod has its node's addresses, not the cluster network's. */
  readonly hostNetwork: boolean;
  /** `status.phase` (`Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`), when known. */
  readonly phase: string | undefined;
  /** `status.podIPs[].ip`, or `status.podIP` when the list is absent; in the order given. */
  readonly ips: readonly string[];
}

/** One entry of `spec.egress`, as written: the firewall validates it. */
export interface EgressRuleInput {
  readonly type: unknown;
  readonly to: { readonly cidrSelector?: unknown; readonly dnsName?: unknown } | unknown;
}

/** An EgressNetworkPolicy (network.openshift.io/v1, namespaced). */
export interface EgressNetworkPolicyObject {
  readonly namespace: string;
  readonly name: string;
  /** `metadata.creationTimestamp`, when given. */
  readonly creationTimestamp: string | undefined;
  /** `spec.egress` as written; not an array when the object has none or another value. */
  readonly egress: unknown;
}

/** A NetNamespace (network.openshift.io/v1, cluster-scoped, named after its namespace). */
export interface NetNamespaceObject {
  readonly name: string;
  /** `netname` (the namespace's name; the object's name when absent). */
  readonly netname: string;
  /** `netid`: 0 is global; namespaces sharing one are joined. Undefined when absent or not a number. */
  readonly netid: number | undefined;
  /** `egressIPs` as written (strings are checked by the egress IP concern). */
  readonly egressIPs: readonly unknown[];
}

/** A HostSubnet (network.openshift.io/v1, cluster-scoped, named after its node). */
export interface HostSubnetObject {
  readonly name: string;
  /** `host`: the node's name (the object's name when absent). */
  readonly host: string;
  /** `hostIP`: the node's address on the node network. */
  readonly hostIP: string;
  /** `subnet`: the node's pod subnet. */
  readonly subnet: string;
  /** `egressIPs` as written: the egress IPs this node hosts. */
  readonly egressIPs: readonly unknown[];
  /** `egressCIDRs` as written: ranges this node offers for automatic assignment. */
  readonly egressCIDRs: readonly unknown[];
}

/** An object a source could not read: where it came from and why, in one line. */
export interface SourceProblem {
  /** Where: a file (and document number), or `kind namespace/name` from the API. */
  readonly origin: string;
  readonly message: string;
}

/**
 * Everything a source knows at one moment: a value, never changed after it was delivered. Keys:
 * `namespace/name` for namespaced kinds, `name` for the others.
 */
export interface ClusterState {
  readonly namespaces: ReadonlyMap<string, NamespaceObject>;
  readonly pods: ReadonlyMap<string, PodObject>;
  readonly egressNetworkPolicies: ReadonlyMap<string, EgressNetworkPolicyObject>;
  readonly netNamespaces: ReadonlyMap<string, NetNamespaceObject>;
  readonly hostSubnets: ReadonlyMap<string, HostSubnetObject>;
  /** Objects that were left out, each with why. */
  readonly problems: readonly SourceProblem[];
}

/**
 * Where the node agent reads the cluster's objects from. A source lists every kind, then follows
 * changes (watch); after any gap in what it followed (a lost watch, a `410 Gone`, an unreadable
 * directory) it lists again, so a state it delivers is always a whole one.
 */
export interface ObjectSource {
  /** For logs and status: `dir:/path` or `kubernetes https://host:port`. */
  readonly description: string;
  /**
   * Lists everything, calls `onState` with the first whole state, then again with a new whole
   * state after every change it sees (a burst of changes may come as one call).
   *
   * @param onState told every whole state, the first one before the returned promise resolves
   * @param onError told of a problem the source is recovering from by itself (a lost connection)
   * @throws when the first list fails (a directory that is not there, an API that refuses us)
   */
  start(onState: (state: ClusterState) => void, onError?: (error: Error) => void): Promise<void>;
  /** Stops following. Idempotent. */
  close(): Promise<void>;
}

/** An empty state. */
export function emptyClusterState(): ClusterState {
  return {
    namespaces: new Map(),
    pods: new Map(),
    egressNetworkPolicies: new Map(),
    netNamespaces: new Map(),
    hostSubnets: new Map(),
    problems: [],
  };
}
