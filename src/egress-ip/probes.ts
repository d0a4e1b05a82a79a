/**
 * Automatic egress IPs' view of the other nodes (docs/egress-ips.md): every agent asks every
 * other agent with egressCIDRs, on its admin port, which automatic egress IPs it holds
 * (`GET /egress`), every 200 ms with a 200 ms timeout. A node that fails 3 times in a row is down;
 * one answer brings it back. Thin: HTTP and timers.
 */

/** What `GET /egress` answers. */
export interface EgressHoldings {
  readonly node: string;
  /** The automatic egress IPs the node hosts now. */
  readonly automatic: readonly string[];
  /** Since when (ms since the epoch) it hosts each: the longest holder keeps an IP held twice. */
  readonly since?: Readonly<Record<string, number>>;
}

/** A peer to ask. */
export interface Peer {
  readonly name: string;
  readonly hostIP: string;
}

/** The probes' view. */
export interface PeerProber {
  /** Which peers are to be asked (the nodes with egressCIDRs but this one). */
  setPeers(peers: readonly Peer[]): void;
  /** The peers that answer (not yet down). */
  alive(): Set<string>;
  /** Which peers hold each automatic IP, from their last answers, with since when. */
  current(): Map<string, { readonly node: string; readonly since: number }[]>;
  /** Resolves once every peer set so far answered or is down (bounded). */
  settled(): Promise<void>;
  close(): void;
}

/** Options of startPeerProber. */
export interface ProberOptions {
  readonly port: number;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  /** Failures in a row before a node is down. */
  readonly failures?: number;
  /** Told when the view changed (a node down or back, an IP held elsewhere). */
  readonly onChange: () => void;
}

interface PeerState {
  peer: Peer;
  failures: number;
  answered: boolean;
  holdings: readonly string[];
  since: Readonly<Record<string, number>>;
}

/**
 * Starts asking. The first round starts at once.
 *
 * @returns the prober (close() stops it)
 */
export function startPeerProber(options: ProberOptions): PeerProber {
  const intervalMs = options.intervalMs ?? 200;
  const timeoutMs = options.timeoutMs ?? 200;
  const limit = options.failures ?? 3;
  const peers = new Map<string, PeerState>();
  let running = false;
  let closed = false;
  let waiters: (() => void)[] = [];
  /** Every peer answered once, or is down. */
  const known = () => [...peers.values()].every((p) => p.answered || p.failures >= limit);
  const view = () =>
    JSON.stringify(
      [...peers.values()].map((p) => [p.peer.name, p.failures >= limit, [...p.holdings].sort()]),
    );

  const ask = async (state: PeerState): Promise<void> => {
    try {
      const response = await fetch(`http://${hostPort(state.peer.hostIP, options.port)}/egress`, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = (await response.json()) as Partial<EgressHoldings>;
      state.holdings = Array.isArray(body.automatic)
        ? body.automatic.filter((ip) => typeof ip === 'string')
        : [];
      state.since = body.since && typeof body.since === 'object' ? body.since : {};
      state.failures = 0;
      state.answered = true;
    } catch {
      state.failures++;
      if (state.failures >= limit) state.holdings = [];
    }
  };
  const round = async () => {
    if (running || closed) return;
    running = true;
    const before = view();
    try {
      await Promise.all([...peers.values()].map(ask));
    } finally {
      running = false;
    }
    if (known()) {
      const done = waiters;
      waiters = [];
      for (const resolve of done) resolve();
    }
    if (view() !== before && !closed) options.onChange();
  };
  const timer = setInterval(() => void round(), intervalMs);
  timer.unref();

  return {
    setPeers(next) {
      const names = new Set(next.map((p) => p.name));
      for (const name of peers.keys()) if (!names.has(name)) peers.delete(name);
      for (const peer of next) {
        const known = peers.get(peer.name);
        if (known && known.peer.hostIP === peer.hostIP) continue;
        peers.set(peer.name, { peer, failures: 0, answered: false, holdings: [], since: {} });
      }
      void round();
    },
    alive: () => new Set([...peers.values()].filter((p) => p.failures < limit).map((p) => p.peer.name)),
    current() {
      const out = new Map<string, { node: string; since: number }[]>();
      for (const state of peers.values()) {
        if (state.failures >= limit) continue;
        for (const ip of state.holdings) {
          out.set(ip, [
            ...(out.get(ip) ?? []),
            { node: state.peer.name, since: Number(state.since[ip] ?? 0) },
          ]);
        }
      }
      return out;
    },
    settled() {
      if (known()) return Promise.resolve();
      return new Promise((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, (limit + 1) * Math.max(intervalMs, timeoutMs) + 100).unref();
      });
    },
    close() {
      closed = true;
      clearInterval(timer);
      for (const resolve of waiters) resolve();
      waiters = [];
    },
  };
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
