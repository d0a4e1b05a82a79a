import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { NamespaceCounters } from '../firewall/rule-counters.js';
import type { NodeStatus } from './status.js';

/** The node agent's Prometheus metrics, all named `egress_router_node_*`. */
export interface NodeMetrics {
  readonly reconciles: Counter<'result'>;
  readonly reconcileSeconds: Histogram;
  readonly dnsLookups: Counter<'result'>;
  readonly restores: Counter;
}

/**
 * Registers the metrics. Namespace states, source problems and the kernel's per-rule counters are
 * read when /metrics is scraped (the rule counters with one `nft -j list table`).
 *
 * @param registry where to register
 * @param status the agent's current status
 * @param counters reads the per-rule counters
 */
export function registerNodeMetrics(
  registry: Registry,
  status: () => NodeStatus,
  counters: () => Promise<readonly NamespaceCounters[]>,
): NodeMetrics {
  const reconciles = new Counter({
    name: 'egress_router_node_reconciles_total',
    help: 'Reconciles by result: ok (the transaction applied or nothing changed) or error (nft refused it; the rules before it stay)',
    labelNames: ['result'],
    registers: [registry],
  });
  const reconcileSeconds = new Histogram({
    name: 'egress_router_node_reconcile_seconds',
    help: 'Time from a change to its transaction applied: planning and nft',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const restores = new Counter({
    name: 'egress_router_node_restores_total',
    help: "Times the agent found its rules changed by someone else (its table, the overlay, an egress IP's address) and restored them",
    registers: [registry],
  });
  const dnsLookups = new Counter({
    name: 'egress_router_node_dns_lookups_total',
    help: 'Lookups of dnsName rules: records, or none (a failure or a negative answer)',
    labelNames: ['result'],
    registers: [registry],
  });
  new Gauge({
    name: 'egress_router_node_namespaces',
    help: 'Namespaces with an EgressNetworkPolicy, by state: enforced, failed-closed, not-enforced',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const state of ['enforced', 'failed-closed', 'not-enforced']) this.set({ state }, 0);
      for (const ns of status().namespaces) this.inc({ state: ns.state });
    },
  });
  new Gauge({
    name: 'egress_router_node_egress_ip_namespaces',
    help: 'Namespaces with egress IPs, by state: hosted (on any node), dropped (no usable egress IP)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const state of ['hosted', 'dropped']) this.set({ state }, 0);
      for (const ns of status().egressIPs ?? []) this.inc({ state: ns.state });
    },
  });
  new Gauge({
    name: 'egress_router_node_egress_ips_hosted',
    help: 'Egress IPs this node hosts, by mode: manual (HostSubnet.egressIPs), automatic (egressCIDRs)',
    labelNames: ['mode'],
    registers: [registry],
    collect() {
      this.reset();
      for (const mode of ['manual', 'automatic']) this.set({ mode }, 0);
      for (const ns of status().egressIPs ?? []) {
        if (ns.state === 'hosted' && ns.node === status().node && ns.mode) this.inc({ mode: ns.mode });
      }
    },
  });
  new Gauge({
    name: 'egress_router_node_source_problems',
    help: 'Objects the source could not read (see egress-router node status)',
    registers: [registry],
    collect() {
      this.set(status().problems.length);
    },
  });
  // One read of the kernel's counters serves both gauges of a scrape.
  let reading: Promise<readonly NamespaceCounters[]> | undefined;
  const read = () => {
    reading ??= counters().finally(() => setTimeout(() => (reading = undefined), 500).unref());
    return reading;
  };
  const fill = async (gauge: Gauge<'namespace' | 'rule' | 'type'>, field: 'packets' | 'bytes') => {
    const all = await read();
    gauge.reset();
    for (const ns of all) {
      for (const rule of ns.rules) {
        gauge.set({ namespace: ns.namespace, rule: String(rule.index), type: rule.type }, rule[field]);
      }
      gauge.set(
        { namespace: ns.namespace, rule: 'none', type: ns.failedClosed ? 'Deny' : 'Allow' },
        ns.unmatched[field],
      );
    }
  };
  new Gauge({
    name: 'egress_router_node_rule_packets',
    help: 'Packets each firewall rule decided (the kernel\'s counters, since the rule\'s ranges were made); rule="none": no rule matched (allowed) or, failed closed, dropped',
    labelNames: ['namespace', 'rule', 'type'],
    registers: [registry],
    async collect() {
      await fill(this, 'packets');
    },
  });
  new Gauge({
    name: 'egress_router_node_rule_bytes',
    help: 'Bytes each firewall rule decided; labels as egress_router_node_rule_packets',
    labelNames: ['namespace', 'rule', 'type'],
    registers: [registry],
    async collect() {
      await fill(this, 'bytes');
    },
  });
  return { reconciles, reconcileSeconds, dnsLookups, restores };
}
