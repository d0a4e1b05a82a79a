/**
 * The node agent's egress IPs (docs/egress-ips.md): each reconcile plans them (with the other
 * nodes' answers in automatic mode), adds their rules to the agent's table, sets the overlay and
 * the addresses up before the table's transaction and lets stale addresses go after it.
 */

import type { KubernetesApi } from '../cluster/kubernetes-api.js';
import type { ClusterState } from '../cluster/types.js';
import {
  type AppliedOverlay,
  applyOverlay,
  findPrimaryInterface,
  type PrimaryInterface,
  releaseAddresses,
} from '../egress-ip/apply.js';
import { type LeaseKeeper, startLeaseKeeper } from '../egress-ip/lease-keeper.js';
import type { LeaseTiming } from '../egress-ip/node-leases.js';
import { type OverlayPlan, planOverlay } from '../egress-ip/overlay-plan.js';
import { type EgressIpPlan, planEgressIps } from '../egress-ip/plan.js';
import { type EgressHoldings, type PeerProber, startPeerProber } from '../egress-ip/probes.js';
import { buildEgressIpRules } from '../egress-ip/ruleset.js';
import { overlayDrift } from '../egress-ip/verify.js';
import { type IpRange, networkOf } from '../firewall/ip-range.js';
import { type DesiredTable, names } from '../firewall/ruleset.js';
import type { NodeStatus } from './status.js';

/** One reconcile's egress IP plan. */
export interface EgressRound {
  readonly plan: EgressIpPlan;
  readonly overlay: OverlayPlan;
  /** Whether anything is to be done: a namespace has egress IPs, or an earlier round set something up. */
  readonly active: boolean;
  readonly hosted: readonly string[];
  /** Every egress IP a NetNamespace asks for. */
  readonly requested: ReadonlySet<string>;
}

/** What NodeEgressIps needs. */
export interface NodeEgressIpsOptions {
  readonly nodeName: string;
  readonly clusterNetworks: readonly IpRange[];
  /** The admin port of every node's agent (where `GET /egress` is asked). */
  readonly adminPort: number;
  /** Told when the other nodes' answers changed: reconcile again. */
  readonly onChange: () => void;
  /**
   * With the Kubernetes source: the node Leases decide who is alive and who holds what
   * (node-leases.ts), when the API serves them; else the probes do.
   */
  readonly leases?: {
    readonly api: KubernetesApi;
    readonly namespace: string;
    readonly timing?: Partial<LeaseTiming>;
  };
  readonly log?: (fields: Record<string, unknown>, msg: string) => void;
}

/** The agent's egress IP state between reconciles. */
export class NodeEgressIps {
  readonly #options: NodeEgressIpsOptions;
  #plan: EgressIpPlan | undefined;
  #problems: string[] = [];
  #applied: AppliedOverlay | undefined;
  #primary: PrimaryInterface | undefined;
  #prober: PeerProber | undefined;
  /** The Lease keeper once started; null when the API serves no Leases (the probes decide). */
  #keeper: LeaseKeeper | null | undefined;
  #holding: readonly string[] = [];
  /** Whether this node's HostSubnet has egressCIDRs (then it renews a node Lease). */
  #offers = false;
  /** Since when this node hosts each automatic IP. */
  #since = new Map<string, number>();
  /** The round whose overlay was last applied (what verify compares the kernel with). */
  #appliedRound: EgressRound | undefined;

  constructor(options: NodeEgressIpsOptions) {
    this.#options = options;
  }

