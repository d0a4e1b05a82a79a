/**
 * One EgressNetworkPolicy checked for planFirewall: validated with the API server's messages and
 * openshift-sdn's `0.0.0.0/32` correction made, remembered per object and per content.
 */
import type { EgressNetworkPolicyObject } from '../cluster/types.js';
import { type EgressRule, validatePolicy } from './validate-policy.js';

/** A policy validated, with openshift-sdn's `0.0.0.0/32` correction made. */
export type CheckedPolicy =
  | {
      readonly ok: true;
      /** `namespace/name`. */
      readonly policy: string;
      /** `spec.egress` as JSON: what the check was made of. */
      readonly text: string;
      readonly maxRules: number;
      readonly rules: readonly EgressRule[];
      /** The dnsName rules among them: index and name. */
      readonly dnsRules: readonly { readonly index: number; readonly name: string }[];
      readonly warnings: readonly string[];
    }
  | {
      readonly ok: false;
      readonly policy: string;
      readonly text: string;
      readonly maxRules: number;
      readonly errors: readonly string[];
    };

/**
 * Checks by policy object: a source hands back the same object while a policy is unchanged (the
 * Kubernetes source's cache), so validating 100 policies of 1,000 rules costs nothing when one changes.
 */
const checkedByObject = new WeakMap<EgressNetworkPolicyObject, CheckedPolicy>();

/**
 * A policy validated and corrected, once per object (and once per content: `previous` is reused when
 * a new object has the same `spec.egress`). Pure but for the memo.
 *
 * @param previous the check of the namespace's policy in the last plan
 */
export function checkPolicy(
  policy: EgressNetworkPolicyObject,
  maxRules: number,
  previous: CheckedPolicy | undefined,
): CheckedPolicy {
  const name = `${policy.namespace}/${policy.name}`;
  const memo = checkedByObject.get(policy);
  if (memo && memo.maxRules === maxRules) return memo;
  // A new object with the same content (a directory source reads its files anew): the same check.
  const text = JSON.stringify(policy.egress) ?? 'undefined';
  if (previous && previous.policy === name && previous.text === text && previous.maxRules === maxRules) {
    checkedByObject.set(policy, previous);
    return previous;
  }
  const validated = validatePolicy(policy, maxRules);
  let checked: CheckedPolicy;
  if (!validated.ok) {
    checked = { ok: false, policy: name, text, maxRules, errors: validated.errors.map((e) => e.message) };
  } else {
    const warnings: string[] = [];
    const rules = validated.rules.map((rule) => {
      if (rule.to.kind !== 'cidr' || rule.to.cidr !== '0.0.0.0/32') return rule;
      warnings.push(
        `Correcting CIDRSelector '0.0.0.0/32' to '0.0.0.0/0' in EgressNetworkPolicy ${policy.namespace}:${policy.name}`,
      );
      return {
        ...rule,
        to: {
          kind: 'cidr' as const,
          cidr: '0.0.0.0/0',
          range: { family: 4 as const, start: 0n, end: 0xffffffffn },
        },
      };
    });
    const dnsRules = rules.flatMap((rule) =>
      rule.to.kind === 'dns' ? [{ index: rule.index, name: rule.to.name }] : [],
    );
    checked = { ok: true, policy: name, text, maxRules, rules, dnsRules, warnings };
  }
  checkedByObject.set(policy, checked);
  return checked;
}
