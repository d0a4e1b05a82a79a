import type { Family } from '../destination-parser/address.js';
import { familyName } from '../destination-parser/address.js';
import type { RuleRange } from './compile-intervals.js';
import { addressRange, bigIntToIp, type IpRange, prefixOf } from './ip-range.js';
import type { FirewallPlan } from './plan.js';

/** The node agent's own table; nothing outside it is touched. */
export const NODE_TABLE = { family: 'inet', name: 'egress_router_node' } as const;
/**
 * The admins' chain (seed 6.5.3's OPENSHIFT-ADMIN-OUTPUT-RULES, in our table): created empty when
 * missing, jumped to for pod-to-external traffic the firewall allowed, never flushed or rewritten.
 */
export const ADMIN_CHAIN = 'OPENSHIFT-ADMIN-OUTPUT-RULES';
/** The forward hook's base chain (pods to outside). Priority filter (0), policy accept: we only ever drop. */
export const BASE_CHAIN = 'forward';
/** The input hook's base chain (pods to this node's own addresses outside the cluster network). */
export const INPUT_CHAIN = 'input';

/** A map value: what the kernel does with a packet whose key matched. */
export type Verdict =
  | { readonly drop: null }
  | { readonly return: null }
  | { readonly jump: { readonly target: string } };

/** One element of a set or map: its key (as nft JSON, and as a range), and a verdict for a map. */
export interface DesiredElement {
  readonly key: unknown;
  readonly range: IpRange;
  readonly verdict?: Verdict;
  /** A data map's value: its bytes as the kernel keeps them, and its text (compared, shown). */
  readonly value?: { readonly bytes: Uint8Array; readonly text: string };
}

/** A set or map of the table. */
export interface DesiredSet {
  readonly kind: 'set' | 'map';
  readonly type: 'ipv4_addr' | 'ipv6_addr';
  /** A map's data type; a verdict map when absent. */
  readonly dataType?: 'ipv4_addr' | 'ipv6_addr';
  readonly interval: boolean;
  /** Every element has a counter (the firewall maps: per-rule counters). */
  readonly counter: boolean;
  /** By a text that identifies the key (`a-b` of the range, or the address). */
  readonly elements: ReadonlyMap<string, DesiredElement>;
  /**
   * A cache the packet path fills (`source . destination` pairs the firewall allowed): declared
   * only, never given elements, and flushed in the same kernel transaction as every change.
   */
  readonly cache?: { readonly timeoutSeconds: number; readonly size: number };
}

/** How long an allowed pair stays in the cache, and how many the cache holds (then: no cache). */
export const ALLOWED_CACHE = { timeoutSeconds: 60, size: 65_536 } as const;

/** A chain of the table: its rules as nft JSON expression lists. */
export interface DesiredChain {
  readonly base?: {
    readonly type: 'filter' | 'nat';
    readonly hook: 'prerouting' | 'forward' | 'input' | 'postrouting';
    readonly prio: number;
    readonly policy: 'accept';
  };
  readonly rules: readonly (readonly unknown[])[];
}

/** The whole table as the agent wants it, apart from the admin chain (which it never writes). */
export interface DesiredTable {
  readonly sets: ReadonlyMap<string, DesiredSet>;
  readonly chains: ReadonlyMap<string, DesiredChain>;
}

const FAMILIES: readonly Family[] = [4, 6];
/**
 * The maps built for a compiled namespace, by its (immutable) plan object: the planner hands back the
 * same object while a namespace's policy and answers are unchanged, so an unchanged namespace costs
 * nothing to build and the same map object tells the transaction planner there is nothing to diff.
 */
const builtMaps = new WeakMap<object, Record<Family, DesiredSet>>();
const PROTOCOL: Record<Family, 'ip' | 'ip6'> = { 4: 'ip', 6: 'ip6' };

/** Names in the table, derived from a namespace's name (a DNS label: letters, digits, `-`). */
export const names = {
  namespaceChain: (namespace: string) => `ns-${namespace}`,
  firewallMap: (namespace: string, family: Family) => `fw${family}-${namespace}`,
  pods: (family: Family) => `pods${family}`,
  cluster: (family: Family) => `cluster${family}`,
  internal: (family: Family) => `internal${family}`,
  egress: (family: Family) => `egress${family}`,
  allowed: (family: Family) => `allowed${family}`,
};

