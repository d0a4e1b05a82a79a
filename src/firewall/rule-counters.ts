import type { Family } from '../destination-parser/address.js';
import type { Counter, TableCounters } from './apply.js';
import type { FirewallPlan } from './plan.js';
import { names, rangeElement } from './ruleset.js';

/** What one namespace's firewall counted since its elements were made. */
export interface NamespaceCounters {
  readonly namespace: string;
  /** Per rule of the policy (by spec.egress index): packets and bytes it decided. */
  readonly rules: readonly {
    readonly index: number;
    readonly type: string;
    readonly to: string;
    readonly packets: number;
    readonly bytes: number;
  }[];
  /** Packets no rule matched (allowed), or, for a namespace failed closed, dropped. */
  readonly unmatched: Counter;
  readonly failedClosed: boolean;
}

const FAMILIES: readonly Family[] = [4, 6];

/**
 * The kernel's per-element counters summed per rule: an element is a range the compiler gave to
 * one rule, so the rule's count is the sum of its ranges'. Pure.
 *
 * @param plan the plan the table was built from
 * @param counters what the table counted
 * @returns per namespace, sorted by name
 */
export function countersByRule(plan: FirewallPlan, counters: TableCounters): NamespaceCounters[] {
  const out: NamespaceCounters[] = [];
  for (const [namespace, firewall] of [...plan.namespaces].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const unmatched = counters.chains.get(names.namespaceChain(namespace)) ?? { packets: 0, bytes: 0 };
    if (firewall.mode === 'closed') {
      out.push({ namespace, rules: [], unmatched, failedClosed: true });
      continue;
    }
    const sums = new Map<number, { packets: number; bytes: number }>();
    for (const family of FAMILIES) {
      const elements = counters.elements.get(names.firewallMap(namespace, family));
      if (!elements) continue;
      for (const range of firewall.ranges[family]) {
        const [key] = rangeElement({ family, start: range.start, end: range.end });
        const counter = elements.get(key);
        if (!counter) continue;
        const sum = sums.get(range.rule) ?? { packets: 0, bytes: 0 };
        sum.packets += counter.packets;
        sum.bytes += counter.bytes;
        sums.set(range.rule, sum);
      }
    }
    out.push({
      namespace,
      rules: firewall.rules.map((rule) => ({
        index: rule.index,
        type: rule.type,
        to: rule.to.kind === 'cidr' ? rule.to.cidr : rule.to.name,
        ...(sums.get(rule.index) ?? { packets: 0, bytes: 0 }),
      })),
      unmatched,
      failedClosed: false,
    });
  }
  return out;
}
