import type { ClusterState, EgressNetworkPolicyObject } from '../cluster/types.js';
import { parseIp } from '../destination-parser/address.js';
import { type CheckedPolicy, checkPolicy } from './check-policy.js';
import { compileFirstMatch, type RuleRange } from './compile-intervals.js';
import { addressRange, type IpRange, within } from './ip-range.js';
import { namespaceNetworks } from './networks.js';
import { type EgressRule, MAX_EGRESS_RULES } from './validate-policy.js';

/** The addresses a dnsName rule currently stands for (kept by the agent's DNS tracker). */
export type DnsAddresses = ReadonlyMap<string, readonly string[]>;

/** What the firewall of one node is planned from. */
export interface FirewallInput {
  readonly state: ClusterState;
  /** This node's name: only its own pods' traffic passes its forward hook. */
  readonly nodeName: string;
  /** The cluster (pod) networks: sources the firewall applies to, destinations it never filters. */
  readonly clusterNetworks: readonly IpRange[];
  /** The service networks: destinations it never filters. */
  readonly serviceNetworks: readonly IpRange[];
  /** Each dnsName's current addresses; a name not in it has none yet. */
  readonly dns: DnsAddresses;
  readonly maxRules?: number;
}

/** How one namespace's external traffic is treated. */
export type NamespaceFirewall =
  | {
      readonly mode: 'enforce';
      /** `namespace/name` of the policy. */
      readonly policy: string;
      readonly rules: readonly EgressRule[];
      /** Disjoint ranges with the deciding rule's index, per family. */
      readonly ranges: { readonly 4: readonly RuleRange[]; readonly 6: readonly RuleRange[] };
    }
  | { readonly mode: 'closed'; readonly reason: string };

/** What an admin reads about a namespace with a policy (`egress-router node status`). */
export interface NamespaceStatus {
  readonly namespace: string;
  /** The policies in it, `name` each. */
  readonly policies: readonly string[];
  /** `enforced`; `failed-closed` (its external traffic is dropped); `not-enforced` (ignored). */
  readonly state: 'enforced' | 'failed-closed' | 'not-enforced';
  /** Why, when not simply enforced: one line. */
  readonly reason?: string;
  /** Every validation problem of its policy, in the API server's words. */
  readonly errors?: readonly string[];
  readonly warnings: readonly string[];
  /** Rules in the enforced policy. */
  readonly rules?: number;
  /** Pods of this node it applies to. */
  readonly pods: number;
}

/** The whole firewall of one node: what the nftables ruleset is built from. */
export interface FirewallPlan {
  readonly clusterNetworks: readonly IpRange[];
  readonly serviceNetworks: readonly IpRange[];
  /** Namespaces whose external traffic is filtered or dropped, by name. */
  readonly namespaces: ReadonlyMap<string, NamespaceFirewall>;
  /** This node's pod addresses (canonical text) in those namespaces, to their namespace. */
  readonly pods: ReadonlyMap<string, string>;
  /** Every namespace with a policy, sorted by name. */
  readonly statuses: readonly NamespaceStatus[];
  /** The dnsNames of enforced policies: what the agent keeps resolved. */
  readonly dnsNames: ReadonlySet<string>;
}

/** Compiled namespaces kept between plans: same policy and same answers give the same ranges. */
export type CompileCache = Map<
  string,
  { readonly checked: CheckedPolicy; readonly answers?: string; readonly firewall?: NamespaceFirewall }
>;

/**
 * Plans a node's egress firewall with openshift-sdn's semantics. Pure (the cache only saves work).
 *
 * - A policy with no rules is no policy (openshift-sdn dropped it on every watch event).
 * - A policy in a global namespace (netid 0, or `default` without a NetNamespace) is not enforced
 *   (openshift-sdn logged and ignored it: dropping there would cut the cluster's infrastructure).
 * - A policy in a namespace joined with others (one netid) fails all of them closed.
 * - A namespace has at most one EgressNetworkPolicy; a second one fails it closed.
 * - `0.0.0.0/32` is taken as `0.0.0.0/0`, with a warning, as openshift-sdn corrected it.
 * - A policy the API server would have refused fails its namespace closed, with every message.
 * - Otherwise its rules apply in order, first match wins; no match allows.
 *
 * @param input the cluster's objects, this node, the networks and the current DNS answers
 * @param cache compiled namespaces of the last plan (updated)
 * @returns the plan
 */
