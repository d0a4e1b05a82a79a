/**
 * The pure parts of the node firewall datapath benchmark: the policy's rules as CIDR rules, the
 * EgressNetworkPolicy manifest, the same rules as a linear nft chain (the peer the agent's interval
 * maps are compared with), and addresses deep in the list that a rule allows or denies (to prove
 * that both enforce the same rules before anything is measured).
 */
import type { EgressRuleInput } from '../src/cluster/types.js';
import { compileFirstMatch, lookupCompiled, type RuleRange } from '../src/firewall/compile-intervals.js';
import { bigIntToIp, parseCanonicalCidr } from '../src/firewall/ip-range.js';

/** The benchmark's own table in node 1 (the agent's is `inet egress_router_node`). */
export const LINEAR_TABLE = { family: 'inet', name: 'bench_linear' } as const;

/** One CIDR rule of a policy, in order. */
export interface CidrRule {
  readonly type: 'Allow' | 'Deny';
  readonly cidr: string;
}

/** One pod's linear chain. */
export interface LinearChainSpec {
  /** The pod's IPv4 address: its packets jump to the chain. */
  readonly pod: string;
  /** The chain's name in {@link LINEAR_TABLE}. */
  readonly chain: string;
  /** Whether the chain starts with `ct state established,related accept`. */
  readonly acceptEstablished: boolean;
}

/**
 * The CIDR rules of generated `spec.egress` entries.
 *
 * @param egress entries with `to.cidrSelector` (as randomCidrRules makes them)
 * @returns the rules, in order
 * @throws TypeError for an entry without a CIDR or with another type than Allow or Deny
 */
export function cidrRules(egress: readonly EgressRuleInput[]): CidrRule[] {
  return egress.map((rule, index) => {
    const cidr = (rule.to as { cidrSelector?: unknown }).cidrSelector;
    if (typeof cidr !== 'string' || (rule.type !== 'Allow' && rule.type !== 'Deny')) {
      throw new TypeError(`rule ${index} is not an Allow or Deny CIDR rule: ${JSON.stringify(rule)}`);
    }
    return { type: rule.type, cidr };
  });
}

/**
 * An EgressNetworkPolicy manifest (JSON) for the agent's directory source.
 *
 * @param namespace the Kubernetes namespace
 * @param rules the rules, in order
 * @returns the manifest text
 */
export function policyManifest(namespace: string, rules: readonly CidrRule[]): string {
  return JSON.stringify({
    kind: 'EgressNetworkPolicy',
    apiVersion: 'network.openshift.io/v1',
    metadata: { name: 'default', namespace },
    spec: { egress: rules.map((r) => ({ type: r.type, to: { cidrSelector: r.cidr } })) },
  });
}

function daddrOf(cidr: string): unknown {
  const [addr, len] = cidr.split('/');
  return len === '32' ? addr : { prefix: { addr, len: Number(len) } };
}

const payload = (field: 'saddr' | 'daddr') => ({ payload: { protocol: 'ip', field } });

/**
 * The table `inet bench_linear`: a forward base chain (priority filter, policy accept) whose one
 * rule sends each listed pod's packets to its own chain (`ip saddr vmap { <pod> : jump <chain> }`,
 * one lookup whoever sent the packet), and per pod a chain of the IPv4 rules in order,
 * `ip saddr <pod> ip daddr <cidr> drop` (Deny) or `accept` (Allow), ending in a `counter` (no rule
 * matched: allowed), as the agent's namespace chains end. IPv6 rules are left out. Pure.
 *
 * @param rules the policy's rules, in order
 * @param chains the pods and their chains
 * @returns nft JSON for `nft -j -f -`
 */