/**
 * The nftables table of a firewall plan. Pure.
 *
 * ```
 * forward (hook forward, priority filter, policy accept)
 *   ip saddr @cluster4 ip daddr != @internal4 goto egress4      (pod to outside the cluster and services)
 * egress4
 *   ip saddr . ip daddr @allowed4 goto OPENSHIFT-ADMIN-OUTPUT-RULES   (allowed since the last change)
 *   ip saddr vmap @pods4                                         (this node's pods of filtered namespaces: jump ns-<namespace>)
 *   add @allowed4 { ip saddr . ip daddr }                        (allowed: remembered until the next change, or 60 s)
 *   jump OPENSHIFT-ADMIN-OUTPUT-RULES                            (what the firewall allowed)
 * ns-<namespace>
 *   ip daddr vmap @fw4-<namespace>                               (disjoint ranges: drop (Deny) or return (Allow), per-element counters)
 *   ip6 daddr vmap @fw6-<namespace>
 *   counter                                                      (no rule matched: allowed)
 * ns-<namespace failed closed>
 *   counter drop
 * input (hook input, priority filter, policy accept)
 *   ip saddr @cluster4 ip daddr != @internal4 meta l4proto { tcp, udp } th dport 53 return   (the node's DNS)
 *   ip saddr @cluster4 ip daddr != @internal4 ip saddr vmap @pods4                           (the node's other ports)
 * ```
 * and the same for IPv6 (`ip6`, `@cluster6`, ...).
 *
 * @param plan the node's firewall plan
 * @returns the table's sets, maps and chains
 */
export function buildFirewallTable(plan: FirewallPlan): DesiredTable {
  const sets = new Map<string, DesiredSet>();
  const chains = new Map<string, DesiredChain>();
  const forwardRules: unknown[][] = [];
  const inputRules: unknown[][] = [];
  for (const family of FAMILIES) {
    const protocol = PROTOCOL[family];
    const type = `${familyName(family)}_addr` as const;
    const cluster = plan.clusterNetworks.filter((r) => r.family === family);
    const internal = [...cluster, ...plan.serviceNetworks.filter((r) => r.family === family)];
    sets.set(names.cluster(family), rangeSet(type, mergeRanges(cluster)));
    sets.set(names.internal(family), rangeSet(type, mergeRanges(internal)));
    forwardRules.push([
      match(protocol, 'saddr', '==', `@${names.cluster(family)}`),
      match(protocol, 'daddr', '!=', `@${names.internal(family)}`),
      { goto: { target: names.egress(family) } },
    ]);
    // To this node's own addresses: DNS (TCP and UDP port 53) always, the rest as the policy says
    // (openshift-sdn exempted only port 53 of the local node's IP); no admin chain (not leaving).
    const podToNode = [
      match(protocol, 'saddr', '==', `@${names.cluster(family)}`),
      match(protocol, 'daddr', '!=', `@${names.internal(family)}`),
    ];
    inputRules.push([
      ...podToNode,
      { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: { set: ['tcp', 'udp'] } } },
      { match: { op: '==', left: { payload: { protocol: 'th', field: 'dport' } }, right: 53 } },
      { return: null },
    ]);
    inputRules.push([
      ...podToNode,
      { vmap: { key: payload(protocol, 'saddr'), data: `@${names.pods(family)}` } },
    ]);
    // A pair the firewall allowed since the last change skips the lookups (one hash lookup a
    // packet, whatever the rules); every change flushes the cache in its own kernel transaction.
    const pair = { concat: [payload(protocol, 'saddr'), payload(protocol, 'daddr')] };
    const allowed = `@${names.allowed(family)}`;
    sets.set(names.allowed(family), {
      kind: 'set',
      type,
      interval: false,
      counter: false,
      elements: new Map(),
      cache: ALLOWED_CACHE,
    });
    chains.set(names.egress(family), {
      rules: [
        [{ match: { op: '==', left: pair, right: allowed } }, { goto: { target: ADMIN_CHAIN } }],
        [{ vmap: { key: payload(protocol, 'saddr'), data: `@${names.pods(family)}` } }],
        [{ set: { op: 'add', elem: pair, set: allowed } }],
        [{ jump: { target: ADMIN_CHAIN } }],
      ],
    });
    const pods = new Map<string, DesiredElement>();
    for (const [ip, namespace] of plan.pods) {
      if (ip.includes(':') !== (family === 6)) continue;
      const range = addressRange(ip);
      if (!range) continue;
      pods.set(ip, { key: ip, range, verdict: { jump: { target: names.namespaceChain(namespace) } } });
    }
    sets.set(names.pods(family), { kind: 'map', type, interval: false, counter: false, elements: pods });
  }
  chains.set(BASE_CHAIN, {
    base: { type: 'filter', hook: 'forward', prio: 0, policy: 'accept' },
    rules: forwardRules,
  });
  chains.set(INPUT_CHAIN, {
    base: { type: 'filter', hook: 'input', prio: 0, policy: 'accept' },
    rules: inputRules,
  });
  for (const [namespace, firewall] of plan.namespaces) {
    const chain = names.namespaceChain(namespace);
    if (firewall.mode === 'closed') {
      chains.set(chain, { rules: [[{ counter: null }, { drop: null }]] });
      continue;
    }
    const rules: unknown[][] = [];
    const allows = new Set(firewall.rules.filter((r) => r.type === 'Allow').map((r) => r.index));
    const verdictOf = (rule: number): Verdict => (allows.has(rule) ? { return: null } : { drop: null });
    let maps = builtMaps.get(firewall);
    if (!maps) {
      maps = {
        4: firewallMap(4, firewall.ranges[4], verdictOf),
        6: firewallMap(6, firewall.ranges[6], verdictOf),
      };
      builtMaps.set(firewall, maps);
    }
    for (const family of FAMILIES) {
      const map = names.firewallMap(namespace, family);
      sets.set(map, maps[family]);
      rules.push([{ vmap: { key: payload(PROTOCOL[family], 'daddr'), data: `@${map}` } }]);
    }
    rules.push([{ counter: null }]);
    chains.set(chain, { rules });
  }
  return { sets, chains };
}

