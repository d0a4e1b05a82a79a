import type { ClusterState } from '../cluster/types.js';

/** A namespace's place in the pod network, from its NetNamespace. */
export interface NamespaceNetwork {
  /** netid 0: reaches and is reached by every namespace (`oc adm pod-network make-projects-global`). */
  readonly global: boolean;
  /** The other namespaces with the same netid (`oc adm pod-network join-projects`), sorted. */
  readonly joined: readonly string[];
}

/**
 * Each namespace's network, from the NetNamespaces (named after their namespace; `netname` says
 * which). A namespace without a NetNamespace (plain Kubernetes, or the ovs-subnet plugin) is its
 * own network; `default` is then global, as openshift-sdn made it. Pure.
 *
 * @param state the cluster's objects
 * @returns by namespace name, for every namespace that has a NetNamespace or is `default`
 */
export function namespaceNetworks(state: ClusterState): Map<string, NamespaceNetwork> {
  const byNetid = new Map<number, string[]>();
  const netids = new Map<string, number | undefined>();
  for (const netns of state.netNamespaces.values()) {
    netids.set(netns.netname, netns.netid);
    if (netns.netid === undefined || netns.netid === 0) continue;
    const members = byNetid.get(netns.netid) ?? [];
    members.push(netns.netname);
    byNetid.set(netns.netid, members);
  }
  const out = new Map<string, NamespaceNetwork>();
  for (const [name, netid] of netids) {
    const members = netid === undefined || netid === 0 ? [] : (byNetid.get(netid) ?? []);
    out.set(name, { global: netid === 0, joined: members.filter((m) => m !== name).sort() });
  }
  if (!out.has('default')) out.set('default', { global: true, joined: [] });
  return out;
}
