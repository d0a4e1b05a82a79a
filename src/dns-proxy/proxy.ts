import net, { type Server, type Socket } from 'node:net';
import { fastInfoJson, type InfoJsonLine, type Logger } from '../runtime/logger.js';
import type { DnsProxySettings } from './config.js';
import { connectOrder } from './connect-order.js';
import { connectionJson } from './connection-line.js';
import type { LookupName } from './dns-lookup.js';
import { EntryRuntime } from './entry-runtime.js';
import { AddressHealth } from './health.js';
import type { DnsProxyMetrics } from './metrics.js';
import { type NameRecord, NameResolver } from './name-resolver.js';
import { type DnsProxyEntry, targetText } from './parse-destinations.js';
import { type CoarseClock, Relay } from './relay.js';
import type { NameState, ResolutionDecision } from './resolution.js';

/** Addresses one client connection tries at most before it is given up (haproxy: `retries 3`). */
export const MAX_CONNECT_ATTEMPTS = 4;
/** How long cut connections get to close after the drain time ran out. */
const CUT_GRACE_MS = 1_000;
/** How often connect and idle timeouts are checked (their precision). */
export const TIMEOUT_CHECK_MS = 250;

/** Options of {@link DnsProxy}. */
export interface DnsProxyOptions {
  readonly settings: DnsProxySettings;
  readonly log: Logger;
  readonly metrics: DnsProxyMetrics;
  /** The DNS (default: the nameservers of /etc/resolv.conf). */
  readonly lookup?: LookupName;
}

/** What applying a list did. */
export type ApplyResult =
  | { readonly ok: true; readonly added: number[]; readonly removed: number[]; readonly changed: number[] }
  | { readonly ok: false; readonly port: number; readonly error: Error };

/** How a drain ended. */
export interface DrainResult {
  /** Connections open when the drain began. */
  readonly open: number;
  /** Connections still open when the drain time ran out, and cut. */
  readonly cut: number;
}

/** A proxy port: its listening socket and the entry new connections go to. */
interface Listener {
  readonly port: number;
  readonly server: Server;
  entry: EntryRuntime;
}

/**
 * The egress DNS proxy: one TCP listener per entry of the list (both address families); each
 * accepted connection is relayed to the entry's address, or to one of the current addresses of its
 * name, round robin over the addresses that accept connections. Names are kept resolved by a
 * {@link NameResolver}; lists are applied atomically by {@link DnsProxy.apply}; open connections
 * are never cut by a re-resolution or a reload, only by {@link DnsProxy.drain} once its time ran out.
 */
export class DnsProxy {
  readonly #settings: DnsProxySettings;
  readonly #log: Logger;
  /** The per-connection line, written as log.info writes it but faster (fastInfoJson, connectionJson). */
  readonly #connectionLine: InfoJsonLine;
  readonly #metrics: DnsProxyMetrics;
  readonly #health = new AddressHealth();
  readonly #resolver: NameResolver;
  readonly #byName = new Map<string, Set<EntryRuntime>>();
  readonly #active = new Set<Relay>();
  readonly #clock: CoarseClock = { now: Date.now() };
  readonly #timeouts: NodeJS.Timeout;
  #listeners = new Map<number, Listener>();
  #applying: Promise<unknown> = Promise.resolve();
  #started = false;
  #draining = false;
  #onIdle: (() => void) | undefined;