export function linearTable(
  rules: readonly CidrRule[],
  chains: readonly LinearChainSpec[],
): { nftables: unknown[] } {
  const table = LINEAR_TABLE;
  const commands: unknown[] = [
    { add: { table: { family: table.family, name: table.name } } },
    {
      add: {
        chain: {
          family: table.family,
          table: table.name,
          name: 'forward',
          type: 'filter',
          hook: 'forward',
          prio: 0,
          policy: 'accept',
        },
      },
    },
  ];
  const at = (chain: string) => ({ family: table.family, table: table.name, chain });
  const v4 = rules.filter((r) => !r.cidr.includes(':'));
  for (const spec of chains) {
    commands.push({ add: { chain: { family: table.family, table: table.name, name: spec.chain } } });
    if (spec.acceptEstablished) {
      commands.push({
        add: {
          rule: {
            ...at(spec.chain),
            expr: [
              { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } },
              { accept: null },
            ],
          },
        },
      });
    }
    for (const rule of v4) {
      commands.push({
        add: {
          rule: {
            ...at(spec.chain),
            expr: [
              { match: { op: '==', left: payload('saddr'), right: spec.pod } },
              { match: { op: '==', left: payload('daddr'), right: daddrOf(rule.cidr) } },
              rule.type === 'Deny' ? { drop: null } : { accept: null },
            ],
          },
        },
      });
    }
    commands.push({ add: { rule: { ...at(spec.chain), expr: [{ counter: { packets: 0, bytes: 0 } }] } } });
  }
  commands.push({
    add: {
      rule: {
        ...at('forward'),
        expr: [
          {
            vmap: {
              key: payload('saddr'),
              data: { set: chains.map((spec) => [spec.pod, { jump: { target: spec.chain } }]) },
            },
          },
        ],
      },
    },
  });
  return { nftables: commands };
}

/** An address whose first matching rule is a given one. */
export interface Probe {
  readonly address: string;
  /** The deciding rule's position in the policy. */
  readonly rule: number;
  readonly cidr: string;
}

/** A unicast address an outside server can have: not 0/8, 127/8, 169.254/16, 224/3 or .0/.255. */
function usable(address: bigint): boolean {
  const first = Number(address >> 24n);
  const second = Number((address >> 16n) & 0xffn);
  const last = Number(address & 0xffn);
  return (
    first !== 0 &&
    first !== 127 &&
    first < 224 &&
    !(first === 169 && second === 254) &&
    last !== 0 &&
    last !== 255
  );
}

/**
 * The IPv4 addresses decided by the deepest Allow rule and the deepest Deny rule that decide any
 * address (first match wins): where a linear chain walks furthest before its verdict. Pure.
 *
 * @param rules the policy's rules, in order
 * @returns one address each, with its rule
 * @throws when there is no such Allow or Deny rule
 */
export function deepProbes(rules: readonly CidrRule[]): { allow: Probe; deny: Probe } {
  const ranges: RuleRange[] = [];
  rules.forEach((rule, index) => {
    const parsed = parseCanonicalCidr(rule.cidr);
    if (!parsed.ok) throw new TypeError(`not a canonical CIDR: ${rule.cidr}`);
    if (parsed.range.family === 4)
      ranges.push({ start: parsed.range.start, end: parsed.range.end, rule: index });
  });
  const compiled = compileFirstMatch(ranges);
  const found: Partial<Record<CidrRule['type'], Probe>> = {};
  // The compiled ranges each know their deciding rule: the deepest rule of each type that decides one.
  for (const range of compiled) {
    const type = rules[range.rule]!.type;
    if ((found[type]?.rule ?? -1) >= range.rule) continue;
    // The first usable address in the range, looked at among its first few hundred.
    let address = range.start;
    const last = range.end < range.start + 512n ? range.end : range.start + 512n;
    while (address <= last && !usable(address)) address++;
    if (address > last || lookupCompiled(compiled, address) !== range.rule) continue;
    found[type] = { address: bigIntToIp(address, 4), rule: range.rule, cidr: rules[range.rule]!.cidr };
  }
  if (found.Allow === undefined || found.Deny === undefined)
    throw new Error('no Allow or no Deny rule decides an address');
  return { allow: found.Allow, deny: found.Deny };
}
