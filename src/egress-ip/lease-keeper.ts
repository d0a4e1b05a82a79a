/**
 * The node Leases' thin side (node-leases.ts has the rules): renews this node's Lease, follows
 * every node's Lease with a list+watch, and answers as the probes do (alive, current), plus
 * whether this node is fenced. HTTP and timers only.
 */
import type { KubernetesApi, WatchEvent } from '../cluster/kubernetes-api.js';
import {
  DEFAULT_LEASE_TIMING,
  holdingsOf,
  type LeaseTiming,
  type LeaseView,
  leaseView,
  NODE_LEASE_LABEL,
  nodeLeaseName,
  nodeLeaseObject,
  type ObservedLease,
  readNodeLease,
} from './node-leases.js';
import type { EgressHoldings, PeerProber } from './probes.js';

/** The view of the other nodes from their Leases. */
export interface LeaseKeeper extends PeerProber {
  /** True while this node has not seen its own renewal come back within fenceMs. */
  fenced(): boolean;
  /**
   * What this node's Lease said when the keeper started, if it was renewed within staleMs (an
   * agent restarted at once keeps its IPs; one that was gone longer takes nothing back).
   */
  initial(): EgressHoldings | undefined;
}

/** What startLeaseKeeper needs. */
export interface LeaseKeeperOptions {
  readonly api: KubernetesApi;
  readonly namespace: string;
  readonly node: string;
  /** What this node hosts now (written at every renewal). */
  readonly holdings: () => EgressHoldings;
  /**
   * Whether this node renews a Lease: only nodes that offer egressCIDRs do (default: yes). The
   * others only watch, are never fenced, and plan from the live view.
   */
  readonly renews?: () => boolean;
  /** Told when the view changed (a node down or back, holdings, fenced or not). */
  readonly onChange: () => void;
  readonly log?: (fields: Record<string, unknown>, msg: string) => void;
  readonly timing?: Partial<LeaseTiming>;
}

/** The first wait before a watch is opened again after it ended or failed. */
const RELIST_MS = 500;

/**
 * Starts the keeper: lists the Leases first.
 *
 * @returns the keeper, or undefined when the API does not serve Leases to us (404: OpenShift 3.11
 *   has no Lease API; 403: no RBAC for them), logged: then the probes decide, as with the
 *   directory source
 */