  /** Plans this round (asks the other nodes first when any HostSubnet has egressCIDRs). */
  async plan(state: ClusterState): Promise<EgressRound> {
    const { nodeName } = this.#options;
    const overlay = planOverlay(state, nodeName);
    const self = overlay.self;
    if (self && !this.#primary?.addresses.some((a) => a.address === self.hostIP)) {
      this.#primary = await findPrimaryInterface(self.hostIP);
    }
    const networks = (this.#primary?.addresses ?? [])
      .filter((a) => a.scope === 0)
      .flatMap((a) => networkOf(a.address, a.prefix) ?? []);
    const plan = planEgressIps({
      state,
      nodeName,
      clusterNetworks: this.#options.clusterNetworks,
      ...(this.#primary ? { nodeNetwork: { interface: this.#primary.name, networks } } : {}),
      ...(await this.#automatic(state)),
    });
    this.#plan = plan;
    this.#problems = [...plan.problems, ...overlay.problems];
    if (self && !this.#primary) this.#problems.push(`no interface holds this node's address ${self.hostIP}`);
    return {
      plan,
      overlay,
      active: plan.statuses.length > 0 || this.#applied !== undefined,
      hosted: plan.hosted.map((h) => h.ip),
      requested: new Set(plan.statuses.flatMap((st) => (st.ip ? [st.ip] : []))),
    };
  }

  /** The firewall's table with the egress IP rules added, when any namespace has egress IPs. */
  withRules(table: DesiredTable, round: EgressRound): DesiredTable {
    if (round.plan.statuses.length === 0) return table;
    const marks = new Map(round.overlay.peers.map((p) => [p.hostIP, p.mark]));
    const rules = buildEgressIpRules(round.plan, marks, names);
    return {
      sets: new Map([...table.sets, ...rules.sets]),
      chains: new Map([...table.chains, ...rules.chains]),
    };
  }

  /** Before the table's transaction: the overlay and the addresses this node now hosts. */
  async before(round: EgressRound): Promise<AppliedOverlay | undefined> {
    if (!round.active || !this.#primary) return undefined;
    return applyOverlay(round.overlay, this.#primary, round.hosted, this.#applied, round.requested);
  }

  /** After it: the addresses no longer hosted let go; what this node holds remembered. */
  async after(round: EgressRound, now: AppliedOverlay | undefined): Promise<void> {
    if (this.#primary && this.#applied) {
      await releaseAddresses(this.#primary, this.#applied, now ?? { addresses: new Set() });
    }
    this.#applied = now;
    this.#appliedRound = now ? round : undefined;
    this.#holding = round.plan.automatic;
    this.#since = new Map(this.#holding.map((ip) => [ip, this.#since.get(ip) ?? Date.now()]));
  }

  /**
   * Whether the overlay and hosted addresses are still as applied; when not, the next reconcile
   * sets them up whole again.
   *
   * @returns what someone else changed, one line each
   */
  async verify(): Promise<string[]> {
    const round = this.#appliedRound;
    const applied = this.#applied;
    if (!round || !applied?.overlayKey || !this.#primary) return [];
    const drift = await overlayDrift(round.overlay, this.#primary, round.hosted);
    if (drift.length > 0 && this.#applied === applied) this.#applied = { addresses: applied.addresses };
    return drift;
  }

  /** The status's egress IP part (nothing when no namespace has egress IPs). */
  status(): Pick<NodeStatus, 'egressIPs' | 'egressProblems'> {
    const plan = this.#plan;
    if (!plan || (plan.statuses.length === 0 && this.#problems.length === 0)) return {};
    return { egressIPs: plan.statuses, egressProblems: this.#problems };
  }

  /** What `GET /egress` answers: the automatic IPs this node hosts, and since when. */
  holdings(): EgressHoldings {
    return { node: this.#options.nodeName, automatic: this.#holding, since: Object.fromEntries(this.#since) };
  }

  close(): void {
    this.#prober?.close();
    this.#keeper?.close();
  }

  /** The view to plan from: the Lease keeper (started on first use) or the probes. */
  async #view(): Promise<{ view: PeerProber; keeper?: LeaseKeeper }> {
    const { leases, nodeName, onChange, log } = this.#options;
    if (leases && this.#keeper === undefined) {
      this.#keeper =
        (await startLeaseKeeper({
          ...leases,
          node: nodeName,
          holdings: () => this.holdings(),
          renews: () => this.#offers,
          onChange,
          ...(log ? { log } : {}),
        })) ?? null;
      // A restarted agent: what its Lease says it hosted, so that rule 2 keeps it there.
      const initial = this.#keeper?.initial();
      if (initial && this.#holding.length === 0) {
        this.#holding = initial.automatic;
        this.#since = new Map(initial.automatic.map((ip) => [ip, initial.since?.[ip] ?? Date.now()]));
      }
    }
    if (this.#keeper) return { view: this.#keeper, keeper: this.#keeper };
    this.#prober ??= startPeerProber({ port: this.#options.adminPort, onChange });
    return { view: this.#prober };
  }

  /** Automatic mode's inputs: which nodes answer, and who holds what (the longest holder first). */
  async #automatic(state: ClusterState) {
    const { nodeName } = this.#options;
    const offering = [...state.hostSubnets.values()].filter((h) => h.egressCIDRs.length > 0);
    if (offering.length === 0) return {};
    this.#offers = offering.some((h) => h.host === nodeName);
    const { view, keeper } = await this.#view();
    view.setPeers(
      offering.filter((h) => h.host !== nodeName).map((h) => ({ name: h.host, hostIP: h.hostIP })),
    );
    await view.settled();
    const held = view.current();
    const selfCandidate = keeper ? !keeper.fenced() : true;
    // Fenced: this node gets nothing, and what it held counts for nothing.
    for (const ip of selfCandidate ? this.#holding : []) {
      held.set(ip, [...(held.get(ip) ?? []), { node: nodeName, since: this.#since.get(ip) ?? 0 }]);
    }
    const current = new Map(
      [...held].map(([ip, holders]) => [
        ip,
        [...holders].sort((a, b) => a.since - b.since || (a.node < b.node ? -1 : 1)).map((h) => h.node),
      ]),
    );
    return { alive: view.alive(), current, selfCandidate };
  }
}
