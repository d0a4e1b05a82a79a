import { Counter, Gauge, type Registry } from 'prom-client';
import type { ConnectionResult } from './relay.js';
import type { ResolutionDecision } from './resolution.js';

/**
 * One entry's counts. Plain numbers on the connection path (a prom-client `inc` with labels hashes
 * the labels every time); the registry reads them when /metrics is scraped.
 */
export class EntryMetrics {
  readonly port: string;
  readonly destination: string;
  /** Connections open now. */
  active = 0;
  bytesToDestination = 0;
  bytesToClient = 0;
  readonly results = new Map<ConnectionResult, number>();
  readonly connectFailures = new Map<string, number>();

  constructor(port: number, destination: string) {
    this.port = String(port);
    this.destination = destination;
  }

  /** Counts a connection that ended. */
  ended(result: ConnectionResult, bytesFromClient: number, bytesToClient: number): void {
    this.active--;
    this.results.set(result, (this.results.get(result) ?? 0) + 1);
    this.bytesToDestination += bytesFromClient;
    this.bytesToClient += bytesToClient;
  }

  /** Counts a failed connect attempt to an address. */
  connectFailed(address: string): void {
    this.connectFailures.set(address, (this.connectFailures.get(address) ?? 0) + 1);
  }
}

/**
 * The DNS proxy's Prometheus metrics, all named `egress_dns_proxy_*`:
 *
 * - `connections_total{port,destination,result}`: connections by entry and how they ended
 * - `active_connections{port,destination}`: connections open now
 * - `bytes_total{port,destination,direction}`: bytes relayed (`to_destination`, `to_client`),
 *   counted when a connection ends
 * - `connect_failures_total{port,destination,address}`: failed connect attempts
 * - `resolutions_total{name,outcome}`: resolution rounds (`answer`, `negative`, `failure`)
 * - `resolution_failures_total{name}`: rounds that gave no address
 * - `addresses{port,destination}`: addresses an entry relays to now (0: its connections are refused)
 * - `reloads_total{result}`: reloads of the followed file (`applied`, `invalid`, `failed`)
 */
export class DnsProxyMetrics {
  readonly resolutions: Counter<'name' | 'outcome'>;
  readonly resolutionFailures: Counter<'name'>;
  readonly addresses: Gauge<'port' | 'destination'>;
  readonly reloads: Counter<'result'>;
  /** Every entry ever run, by port and destination: counters never go back, also across reloads. */
  readonly #entries = new Map<string, EntryMetrics>();

  /**
   * Registers the metrics.
   *
   * @param registry where to register them
   */
  constructor(registry: Registry) {
    const registers = [registry];
    const entries = this.#entries;
    const labels = (e: EntryMetrics) => ({ port: e.port, destination: e.destination });
    new Counter({
      name: 'egress_dns_proxy_connections_total',
      help: 'Relayed connections by entry and result',
      labelNames: ['port', 'destination', 'result'],
      registers,
      collect() {
        this.reset();
        for (const e of entries.values())
          for (const [result, n] of e.results) this.inc({ ...labels(e), result }, n);
      },
    });
    new Gauge({
      name: 'egress_dns_proxy_active_connections',
      help: 'Connections open now, by entry',
      labelNames: ['port', 'destination'],
      registers,
      collect() {
        this.reset();
        for (const e of entries.values()) this.set(labels(e), e.active);
      },
    });
    new Counter({
      name: 'egress_dns_proxy_bytes_total',
      help: 'Bytes relayed by entry and direction, counted when a connection ends',
      labelNames: ['port', 'destination', 'direction'],
      registers,
      collect() {
        this.reset();
        for (const e of entries.values()) {
          this.inc({ ...labels(e), direction: 'to_destination' }, e.bytesToDestination);
          this.inc({ ...labels(e), direction: 'to_client' }, e.bytesToClient);
        }
      },
    });
    new Counter({
      name: 'egress_dns_proxy_connect_failures_total',
      help: 'Failed connect attempts by entry and destination address',
      labelNames: ['port', 'destination', 'address'],
      registers,
      collect() {
        this.reset();
        for (const e of entries.values())
          for (const [address, n] of e.connectFailures) this.inc({ ...labels(e), address }, n);
      },
    });
    this.resolutions = new Counter({
      name: 'egress_dns_proxy_resolutions_total',
      help: 'Resolution rounds by name and outcome (answer, negative, failure)',
      labelNames: ['name', 'outcome'],
      registers,
    });
    this.resolutionFailures = new Counter({
      name: 'egress_dns_proxy_resolution_failures_total',
      help: 'Resolution rounds that gave no address, by name',
      labelNames: ['name'],
      registers,
    });
    this.addresses = new Gauge({
      name: 'egress_dns_proxy_addresses',
      help: 'Addresses an entry relays to now (0: its connections are refused)',
      labelNames: ['port', 'destination'],
      registers,
    });
    this.reloads = new Counter({
      name: 'egress_dns_proxy_reloads_total',
      help: 'Reloads of the destination file by result (applied, invalid, failed)',
      labelNames: ['result'],
      registers,
    });
  }

  /**
   * An entry's counts (the same object for the same port and destination, across reloads).
   *
   * @param port the proxy port
   * @param destination the entry's name or address
   */
  entry(port: number, destination: string): EntryMetrics {
    const key = `${port} ${destination}`;
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = new EntryMetrics(port, destination);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  /** Sets how many addresses an entry relays to now. */
  setAddresses(entry: EntryMetrics, count: number): void {
    this.addresses.set({ port: entry.port, destination: entry.destination }, count);
  }

  /** Drops an entry's address gauge (the entry left the list). */
  removeAddresses(entry: EntryMetrics): void {
    this.addresses.remove({ port: entry.port, destination: entry.destination });
  }

  /** Counts a resolution round. */
  resolved(name: string, decision: ResolutionDecision): void {
    this.resolutions.inc({ name, outcome: decision.outcome });
    if (decision.state.addresses.length === 0 || decision.outcome !== 'answer')
      this.resolutionFailures.inc({ name });
  }
}
