import type { SourceProblem } from '../cluster/types.js';
import type { NamespaceEgressStatus } from '../egress-ip/plan.js';
import type { NameStatus } from '../firewall/dns-tracker.js';
import type { NamespaceStatus } from '../firewall/plan.js';
import type { NamespaceCounters } from '../firewall/rule-counters.js';

/** What `egress-router node status` shows: the agent's last reconcile and what it enforces. */
export interface NodeStatus {
  readonly node: string;
  readonly source: string;
  /** The last reconcile: when, how long, and whether its transaction applied. */
  readonly lastReconcile?: {
    readonly at: string;
    readonly durationMs: number;
    readonly ok: boolean;
    /** nft's error, when the transaction was refused (the previous rules stay). */
    readonly error?: string;
    /** Commands in the transaction (0: nothing changed). */
    readonly commands: number;
  };
  /** The last time the agent found its rules changed by someone else, what differed, and how often so far. */
  readonly lastRestore?: { readonly at: string; readonly drift: readonly string[]; readonly count: number };
  readonly namespaces: readonly NamespaceStatus[];
  readonly dnsNames: readonly NameStatus[];
  /** Objects the source could not read. */
  readonly problems: readonly SourceProblem[];
  /** Per-rule counters, when the agent could read them. */
  readonly counters?: readonly NamespaceCounters[];
  /** Every namespace with egress IPs, when there are any (docs/egress-ips.md). */
  readonly egressIPs?: readonly NamespaceEgressStatus[];
  /** HostSubnets' bad entries and overlay problems, one line each. */
  readonly egressProblems?: readonly string[];
}

/**
 * The status as lines for a terminal. Pure.
 *
 * @param status the agent's status
 * @returns the text, ending in a newline
 */
export function formatStatus(status: NodeStatus): string {
  const lines: string[] = [];
  lines.push(`node ${status.node}, source ${status.source}`);
  const last = status.lastReconcile;
  if (last) {
    lines.push(
      `last reconcile ${last.at}: ${last.ok ? 'applied' : `FAILED (${last.error}); the rules before it stay`}, ${last.commands} nft commands, ${last.durationMs} ms`,
    );
  } else {
    lines.push('no reconcile yet');
  }
  const restore = status.lastRestore;
  if (restore) {
    lines.push(
      `rules restored ${restore.count} time${restore.count === 1 ? '' : 's'}, last ${restore.at}: ${restore.drift.join('; ')}`,
    );
  }
  const counters = new Map((status.counters ?? []).map((c) => [c.namespace, c]));
  lines.push('', 'egress firewall:');
  if (status.namespaces.length === 0) lines.push('  no EgressNetworkPolicy');
  for (const ns of status.namespaces) {
    const detail = ns.state === 'enforced' ? `${ns.rules} rules` : ns.reason;
    lines.push(
      `  ${ns.namespace}: ${ns.state} (${ns.policies.join(', ')}), ${ns.pods} pods on this node: ${detail}`,
    );
    for (const error of ns.errors ?? []) lines.push(`    error: ${error}`);
    for (const warning of ns.warnings) lines.push(`    warning: ${warning}`);
    const count = counters.get(ns.namespace);
    if (count?.failedClosed)
      lines.push(`    dropped: ${count.unmatched.packets} packets, ${count.unmatched.bytes} bytes`);
    for (const rule of count?.rules ?? []) {
      lines.push(`    [${rule.index}] ${rule.type} ${rule.to}: ${rule.packets} packets, ${rule.bytes} bytes`);
    }
    if (count && !count.failedClosed) {
      lines.push(
        `    no rule matched (allowed): ${count.unmatched.packets} packets, ${count.unmatched.bytes} bytes`,
      );
    }
  }
  if ((status.egressIPs ?? []).length > 0 || (status.egressProblems ?? []).length > 0) {
    lines.push('', 'egress IPs:');
    for (const ns of status.egressIPs ?? []) {
      const where =
        ns.state === 'hosted' ? `on ${ns.node} (${ns.hostIP}, ${ns.mode})` : `DROPPED: ${ns.reason}`;
      lines.push(`  ${ns.namespace}: ${ns.ip ?? '-'} ${where}`);
      for (const warning of ns.warnings) lines.push(`    warning: ${warning}`);
    }
    for (const problem of status.egressProblems ?? []) lines.push(`  problem: ${problem}`);
  }
  if (status.dnsNames.length > 0) {
    lines.push('', 'dnsNames:');
    for (const name of status.dnsNames) {
      const addresses =
        name.addresses.map((a) => `${a.address} (${a.expiresInSeconds}s)`).join(', ') || 'no address';
      const error = name.lastError ? `, last lookup ${name.lastError} (${name.failures} in a row)` : '';
      const next =
        name.nextLookupInSeconds === undefined ? '' : `, next lookup in ${name.nextLookupInSeconds}s`;
      lines.push(`  ${name.name}: ${addresses}${error}${next}`);
    }
  }
  if (status.problems.length > 0) {
    lines.push('', 'objects left out:');
    for (const problem of status.problems) lines.push(`  ${problem.origin}: ${problem.message}`);
  }
  return `${lines.join('\n')}\n`;
}
