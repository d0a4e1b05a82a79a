import type { NatPlan } from '../destination-parser/plan.js';
import {
  DEFAULT_MAX_TTL_SECONDS,
  DEFAULT_MIN_TTL_SECONDS,
  DEFAULT_NEGATIVE_HOLD_SECONDS,
} from '../dns-proxy/config.js';
import type { LookupName } from '../dns-proxy/dns-lookup.js';
import { type NameRecord, NameResolver } from '../dns-proxy/name-resolver.js';
import type { NameState, ResolutionBounds, ResolutionDecision } from '../dns-proxy/resolution.js';
import { slotAddresses } from '../nat/name-slots.js';
import type { NameAddresses } from '../nat/ruleset.js';
import type { ElementOp } from '../network/nft-elements.js';
import type { LogSink } from '../runtime/deferred-log.js';
import { HEALTH_INTERVAL_MS, HEALTH_TIMEOUT_MS, HealthTracker } from './health.js';
import { healthPort, type NameSlots, planNameChanges, wantedAddresses } from './name-maps.js';
import { type Probe, tcpProbe } from './probe.js';

/** The DNS proxy's bounds: a TTL counts as at least 1 s and at most 30 s; NXDOMAIN is held 30 s. */
export const NAME_BOUNDS: ResolutionBounds = {
  minTtlMs: DEFAULT_MIN_TTL_SECONDS * 1000,
  maxTtlMs: DEFAULT_MAX_TTL_SECONDS * 1000,
  negativeHoldMs: DEFAULT_NEGATIVE_HOLD_SECONDS * 1000,
};

/** Options of {@link NameLoop}. */
export interface NameLoopOptions {
  /** The NAT plan whose name maps the loop keeps. */
  readonly plan: NatPlan;
  /** What the maps hold now (what the table was built with). */
  readonly current: NameAddresses;
  /** Sends element changes as one batch (one kernel transaction). */
  readonly send: (ops: readonly ElementOp[]) => Promise<void>;
  readonly log: LogSink;
  readonly bounds?: ResolutionBounds;
  /** The DNS (default: /etc/resolv.conf's nameservers). */
  readonly lookup?: LookupName;
  readonly probe?: Probe;
  readonly healthIntervalMs?: number;
  readonly healthTimeoutMs?: number;
}

/**
 * Keeps the name maps of the router's table up to date: resolves every name of the list (the DNS
 * proxy's NameResolver: again at the TTL, clamped; the last good answer kept while the DNS fails),
 * checks the addresses of TCP mappings every second, and writes only the elements that change, one
 * batch per change. Updates and reloads run one at a time.
 */
export class NameLoop {
  #plan: NatPlan;
  /** The slots of each map as the kernel has them. */
  #slots: NameSlots;
  readonly #options: NameLoopOptions;
  readonly #resolver: NameResolver;
  readonly #records = new Map<string, NameRecord>();
  readonly #health = new HealthTracker();
  #queue: Promise<void> = Promise.resolve();
  #syncQueued = false;
  /** An update was refused: the next check tries again. */
  #retry = false;
  #checking = false;
  #closed = false;
  readonly #timer: NodeJS.Timeout;