export function planFirewall(input: FirewallInput, cache: CompileCache = new Map()): FirewallPlan {
  const { state } = input;
  const byNamespace = new Map<string, EgressNetworkPolicyObject[]>();
  for (const policy of state.egressNetworkPolicies.values()) {
    if (Array.isArray(policy.egress) && policy.egress.length === 0) continue;
    const list = byNamespace.get(policy.namespace) ?? [];
    list.push(policy);
    byNamespace.set(policy.namespace, list);
  }
  const networks = namespaceNetworks(state);
  const namespaces = new Map<string, NamespaceFirewall>();
  const notes = new Map<
    string,
    {
      reason?: string;
      errors?: string[];
      warnings: string[];
      state: NamespaceStatus['state'];
      rules?: number;
    }
  >();
  const dnsNames = new Set<string>();
  const cidrs = [...input.clusterNetworks];
  const ipv6Cluster = cidrs.some((range) => range.family === 6);

  for (const [namespace, policies] of [...byNamespace].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    policies.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const listed = policies.map((p) => `${namespace}:${p.name}`).join(', ');
    const network = networks.get(namespace) ?? { global: false, joined: [] as string[] };
    if (network.global) {
      notes.set(namespace, {
        state: 'not-enforced',
        reason: `EgressNetworkPolicy in global network namespace is not allowed (${listed}); ignoring`,
        warnings: [],
      });
      continue;
    }
    if (network.joined.length > 0) {
      const members = [namespace, ...network.joined].sort();
      const reason = `EgressNetworkPolicy not allowed in shared NetNamespace (${members.join(', ')}); dropping all traffic`;
      for (const member of members) {
        namespaces.set(member, { mode: 'closed', reason });
        notes.set(member, { state: 'failed-closed', reason, warnings: [] });
      }
      continue;
    }
    if (policies.length > 1) {
      const reason = `multiple EgressNetworkPolicies in same network namespace (${listed}) is not allowed; dropping all traffic`;
      namespaces.set(namespace, { mode: 'closed', reason });
      notes.set(namespace, { state: 'failed-closed', reason, warnings: [] });
      continue;
    }
    const policy = policies[0]!;
    const checked = checkPolicy(policy, input.maxRules ?? MAX_EGRESS_RULES, cache.get(namespace)?.checked);
    if (!checked.ok) {
      const errors = checked.errors;
      const reason = `invalid EgressNetworkPolicy ${namespace}/${policy.name}: ${errors[0]}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}; dropping all traffic`;
      namespaces.set(namespace, { mode: 'closed', reason });
      notes.set(namespace, { state: 'failed-closed', reason, errors: [...errors], warnings: [] });
      cache.set(namespace, { checked });
      continue;
    }
    const warnings: string[] = [...checked.warnings];
    const { rules } = checked;
    for (const rule of checked.dnsRules) dnsNames.add(rule.name);
    const firewall = compileNamespace(checked, input.dns, cache, namespace);
    namespaces.set(namespace, firewall);
    if (ipv6Cluster) {
      const v4All = rules.find((r) => r.type === 'Deny' && r.to.kind === 'cidr' && r.to.cidr === '0.0.0.0/0');
      const v6All = rules.some(
        (r) =>
          r.to.kind === 'cidr' &&
          r.to.range.family === 6 &&
          r.to.range.start === 0n &&
          r.to.range.end === (1n << 128n) - 1n,
      );
      if (v4All && !v6All) {
        warnings.push(
          `spec.egress[${v4All.index}] denies 0.0.0.0/0, which covers IPv4 only: IPv6 destinations no rule matches are allowed (add a Deny of ::/0)`,
        );
      }
    }
    for (const rule of checked.dnsRules) {
      if ((input.dns.get(rule.name) ?? []).length === 0) {
        warnings.push(
          `spec.egress[${rule.index}] dnsName ${rule.name} has no address yet (it matches nothing until it resolves)`,
        );
      }
    }
    notes.set(namespace, { state: 'enforced', warnings, rules: rules.length });
  }
  for (const key of cache.keys()) if (!namespaces.has(key)) cache.delete(key);

  const pods = new Map<string, string>();
  const podCounts = new Map<string, number>();
  for (const pod of state.pods.values()) {
    if (pod.nodeName !== input.nodeName || pod.hostNetwork || !namespaces.has(pod.namespace)) continue;
    if (pod.phase === 'Succeeded' || pod.phase === 'Failed') continue;
    let counted = false;
    for (const ip of pod.ips) {
      const range = addressRange(ip);
      if (range === undefined || !within(range, cidrs)) continue;
      pods.set(parseIp(ip)!.address, pod.namespace);
      counted = true;
    }
    if (counted) podCounts.set(pod.namespace, (podCounts.get(pod.namespace) ?? 0) + 1);
  }
  const statuses: NamespaceStatus[] = [...notes]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([namespace, note]) => ({
      namespace,
      policies: (byNamespace.get(namespace) ?? []).map((p) => p.name),
      ...note,
      pods: podCounts.get(namespace) ?? 0,
    }));
  return {
    clusterNetworks: input.clusterNetworks,
    serviceNetworks: input.serviceNetworks,
    namespaces,
    pods,
    statuses,
    dnsNames,
  };
}

function compileNamespace(
  checked: CheckedPolicy & { ok: true },
  dns: DnsAddresses,
  cache: CompileCache,
  namespace: string,
): NamespaceFirewall {
  const { rules } = checked;
  const answers = checked.dnsRules
    .map((rule) => `${rule.name} ${(dns.get(rule.name) ?? []).join(' ')}`)
    .join('\n');
  const cached = cache.get(namespace);
  if (cached?.checked === checked && cached.answers === answers && cached.firewall) return cached.firewall;
  const policy = checked.policy;
  const byFamily: { 4: RuleRange[]; 6: RuleRange[] } = { 4: [], 6: [] };
  for (const rule of rules) {
    if (rule.to.kind === 'cidr') {
      byFamily[rule.to.range.family].push({
        start: rule.to.range.start,
        end: rule.to.range.end,
        rule: rule.index,
      });
      continue;
    }
    for (const address of dns.get(rule.to.name) ?? []) {
      const range = addressRange(address);
      if (range) byFamily[range.family].push({ start: range.start, end: range.end, rule: rule.index });
    }
  }
  const firewall: NamespaceFirewall = {
    mode: 'enforce',
    policy,
    rules,
    ranges: { 4: compileFirstMatch(byFamily[4]), 6: compileFirstMatch(byFamily[6]) },
  };
  cache.set(namespace, { checked, answers, firewall });
  return firewall;
}
