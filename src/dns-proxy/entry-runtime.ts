/**
 * A DNS proxy entry as it runs (src/dns-proxy/proxy.ts keeps one per listening port): its current
 * addresses, the relay plan of a new connection, and what its relays report (health, metrics, the
 * connection's line).
 */
import type { Logger } from '../runtime/logger.js';
import type { DnsProxySettings } from './config.js';
import type { AddressHealth } from './health.js';
import type { EntryMetrics } from './metrics.js';
import type { NameRecord } from './name-resolver.js';
import type { DnsProxyEntry } from './parse-destinations.js';
import type { ConnectionRecord, Relay, RelayHooks, RelayPlan } from './relay.js';

/** What an entry's runtime needs from the proxy. */
export interface EntryContext {
  readonly health: AddressHealth;
  readonly log: Logger;
  ended(relay: Relay, record: ConnectionRecord): void;
}

/** An entry as it runs: its destination's current addresses, round-robin position and metrics. */
export class EntryRuntime implements RelayHooks {
  readonly entry: DnsProxyEntry;
  readonly destination: string;
  readonly record: NameRecord | undefined;
  readonly metrics: EntryMetrics;
  cursor = 0;
  readonly #static: readonly string[];
  readonly #settings: DnsProxySettings;
  readonly #context: EntryContext;

  constructor(
    entry: DnsProxyEntry,
    destination: string,
    record: NameRecord | undefined,
    metrics: EntryMetrics,
    settings: DnsProxySettings,
    context: EntryContext,
  ) {
    this.entry = entry;
    this.destination = destination;
    this.record = record;
    this.metrics = metrics;
    this.#static = entry.target.kind === 'address' ? [entry.target.address.address] : [];
    this.#settings = settings;
    this.#context = context;
  }

  /** The addresses new connections go to now. */
  addresses(): readonly string[] {
    return this.record ? this.record.state.addresses : this.#static;
  }

  /** A relay plan for a new connection. */
  plan(candidates: readonly string[]): RelayPlan {
    return {
      port: this.entry.listenPort,
      destination: this.destination,
      remotePort: this.entry.remotePort,
      candidates,
      connectTimeoutMs: this.#settings.connectTimeoutMs,
      idleTimeoutMs: this.#settings.idleTimeoutMs,
    };
  }

  attemptFailed(address: string, remotePort: number, code: string): void {
    const retryInMs = this.#context.health.failed(`${address} ${remotePort}`, Date.now());
    this.metrics.connectFailed(address);
    this.#context.log.warn(
      {
        event: 'address',
        port: this.entry.listenPort,
        destination: this.destination,
        address,
        remotePort,
        error: code,
        retryInMs,
      },
      'connect failed, address skipped for a while',
    );
  }

  connected(address: string, remotePort: number): void {
    if (this.#context.health.allUp) return;
    if (this.#context.health.succeeded(`${address} ${remotePort}`)) {
      this.#context.log.info(
        { event: 'address', port: this.entry.listenPort, destination: this.destination, address, remotePort },
        'address accepts connections again',
      );
    }
  }

  ended(relay: Relay, record: ConnectionRecord): void {
    this.metrics.ended(record.result, record.bytesFromClient, record.bytesToClient);
    this.#context.ended(relay, record);
  }
}