  constructor(options: DnsProxyOptions) {
    this.#settings = options.settings;
    this.#log = options.log;
    this.#connectionLine = fastInfoJson(options.log);
    this.#metrics = options.metrics;
    this.#resolver = new NameResolver({
      bounds: options.settings,
      onResolution: (name, decision, previous) => this.#resolved(name, decision, previous),
      ...(options.lookup ? { lookup: options.lookup } : {}),
    });
    this.#timeouts = setInterval(() => this.#checkTimeouts(), TIMEOUT_CHECK_MS);
    this.#timeouts.unref();
  }

  #checkTimeouts(): void {
    const now = Date.now();
    this.#clock.now = now;
    for (const relay of this.#active) relay.checkTimeouts(now);
  }

  /** Whether the proxy takes connections: listening, and not draining. */
  get ready(): boolean {
    return this.#started && !this.#draining;
  }

  /** Connections open now. */
  get activeConnections(): number {
    return this.#active.size;
  }

  /** The ports listened on now. */
  get ports(): number[] {
    return [...this.#listeners.keys()];
  }

  /**
   * Makes `entries` the running list, atomically: every new port is opened first (when one cannot
   * be, the others are closed again and the running list stays); then new connections of every
   * port go to the new entries; then the ports no longer listed are closed. Open connections are
   * not touched. Calls are serialized.
   *
   * @param entries the new list
   * @returns what changed, or the port that could not be opened
   */
  apply(entries: readonly DnsProxyEntry[]): Promise<ApplyResult> {
    const next = this.#applying.then(() => this.#apply(entries));
    this.#applying = next.catch(() => {});
    return next;
  }

  async #apply(entries: readonly DnsProxyEntry[]): Promise<ApplyResult> {
    if (this.#draining) return { ok: true, added: [], removed: [], changed: [] };
    const opened = new Map<number, Server>();
    for (const entry of entries) {
      if (this.#listeners.has(entry.listenPort)) continue;
      try {
        opened.set(entry.listenPort, await this.#listen(entry.listenPort));
      } catch (error) {
        for (const server of opened.values()) server.close();
        return { ok: false, port: entry.listenPort, error: error as Error };
      }
    }
    const next = new Map<number, Listener>();
    const retired: EntryRuntime[] = [];
    const added: number[] = [];
    const changed: number[] = [];
    for (const entry of entries) {
      const port = entry.listenPort;
      const existing = this.#listeners.get(port);
      if (existing && sameDestination(existing.entry.entry, entry)) {
        next.set(port, existing);
        continue;
      }
      const runtime = this.#runtime(entry);
      if (existing) {
        retired.push(existing.entry);
        existing.entry = runtime;
        next.set(port, existing);
        changed.push(port);
      } else {
        const listener: Listener = { port, server: opened.get(port)!, entry: runtime };
        listener.server.on('connection', (socket: Socket) => this.#accept(listener, socket));
        next.set(port, listener);
        added.push(port);
      }
    }
    const removed: number[] = [];
    for (const [port, listener] of this.#listeners) {
      if (next.has(port)) continue;
      listener.server.close();
      retired.push(listener.entry);
      removed.push(port);
    }
    for (const runtime of retired) this.#retire(runtime);
    this.#listeners = next;
    this.#started = true;
    return { ok: true, added, removed, changed };
  }

  /**
   * Stops taking connections (readiness goes down, every port is closed), lets open connections
   * finish for the drain time, then cuts what is left.
   *
   * @param abort ends the wait early (e.g. a second SIGTERM)
   * @returns how many connections were open, and how many were cut
   */
  async drain(abort?: AbortSignal): Promise<DrainResult> {
    this.#draining = true;
    await this.#applying;
    for (const listener of this.#listeners.values()) listener.server.close();
    this.#resolver.close();
    const open = this.#active.size;
    await this.#waitIdle(this.#settings.drainTimeoutMs, abort);
    const cut = this.#active.size;
    for (const relay of [...this.#active]) relay.cut();
    await this.#waitIdle(CUT_GRACE_MS);
    clearInterval(this.#timeouts);
    return { open, cut };
  }

  #waitIdle(ms: number, abort?: AbortSignal): Promise<void> {
    if (this.#active.size === 0 || abort?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        abort?.removeEventListener('abort', done);
        this.#onIdle = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      abort?.addEventListener('abort', done);
      this.#onIdle = done;
    });
  }

  #listen(port: number): Promise<Server> {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port }, () => {
        server.off('error', reject);
        server.on('error', (error) =>
          this.#log.error({ event: 'listener', port, err: error }, 'listener error'),
        );
        resolve(server);
      });
    });
  }

  #accept(listener: Listener, socket: Socket): void {
    const runtime = listener.entry;
    runtime.metrics.active++;
    this.#clock.now = Date.now();
    if (this.#active.size >= this.#settings.maxConnections) {
      const relay = new Relay(socket, runtime.plan([]), runtime, this.#clock);
      this.#active.add(relay);
      relay.refuse('limit');
      return;
    }
    const addresses = runtime.addresses();
    const candidates =
      addresses.length === 1 && this.#health.allUp
        ? addresses
        : connectOrder(
            addresses,
            runtime.cursor++,
            runtime.entry.remotePort,
            this.#health,
            this.#clock.now,
            MAX_CONNECT_ATTEMPTS,
          );
    const relay = new Relay(socket, runtime.plan(candidates), runtime, this.#clock);
    this.#active.add(relay);
    relay.start();
  }

  #runtime(entry: DnsProxyEntry): EntryRuntime {
    const destination = targetText(entry.target);
    const metrics = this.#metrics.entry(entry.listenPort, destination);
    let record: NameRecord | undefined;
    if (entry.target.kind === 'name') {
      record = this.#resolver.watch(entry.target.name);
    }
    const runtime = new EntryRuntime(entry, destination, record, metrics, this.#settings, {
      health: this.#health,
      ended: (relay, line) => {
        this.#active.delete(relay);
        this.#connectionLine(connectionJson(line), 'connection');
        if (this.#active.size === 0) this.#onIdle?.();
      },
      log: this.#log,
    });
    if (record) {
      const users = this.#byName.get(record.name) ?? new Set<EntryRuntime>();
      users.add(runtime);
      this.#byName.set(record.name, users);
    }
    this.#metrics.setAddresses(metrics, runtime.addresses().length);
    return runtime;
  }

  #retire(runtime: EntryRuntime): void {
    this.#metrics.removeAddresses(runtime.metrics);
    const name = runtime.record?.name;
    if (name === undefined) return;
    this.#byName.get(name)?.delete(runtime);
    if (this.#byName.get(name)?.size === 0) this.#byName.delete(name);
    this.#resolver.unwatch(name);
  }

  #resolved(name: string, decision: ResolutionDecision, previous: NameState): void {
    this.#metrics.resolved(name, decision);
    const { state } = decision;
    for (const runtime of this.#byName.get(name) ?? [])
      this.#metrics.setAddresses(runtime.metrics, state.addresses.length);
    const line = {
      event: 'resolution',
      name,
      outcome: decision.outcome,
      status: state.status,
      addresses: state.addresses,
      previous: previous.addresses,
      ...(decision.ttl === undefined ? {} : { ttl: decision.ttl }),
      ...(decision.codes === undefined ? {} : { codes: decision.codes }),
      ...(decision.ignored === undefined ? {} : { ignored: decision.ignored }),
      nextInMs: decision.delayMs,
    };
    if (decision.changed || (previous.status === 'pending' && state.addresses.length === 0)) {
      this.#log.info(line, state.addresses.length > 0 ? 'addresses changed' : 'no address');
    } else if (decision.outcome !== 'answer') {
      this.#log.warn(
        line,
        state.addresses.length > 0 ? 'resolution failed, keeping the last addresses' : 'resolution failed',
      );
    } else {
      this.#log.debug(line, 'addresses unchanged');
    }
  }
}

function sameDestination(a: DnsProxyEntry, b: DnsProxyEntry): boolean {
  return targetText(a.target) === targetText(b.target) && a.remotePort === b.remotePort;
}