/**
 * The key text and nft JSON of a range, as a map element: a prefix when it is one, else a range.
 *
 * @returns `[text, json]`
 */
export function rangeElement(range: IpRange): [string, unknown] {
  const start = bigIntToIp(range.start, range.family);
  if (range.start === range.end) return [start, start];
  const prefix = prefixOf(range);
  if (prefix !== undefined) return [`${start}/${prefix}`, { prefix: { addr: start, len: prefix } }];
  const end = bigIntToIp(range.end, range.family);
  return [`${start}-${end}`, { range: [start, end] }];
}

function firewallMap(
  family: Family,
  ranges: readonly RuleRange[],
  verdictOf: (rule: number) => Verdict,
): DesiredSet {
  const elements = new Map<string, DesiredElement>();
  for (const range of ranges) {
    const ipRange = { family, start: range.start, end: range.end };
    const [text, key] = rangeElement(ipRange);
    elements.set(text, { key, range: ipRange, verdict: verdictOf(range.rule) });
  }
  return { kind: 'map', type: `${familyName(family)}_addr`, interval: true, counter: true, elements };
}

function rangeSet(type: 'ipv4_addr' | 'ipv6_addr', ranges: readonly IpRange[]): DesiredSet {
  const elements = new Map<string, DesiredElement>();
  for (const range of ranges) {
    const [text, key] = rangeElement(range);
    elements.set(text, { key, range });
  }
  return { kind: 'set', type, interval: true, counter: false, elements };
}

/** Overlapping or touching ranges as one (an interval set refuses overlaps). */
function mergeRanges(ranges: readonly IpRange[]): IpRange[] {
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: IpRange[] = [];
  for (const range of sorted) {
    const last = out[out.length - 1];
    if (last && range.start <= last.end + 1n) {
      if (range.end > last.end) out[out.length - 1] = { ...last, end: range.end };
    } else {
      out.push(range);
    }
  }
  return out;
}

function payload(protocol: 'ip' | 'ip6', field: 'saddr' | 'daddr') {
  return { payload: { protocol, field } };
}

function match(protocol: 'ip' | 'ip6', field: 'saddr' | 'daddr', op: '==' | '!=', right: string) {
  return { match: { op, left: payload(protocol, field), right } };
}
