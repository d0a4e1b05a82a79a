/**
 * Cluster states for the node firewall benchmarks: namespaces with an EgressNetworkPolicy each,
 * made of many ordered CIDR rules (and optionally dnsName rules), and this node's pods in them.
 * Deterministic (a seeded generator), so every run and every case measures the same rules.
 */
import type { ClusterState, EgressRuleInput, PodObject } from '../src/cluster/types.js';
import { bigIntToIp, type IpRange, parseCanonicalCidr } from '../src/firewall/ip-range.js';

/** The node the benchmarks plan for. */
export const BENCH_NODE = 'node-1';

/** What to generate. */
export interface PolicyStateOptions {
  readonly namespaces: number;
  /** Rules per policy (CIDR rules; the last `dnsNames` of them are dnsName rules instead). */
  readonly rules: number;
  /** dnsName rules per policy (names `n<i>.<namespace>.bench.test`). Default 0. */
  readonly dnsNames?: number;
  /** This node's pods per namespace, addresses from 10.128.0.0/14. Default 10. */
  readonly podsPerNamespace?: number;
  /** Ranges no rule may touch (the traffic the benchmark measures must match no rule). */
  readonly avoid?: readonly string[];
  /** Share of the CIDR rules that are IPv6 (0..1). Default 0.25. */
  readonly ipv6Share?: number;
  readonly seed?: number;
}

/** A small deterministic generator (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The namespace names the state uses, in order. */
export function benchNamespace(index: number): string {
  return `bench-${String(index).padStart(3, '0')}`;
}

/**
 * Ordered rules: random canonical CIDRs (IPv4 /8../32, IPv6 /16../128), Allow or Deny at random,
 * none overlapping `avoid`.
 *
 * @param count how many rules
 * @param next the random source
 * @param avoid CIDRs no rule may overlap
 * @param ipv6Share share of IPv6 rules
 * @returns the rules, as `spec.egress` entries
 */
export function randomCidrRules(
  count: number,
  next: () => number,
  avoid: readonly string[] = [],
  ipv6Share = 0.25,
): EgressRuleInput[] {
  const avoided = avoid.map((text) => {
    const parsed = parseCanonicalCidr(text);
    if (!parsed.ok) throw new Error(`not a canonical CIDR: ${text}`);
    return parsed.range;
  });
  const rules: EgressRuleInput[] = [];
  while (rules.length < count) {
    const cidr = next() < ipv6Share ? randomCidr6(next) : randomCidr4(next);
    const range = rangeOf(cidr);
    if (avoided.some((a) => a.family === range.family && a.start <= range.end && range.start <= a.end))
      continue;
    rules.push({ type: next() < 0.5 ? 'Allow' : 'Deny', to: { cidrSelector: cidr } });
  }
  return rules;
}

/**
 * A cluster state: `namespaces` namespaces, each with one policy and its pods on BENCH_NODE.
 *
 * @returns the state, as a source would deliver it
 */
export function policyState(options: PolicyStateOptions): ClusterState {
  const next = random(options.seed ?? 1);
  const pods = options.podsPerNamespace ?? 10;
  const names = options.dnsNames ?? 0;
  const state = {
    namespaces: new Map<string, { name: string }>(),
    pods: new Map<string, PodObject>(),
    egressNetworkPolicies: new Map(),
    netNamespaces: new Map(),
    hostSubnets: new Map(),
    problems: [],
  };
  let podIndex = 0;
  for (let n = 0; n < options.namespaces; n++) {
    const namespace = benchNamespace(n);
    state.namespaces.set(namespace, { name: namespace });
    const egress: EgressRuleInput[] = randomCidrRules(
      options.rules - names,
      next,
      options.avoid,
      options.ipv6Share,
    );
    for (let i = 0; i < names; i++)
      egress.push({ type: 'Allow', to: { dnsName: benchDnsName(namespace, i) } });
    state.egressNetworkPolicies.set(`${namespace}/default`, {
      namespace,
      name: 'default',
      creationTimestamp: undefined,
      egress,
    });
    for (let p = 0; p < pods; p++) {
      podIndex++;
      const ip = bigIntToIp(0x0a800000n + BigInt(podIndex) + 1n, 4);
      state.pods.set(`${namespace}/pod-${p}`, {
        namespace,
        name: `pod-${p}`,
        nodeName: BENCH_NODE,
        hostNetwork: false,
        phase: 'Running',
        ips: [ip],
      });
    }
  }
  return state;
}

/** The i-th dnsName of a namespace's policy. */
export function benchDnsName(namespace: string, index: number): string {
  return `n${index}.${namespace}.bench.test`;
}

/**
 * The same state with one namespace's policy changed: its first rule's verdict flipped.
 *
 * @returns a new state (the given one is unchanged)
 */
export function withOneRuleFlipped(state: ClusterState, namespace: string): ClusterState {
  const key = `${namespace}/default`;
  const policy = state.egressNetworkPolicies.get(key);
  if (!policy || !Array.isArray(policy.egress)) throw new Error(`no policy ${key}`);
  const [first, ...rest] = policy.egress as EgressRuleInput[];
  const flipped = { ...first, type: first?.type === 'Allow' ? 'Deny' : 'Allow' } as EgressRuleInput;
  const policies = new Map(state.egressNetworkPolicies);
  policies.set(key, { ...policy, egress: [flipped, ...rest] });
  return { ...state, egressNetworkPolicies: policies };
}

function randomCidr4(next: () => number): string {
  const prefix = 8 + Math.floor(next() * 25);
  const value = BigInt(Math.floor(next() * 2 ** 32));
  return canonical(value, prefix, 32, 4);
}

function randomCidr6(next: () => number): string {
  const prefix = 16 + Math.floor(next() * 113);
  let value = 0x2000n << 112n; // 2000::/3, global unicast
  for (let i = 0; i < 4; i++) value |= BigInt(Math.floor(next() * 2 ** 29)) << BigInt(i * 29);
  return canonical(value, prefix, 128, 6);
}

function canonical(value: bigint, prefix: number, bits: number, family: 4 | 6): string {
  const hostBits = BigInt(bits - prefix);
  const network = (value >> hostBits) << hostBits;
  return `${bigIntToIp(network, family)}/${prefix}`;
}

function rangeOf(cidr: string): IpRange {
  const parsed = parseCanonicalCidr(cidr);
  if (!parsed.ok) throw new Error(`generated a bad CIDR: ${cidr}`);
  return parsed.range;
}