export async function startLeaseKeeper(options: LeaseKeeperOptions): Promise<LeaseKeeper | undefined> {
  const timing = { ...DEFAULT_LEASE_TIMING, ...options.timing };
  const { api, namespace, node } = options;
  const log = options.log ?? (() => {});
  const base = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
  const own = `${base}/${nodeLeaseName(node)}`;
  const listPath = `${base}?labelSelector=${encodeURIComponent(NODE_LEASE_LABEL)}`;
  const leases = new Map<string, ObservedLease>();
  let closed = false;
  let ownVersion: string | undefined;
  let ownSeen = Number.NaN;
  let initial: EgressHoldings | undefined;
  let lastGood: LeaseView = { alive: new Set(), current: new Map() };
  let lastSignature = '';
  let wasFenced = true;
  let stopWatch: (() => void) | undefined;
  let renewing = false;
  let relistTimer: NodeJS.Timeout | undefined;
  let fenceTimer: NodeJS.Timeout | undefined;
  let waiters: (() => void)[] = [];
  const abort = new AbortController();

  const renews = () => options.renews?.() !== false;
  const fenced = () => renews() && !(Date.now() - ownSeen <= timing.fenceMs);
  const view = (): LeaseView => {
    if (fenced()) return lastGood;
    lastGood = leaseView(leases, node, Date.now(), timing.staleMs);
    return lastGood;
  };
  const check = () => {
    if (closed) return;
    const v = view();
    const signature = JSON.stringify([fenced(), [...v.alive].sort(), [...v.current].sort()]);
    if (!fenced()) {
      const done = waiters;
      waiters = [];
      for (const resolve of done) resolve();
    }
    if (signature !== lastSignature) {
      if (lastSignature !== '' && fenced() !== wasFenced)
        log(
          { namespace, lease: nodeLeaseName(node) },
          fenced() ? 'egress lease fenced: hosting no automatic IP' : 'egress lease current again',
        );
      lastSignature = signature;
      wasFenced = fenced();
      options.onChange();
    }
  };
  /** Takes in one Lease object; returns what it read of it (undefined: not a node Lease). */
  const see = (object: unknown) => {
    const record = readNodeLease(object);
    if (!record) return undefined;
    const known = leases.get(record.node);
    if (known?.record.resourceVersion !== record.resourceVersion)
      leases.set(record.node, { record, observedAt: Date.now() });
    if (record.node === node && Number.isFinite(record.renewedAt) && !(record.renewedAt <= ownSeen)) {
      ownSeen = record.renewedAt;
      // The fence falls at its own time, not at the next renewal's tick.
      clearTimeout(fenceTimer);
      fenceTimer = setTimeout(check, Math.max(0, ownSeen + timing.fenceMs + 1 - Date.now()));
      fenceTimer.unref();
    }
    return record;
  };

  /** A list's Leases replace what was seen (those gone are forgotten). */
  const adopt = (items: readonly unknown[]) => {
    const names = new Set<string>();
    for (const item of items) {
      const record = see(item);
      if (record) names.add(record.node);
    }
    for (const name of [...leases.keys()]) if (!names.has(name)) leases.delete(name);
  };

  const first = await api.list(listPath, abort.signal).catch((error: Error & { status?: number }) => error);
  if (first instanceof Error) {
    if (first.status === 404 || first.status === 403) {
      log({ namespace, error: first.message }, 'egress leases not available: the probes decide');
      return undefined;
    }
    log({ namespace, error: first.message }, 'egress leases: the first list failed; retrying');
    relist();
  } else {
    const record = first.items.map(readNodeLease).find((r) => r?.node === node);
    if (record) {
      ownVersion = record.resourceVersion;
      // What it held, unless its Lease went stale meanwhile (another node may host those IPs now).
      if (Date.now() - record.renewedAt <= timing.staleMs)
        initial = { node, automatic: Object.keys(record.holdings.ips), since: record.holdings.ips };
    }
    adopt(first.items);
    // Seen in a list, not renewed by us yet: not a proof of our own reach.
    ownSeen = Number.NaN;
    watch(first.resourceVersion);
  }

  function watch(resourceVersion: string) {
    stopWatch = api.watch(
      base,
      { labelSelector: NODE_LEASE_LABEL, resourceVersion, allowWatchBookmarks: 'true' },
      {
        event: (event: WatchEvent) => {
          if (event.type === 'ADDED' || event.type === 'MODIFIED') see(event.object);
          else if (event.type === 'DELETED') {
            const record = readNodeLease(event.object);
            if (record) leases.delete(record.node);
          } else if (event.type === 'ERROR') relist();
          check();
        },
        done: () => relist(),
      },
    );
  }
  function relist() {
    stopWatch?.();
    stopWatch = undefined;
    if (closed || relistTimer) return;
    relistTimer = setTimeout(async () => {
      relistTimer = undefined;
      const answer = await api.list(listPath, abort.signal).catch((error: Error) => error);
      if (closed) return;
      if (answer instanceof Error) {
        relist();
        return;
      }
      adopt(answer.items);
      watch(answer.resourceVersion);
    }, RELIST_MS);
  }

  async function renew() {
    if (renewing || closed || !renews()) return;
    renewing = true;
    const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(timing.renewMs * 2)]);
    try {
      // Until its first renewal came back, a starting agent writes what its Lease said (a restart
      // keeps its IPs) as a candidate; after that, fenced means no candidate.
      const current = Number.isFinite(ownSeen);
      const held = options.holdings();
      const what = current || held.automatic.length > 0 || !initial ? held : initial;
      const body = nodeLeaseObject(
        namespace,
        node,
        holdingsOf(what, !current || !fenced()),
        Date.now(),
        ownVersion,
      );
      const answer =
        ownVersion === undefined
          ? await api.send('POST', base, body, signal)
          : await api.send('PUT', own, body, signal);
      const stored = readNodeLease(answer.body);
      if (answer.status < 300 && stored) {
        ownVersion = stored.resourceVersion;
      } else if (answer.status === 409 || answer.status === 404) {
        // Our version is old (someone else wrote our Lease, or an answer was lost), or it is gone.
        const now = await api.send('GET', own, undefined, signal);
        ownVersion = now.status === 200 ? readNodeLease(now.body)?.resourceVersion : undefined;
        if (answer.status === 409)
          log({ namespace, lease: nodeLeaseName(node) }, 'egress lease: conflict; read again');
      } else {
        log(
          { namespace, status: answer.status, error: answer.error?.message },
          'egress lease: renewal refused',
        );
      }
    } catch (error) {
      log({ namespace, error: (error as Error).message }, 'egress lease: renewal failed');
    } finally {
      renewing = false;
    }
  }

  const timer = setInterval(() => {
    void renew();
    check();
  }, timing.renewMs);
  timer.unref();
  void renew();

  return {
    setPeers() {
      // The Leases say who is there; the plan takes the candidates from the HostSubnets.
    },
    alive: () => new Set(view().alive),
    current: () => new Map(view().current),
    fenced,
    initial: () => initial,
    settled() {
      // Only a starting agent waits (for its first renewal to come back); a fenced one plans at once.
      if (!fenced() || Number.isFinite(ownSeen)) return Promise.resolve();
      return new Promise((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, timing.fenceMs + timing.renewMs).unref();
      });
    },
    close() {
      closed = true;
      clearInterval(timer);
      clearTimeout(relistTimer);
      clearTimeout(fenceTimer);
      stopWatch?.();
      abort.abort();
      for (const resolve of waiters) resolve();
      waiters = [];
    },
  };
}
