import { embeddedIpv4, type NumericIp } from './ip.js';
import { maskIp, type Policy, type PolicyRule } from './parse-policy.js';

/**
 * A policy indexed so that a decision costs the same with 10 rules or 10,000: names by exact name
 * and by domain suffix (one map lookup per label of the requested name), addresses by prefix length
 * (one map lookup per distinct prefix length in the policy, at most 33 or 129). Each index entry
 * keeps the first rule (lowest index) that matches it, so first-match order is kept.
 */
export interface CompiledPolicy {
  readonly policy: Policy;
  /** The rules, by index - 1. */
  readonly rules: readonly PolicyRule[];
  readonly exactNames: ReadonlyMap<string, number>;
  readonly domains: ReadonlyMap<string, number>;
  /** IPv4: prefix length -> masked network -> first rule index; lengths longest first. */
  readonly ipv4: readonly (readonly [number, ReadonlyMap<number, number>])[];
  /** Keyed by the network's hex text: V8 hashes a bigint by its low bits only, so /64 and shorter
   * networks would all collide and a lookup would cost as much as a linear scan. */
  readonly ipv6: readonly (readonly [number, ReadonlyMap<string, number>])[];
  /** The lowest index of any address rule (NO_MATCH when there is none). */
  readonly firstAddressRuleIndex: number;
}

/**
 * Compiles a policy into its indexes. Pure.
 *
 * @param policy a parsed policy
 * @returns the compiled policy
 */
export function compilePolicy(policy: Policy): CompiledPolicy {
  const exactNames = new Map<string, number>();
  const domains = new Map<string, number>();
  const ipv4 = new Map<number, Map<number, number>>();
  const ipv6 = new Map<number, Map<string, number>>();
  const keepFirst = <K>(map: Map<K, number>, key: K, index: number) => {
    if (!map.has(key)) map.set(key, index);
  };
  for (const rule of policy.rules) {
    const { match } = rule;
    if (match.kind === 'name') keepFirst(exactNames, match.name, rule.index);
    else if (match.kind === 'domain') keepFirst(domains, match.domain, rule.index);
    else if (match.network.family === 4) {
      const byNetwork = ipv4.get(match.prefix) ?? new Map<number, number>();
      ipv4.set(match.prefix, byNetwork);
      keepFirst(byNetwork, match.network.value, rule.index);
    } else {
      const byNetwork = ipv6.get(match.prefix) ?? new Map<string, number>();
      ipv6.set(match.prefix, byNetwork);
      keepFirst(byNetwork, match.network.value.toString(16), rule.index);
    }
  }
  return {
    policy,
    rules: policy.rules,
    exactNames,
    domains,
    ipv4: [...ipv4.entries()].sort((a, b) => b[0] - a[0]),
    ipv6: [...ipv6.entries()].sort((a, b) => b[0] - a[0]),
    firstAddressRuleIndex: policy.rules.find((rule) => rule.match.kind === 'address')?.index ?? NO_MATCH,
  };
}

/** No rule matched: Infinity, so that any rule index is smaller. */
export const NO_MATCH = Number.POSITIVE_INFINITY;

/**
 * The first rule matching a canonical host name (`name` and `*.domain` rules), or NO_MATCH.
 *
 * @param compiled the compiled policy
 * @param name a canonical name (normalizeName)
 */
export function firstNameRule(compiled: CompiledPolicy, name: string): number {
  let first = compiled.exactNames.get(name) ?? NO_MATCH;
  let suffix = name;
  for (;;) {
    const index = compiled.domains.get(suffix);
    if (index !== undefined && index < first) first = index;
    const dot = suffix.indexOf('.');
    if (dot === -1) return first;
    suffix = suffix.slice(dot + 1);
  }
}

/**
 * The first address rule matching an address, or NO_MATCH. An IPv6 address that embeds an IPv4
 * one (NAT64 64:ff9b::/96, IPv4-compatible) is matched by the rules of both.
 *
 * @param compiled the compiled policy
 * @param ip the address (IPv4-mapped IPv6 already turned into IPv4 by toNumericIp)
 */
export function firstAddressRule(compiled: CompiledPolicy, ip: NumericIp): number {
  if (ip.family === 4) return firstIpv4Rule(compiled, ip.value);
  let first = NO_MATCH;
  for (const [prefix, byNetwork] of compiled.ipv6) {
    const index = byNetwork.get(maskIp(ip, prefix).value.toString(16));
    if (index !== undefined && index < first) first = index;
  }
  const inner = embeddedIpv4(ip);
  if (inner !== undefined) first = Math.min(first, firstIpv4Rule(compiled, inner));
  return first;
}

function firstIpv4Rule(compiled: CompiledPolicy, value: number): number {
  let first = NO_MATCH;
  for (const [prefix, byNetwork] of compiled.ipv4) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    const index = byNetwork.get((value & mask) >>> 0);
    if (index !== undefined && index < first) first = index;
  }
  return first;
}
