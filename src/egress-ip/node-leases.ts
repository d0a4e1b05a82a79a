/**
 * Automatic egress IPs with the Kubernetes source (docs/egress-ips.md, "Leases"): every agent of a
 * node that offers egressCIDRs holds a `coordination.k8s.io/v1` Lease of its own, renews it, and
 * writes into it the automatic IPs it hosts and since when. Every agent watches all of them: a node
 * is alive while its Lease changes, and what it hosts is what its Lease says. So every agent plans
 * from the same record, the API's, and not from probes that a partition can split.
 *
 * Pure: the Lease objects written and read, and the view computed from them.
 */
import type { EgressHoldings } from './probes.js';

/** The label on our Leases (the watch selects on it). */
export const NODE_LEASE_LABEL = 'egress-router.io/node-lease';
/** The annotation that carries a node's holdings, as JSON (`LeaseHoldings`). */
export const HOLDINGS_ANNOTATION = 'egress-router.io/egress-ips';

/** The Lease timing. */
export interface LeaseTiming {
  /** How often an agent renews its Lease. */
  readonly renewMs: number;
  /**
   * An agent that has not seen one of its own renewals come back through its watch for this long
   * is fenced: it hosts no automatic IP and says it is no candidate.
   */
  readonly fenceMs: number;
  /** Another node whose Lease did not change for this long is down. Longer than fenceMs. */
  readonly staleMs: number;
}

/**
 * Default: renew every 400 ms, fenced after 1.2 s, down after 1.6 s. A dead node's IPs move
 * within about 1.6 s plus a reconcile; a node cut from the API stops hosting 0.4 s before anyone
 * takes over. About 2.5 writes a second per node that offers egressCIDRs.
 */
export const DEFAULT_LEASE_TIMING: LeaseTiming = { renewMs: 400, fenceMs: 1_200, staleMs: 1_600 };

/** What the annotation holds. */
export interface LeaseHoldings {
  /** False while the node is fenced: it hosts nothing and must not be given anything. */
  readonly candidate: boolean;
  /** The automatic IPs it hosts, and since when (ms since the epoch). */
  readonly ips: Readonly<Record<string, number>>;
}

/** A node's Lease as read. */
export interface NodeLeaseRecord {
  readonly node: string;
  readonly resourceVersion: string;
  /** The renewTime, ms since the epoch (NaN when absent). */
  readonly renewedAt: number;
  readonly holdings: LeaseHoldings;
}

/**
 * The name of a node's Lease.
 *
 * @param node the node's name (a DNS subdomain, so the name is one too)
 * @returns `egress-router-node.<node>`
 */
export function nodeLeaseName(node: string): string {
  return `egress-router-node.${node}`;
}

/**
 * The Lease a node writes.
 *
 * @param namespace where the Leases are
 * @param node this node
 * @param holdings what it hosts (and whether it is a candidate)
 * @param now the renew time (ms since the epoch)
 * @param resourceVersion the version last read, for an update (optimistic concurrency); none to create
 * @returns the object to POST (create) or PUT (update)
 */
export function nodeLeaseObject(
  namespace: string,
  node: string,
  holdings: LeaseHoldings,
  now: number,
  resourceVersion?: string,
): Record<string, unknown> {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: nodeLeaseName(node),
      namespace,
      labels: { [NODE_LEASE_LABEL]: 'true' },
      annotations: { [HOLDINGS_ANNOTATION]: JSON.stringify(holdings) },
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
    },
    spec: {
      holderIdentity: node,
      leaseDurationSeconds: 2,
      renewTime: microTime(now),
    },
  };
}

/**
 * Reads one of our Leases.
 *
 * @param object a Lease as the API sends it
 * @returns the record, or undefined for an object that is not one of ours (no holder, no
 *   annotation that parses)
 */
export function readNodeLease(object: unknown): NodeLeaseRecord | undefined {
  if (!isRecord(object) || !isRecord(object.metadata) || !isRecord(object.spec)) return undefined;
  const { metadata, spec } = object;
  const node = spec.holderIdentity;
  if (typeof node !== 'string' || node === '' || metadata.name !== nodeLeaseName(node)) return undefined;
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : {};
  const text = annotations[HOLDINGS_ANNOTATION];
  let parsed: unknown;
  try {
    parsed = typeof text === 'string' ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || typeof parsed.candidate !== 'boolean' || !isRecord(parsed.ips)) return undefined;
  const ips: Record<string, number> = {};
  for (const [ip, since] of Object.entries(parsed.ips)) if (typeof since === 'number') ips[ip] = since;
  return {
    node,
    resourceVersion: typeof metadata.resourceVersion === 'string' ? metadata.resourceVersion : '',
    renewedAt: typeof spec.renewTime === 'string' ? Date.parse(spec.renewTime) : Number.NaN,
    holdings: { candidate: parsed.candidate, ips },
  };
}

/** A Lease and when this agent saw it change (its own clock, ms). */
export interface ObservedLease {
  readonly record: NodeLeaseRecord;
  readonly observedAt: number;
}

/** What the other nodes' Leases say. */
export interface LeaseView {
  /** The other nodes that are alive and candidates. */
  readonly alive: Set<string>;
  /** Which of them hold each automatic IP, with since when. */
  readonly current: Map<string, { readonly node: string; readonly since: number }[]>;
}

/**
 * The view of the other nodes: alive while their Lease changed within `staleMs` and they say they
 * are candidates; what each alive one holds.
 *
 * @param leases the Leases seen, by node
 * @param self this node (left out)
 * @param now this agent's clock (ms)
 * @param staleMs see LeaseTiming
 * @returns the alive candidates and their holdings
 */
export function leaseView(
  leases: ReadonlyMap<string, ObservedLease>,
  self: string,
  now: number,
  staleMs: number,
): LeaseView {
  const alive = new Set<string>();
  const current = new Map<string, { node: string; since: number }[]>();
  for (const [node, { record, observedAt }] of leases) {
    if (node === self || now - observedAt > staleMs || !record.holdings.candidate) continue;
    alive.add(node);
    for (const [ip, since] of Object.entries(record.holdings.ips)) {
      current.set(ip, [...(current.get(ip) ?? []), { node, since }]);
    }
  }
  return { alive, current };
}

/**
 * The holdings a node writes.
 *
 * @param holdings what `GET /egress` answers
 * @param candidate false while fenced
 */
export function holdingsOf(holdings: EgressHoldings, candidate: boolean): LeaseHoldings {
  const ips: Record<string, number> = {};
  if (candidate) for (const ip of holdings.automatic) ips[ip] = holdings.since?.[ip] ?? 0;
  return { candidate, ips };
}

/**
 * A MicroTime, as the API writes it: `2026-12-03T14:00:00.123000Z`.
 *
 * @param ms since the epoch
 */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