  /**
   * Starts resolving the plan's names and checking their addresses.
   *
   * @param options the plan, what the maps hold, how to send changes, the logger
   */
  constructor(options: NameLoopOptions) {
    this.#options = options;
    this.#plan = options.plan;
    this.#slots = slotsOf(options.current);
    this.#resolver = new NameResolver({
      bounds: options.bounds ?? NAME_BOUNDS,
      onResolution: (name, decision, previous) => this.#resolved(name, decision, previous),
      ...(options.lookup ? { lookup: options.lookup } : {}),
    });
    this.#watch(this.#plan);
    // Not unref'd: the loop keeps the process (and the resolver's unref'd rounds) running until close().
    this.#timer = setInterval(() => void this.#check(), options.healthIntervalMs ?? HEALTH_INTERVAL_MS);
  }

  /** The slots of each map as the kernel has them now. */
  get slots(): NameSlots {
    return this.#slots;
  }

  /**
   * Replaces the plan (a reloaded list): runs `apply` with the addresses each new map should hold
   * (the names the new list shares with the old keep theirs), in turn with the loop's own updates,
   * then keeps the new plan. When `apply` throws, the old plan stays.
   *
   * @param plan the new NAT plan
   * @param apply replaces the table, built with the given addresses
   * @throws what apply throws
   */
  reload(plan: NatPlan, apply: (addresses: NameAddresses) => Promise<void>): Promise<void> {
    const task = this.#queue.then(async () => {
      const before = new Set(this.#records.keys());
      this.#watch(plan);
      const wanted = wantedAddresses(plan, this.#states(), this.#health);
      try {
        await apply(wanted);
      } catch (error) {
        this.#unwatchAllBut(this.#plan, before);
        throw error;
      }
      this.#plan = plan;
      this.#slots = slotsOf(wanted);
      this.#unwatchAllBut(plan);
    });
    this.#queue = task.catch(() => {});
    return task;
  }

  /** Stops resolving and checking; waits for an update under way. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#resolver.close();
    await this.#queue;
  }

  #watch(plan: NatPlan): void {
    for (const target of plan.names) {
      if (!this.#records.has(target.name)) this.#records.set(target.name, this.#resolver.watch(target.name));
    }
  }

  /** Stops resolving names neither `plan` nor `keep` has. */
  #unwatchAllBut(plan: NatPlan, keep: ReadonlySet<string> = new Set()): void {
    const used = new Set(plan.names.map((n) => n.name));
    for (const name of [...this.#records.keys()]) {
      if (used.has(name) || keep.has(name)) continue;
      this.#resolver.unwatch(name);
      this.#records.delete(name);
    }
  }

  #states(): Map<string, NameState> {
    return new Map([...this.#records].map(([name, record]) => [name, record.state]));
  }

  #resolved(name: string, decision: ResolutionDecision, previous: NameState): void {
    const { log } = this.#options;
    const state = decision.state;
    if (decision.changed || previous.status === 'pending') {
      log.info(
        {
          name,
          addresses: state.addresses,
          ttl: decision.ttl,
          status: state.status,
          delayMs: decision.delayMs,
        },
        'name resolved',
      );
    } else if (state.status !== previous.status) {
      log.warn(
        { dnsName: name, status: state.status, codes: decision.codes, addresses: state.addresses },
        state.addresses.length > 0
          ? 'name lookup failed; the last addresses are kept'
          : 'name has no address',
      );
    }
    if (decision.changed) this.#sync();
  }

  /** Checks every address of the TCP mappings once; a change of state updates the maps. */
  async #check(): Promise<void> {
    if (this.#checking || this.#closed) return;
    this.#checking = true;
    try {
      const probe = this.#options.probe ?? tcpProbe;
      const timeout = this.#options.healthTimeoutMs ?? HEALTH_TIMEOUT_MS;
      const keys = new Map<string, { address: string; port: number }>();
      for (const target of this.#plan.names) {
        const port = healthPort(target);
        const state = this.#records.get(target.name)?.state;
        if (port === undefined || state === undefined) continue;
        for (const address of target.family === 4 ? state.v4 : state.v6) {
          keys.set(`${address} ${port}`, { address, port });
        }
      }
      this.#health.retain(new Set(keys.keys()));
      const results = await Promise.all(
        [...keys.values()].map(async ({ address, port }) => ({
          address,
          port,
          ok: await probe(address, port, timeout),
        })),
      );
      if (this.#closed) return;
      let changed = false;
      for (const { address, port, ok } of results) {
        if (!this.#health.record(address, port, ok)) continue;
        changed = true;
        this.#options.log[ok ? 'info' : 'warn'](
          { address, port },
          ok ? 'address passes its check again' : 'address fails its check; new connections avoid it',
        );
      }
      if (changed || this.#retry) this.#sync();
    } finally {
      this.#checking = false;
    }
  }

  /** Queues one update of the maps (several requests while one waits make one update). */
  #sync(): void {
    if (this.#syncQueued || this.#closed) return;
    this.#syncQueued = true;
    this.#queue = this.#queue.then(async () => {
      this.#syncQueued = false;
      if (this.#closed) return;
      const started = process.hrtime.bigint();
      const wanted = wantedAddresses(this.#plan, this.#states(), this.#health);
      const { ops, changed, slots } = planNameChanges(this.#plan, this.#slots, wanted);
      if (ops.length === 0) return;
      try {
        await this.#options.send(ops);
        this.#slots = slots;
        this.#retry = false;
        this.#options.log.info(
          {
            maps: changed,
            addresses: Object.fromEntries(changed.map((map) => [map, wanted.get(map) ?? []])),
            elements: ops.length,
            ms: Number(process.hrtime.bigint() - started) / 1e6,
          },
          'name maps updated',
        );
      } catch (error) {
        // The batch was refused whole: the maps are as before; the next check tries again.
        this.#retry = true;
        this.#options.log.error({ err: error, maps: changed }, 'updating the name maps failed');
      }
    });
  }
}

/** The slots buildRuleset gives each map for its addresses. */
function slotsOf(addresses: NameAddresses): Map<string, readonly string[]> {
  return new Map([...addresses].map(([map, list]) => [map, slotAddresses(list)]));
}
