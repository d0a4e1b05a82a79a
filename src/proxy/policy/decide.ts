import { type CompiledPolicy, firstAddressRule, firstNameRule, NO_MATCH } from './compile-policy.js';
import type { NumericIp } from './ip.js';
import type { PolicyRule } from './parse-policy.js';

/** How one address of a request was decided. */
export interface AddressDecision {
  readonly address: NumericIp;
  readonly result: 'allow' | 'deny';
  /** The rule that decided, or undefined when none matched (then the final `*` or the default). */
  readonly rule: PolicyRule | undefined;
}

/** The decision for a request: data, logged as is and mapped to a status by one function. */
export interface Decision {
  readonly result: 'allow' | 'deny';
  /** Addresses the proxy may connect to, in resolver order (empty when denied). */
  readonly allowed: readonly NumericIp[];
  /** The rule that decided the request: the deny rule that hit, or the first allow rule used. */
  readonly rule: PolicyRule | undefined;
  /** Why, in words (logged, and in the 403 body). */
  readonly reason: string;
  readonly perAddress: readonly AddressDecision[];
}

/**
 * Decides a request for `host` resolved to `addresses`. For each address, the first rule that
 * matches the host name (name rules; never for an IP literal: no reverse DNS) or the address
 * decides; no match falls to the final `*` (allow) or the default (deny). Any address denied by a
 * rule denies the whole request (a name that resolves partly into a denied range is denied); the
 * proxy connects only to addresses that were allowed.
 *
 * @param compiled the compiled policy
 * @param host the canonical host name, or undefined when the request named an IP literal
 * @param addresses the addresses to decide (the literal, or what the name resolved to)
 * @returns the decision
 */
export function decide(
  compiled: CompiledPolicy,
  host: string | undefined,
  addresses: readonly NumericIp[],
): Decision {
  const nameRule = host === undefined ? NO_MATCH : firstNameRule(compiled, host);
  const perAddress: AddressDecision[] = addresses.map((address) => {
    const first = Math.min(nameRule, firstAddressRule(compiled, address));
    const rule = first === NO_MATCH ? undefined : compiled.rules[first - 1];
    const result = rule ? rule.action : compiled.policy.allowRest ? 'allow' : 'deny';
    return { address, result, rule };
  });
  const denied = perAddress.find((d) => d.result === 'deny' && d.rule !== undefined);
  if (denied) {
    return {
      result: 'deny',
      allowed: [],
      rule: denied.rule,
      reason: `denied by rule ${denied.rule!.index} '${denied.rule!.text}'`,
      perAddress,
    };
  }
  const allowed = perAddress.filter((d) => d.result === 'allow');
  if (allowed.length === 0) {
    return {
      result: 'deny',
      allowed: [],
      rule: undefined,
      reason: 'no rule allows this destination',
      perAddress,
    };
  }
  const rule = allowed.find((d) => d.rule)?.rule;
  return {
    result: 'allow',
    allowed: allowed.map((d) => d.address),
    rule,
    reason: rule ? `allowed by rule ${rule.index} '${rule.text}'` : "allowed by the final '*'",
    perAddress,
  };
}

/**
 * Decides a named request before resolving it, when the name alone settles it: a deny rule matching
 * the name that comes before every address rule denies whatever the name resolves to. Saves the
 * lookup, and a denied name is a 403 even when it does not resolve.
 *
 * @param compiled the compiled policy
 * @param host the canonical host name
 * @returns the deny decision, or undefined when the addresses are needed
 */
export function denyByName(compiled: CompiledPolicy, host: string): Decision | undefined {
  const first = firstNameRule(compiled, host);
  if (first === NO_MATCH || first > compiled.firstAddressRuleIndex) return undefined;
  const rule = compiled.rules[first - 1]!;
  if (rule.action !== 'deny') return undefined;
  return {
    result: 'deny',
    allowed: [],
    rule,
    reason: `denied by rule ${rule.index} '${rule.text}'`,
    perAddress: [],
  };
}
