import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/**
 * Requests and bytes counted as plain numbers on the request path (a prom-client `inc` with labels
 * hashes the labels every time); the registry reads them when /metrics is scraped, as the DNS
 * proxy's metrics do.
 */
export class RequestCounts {
  /** The label values of requests_total and their count, by `kind decision status`. */
  readonly #requests = new Map<string, { kind: string; decision: string; status: string; count: number }>();
  #last:
    | {
        kind: string;
        decision: string;
        status: number;
        counted: { count: number };
      }
    | undefined;
  toUpstream = 0;
  toClient = 0;
  /** CONNECT tunnels open now. */
  openTunnels = 0;

  /** Counts one request or tunnel when it is done. */
  request(kind: 'http' | 'connect', decision: string, status: number): void {
    // The last count used is the next one most of the time: no key is built for it.
    const last = this.#last;
    if (last !== undefined && last.status === status && last.decision === decision && last.kind === kind) {
      last.counted.count++;
      return;
    }
    const key = `${kind} ${decision} ${status}`;
    let counted = this.#requests.get(key);
    if (counted) counted.count++;
    else {
      counted = { kind, decision, status: String(status), count: 1 };
      this.#requests.set(key, counted);
    }
    this.#last = { kind, decision, status, counted };
  }

  /** Counts bytes relayed each way. */
  bytes(toUpstream: number, toClient: number): void {
    this.toUpstream += toUpstream;
    this.toClient += toClient;
  }

  /** The request counts with their label values. */
  requests(): Iterable<{
    readonly kind: string;
    readonly decision: string;
    readonly status: string;
    readonly count: number;
  }> {
    return this.#requests.values();
  }
}

/** The proxy's Prometheus metrics (low cardinality: no hosts or addresses as labels). */
export interface ProxyMetrics {
  readonly registry: Registry;
  /** What the request path counts: read at scrape time. */
  readonly counts: RequestCounts;
  readonly reloads: Counter<'result'>;
  readonly rules: Gauge;
}

/**
 * Creates the registry and the proxy's metrics, prefixed `egress_http_proxy_`, plus Node's default
 * process metrics: `requests_total{kind,decision,status}`, `bytes_total{direction}`,
 * `open_tunnels`, `policy_reloads_total{result}`, `policy_rules`.
 *
 * @returns the metrics
 */
export function createProxyMetrics(): ProxyMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const counts = new RequestCounts();
  new Counter({
    name: 'egress_http_proxy_requests_total',
    help: 'Requests and tunnels by kind (http, connect), decision (allow, deny, invalid) and status',
    labelNames: ['kind', 'decision', 'status'],
    registers,
    collect() {
      this.reset();
      for (const { count, ...labels } of counts.requests()) this.inc(labels, count);
    },
  });
  new Counter({
    name: 'egress_http_proxy_bytes_total',
    help: 'Bytes relayed: to_upstream (from clients) and to_client',
    labelNames: ['direction'],
    registers,
    collect() {
      this.reset();
      this.inc({ direction: 'to_upstream' }, counts.toUpstream);
      this.inc({ direction: 'to_client' }, counts.toClient);
    },
  });
  new Gauge({
    name: 'egress_http_proxy_open_tunnels',
    help: 'CONNECT tunnels open now',
    registers,
    collect() {
      this.set(counts.openTunnels);
    },
  });
  return {
    registry,
    counts,
    reloads: new Counter({
      name: 'egress_http_proxy_policy_reloads_total',
      help: 'Policy file changes by result (applied, invalid, unreadable)',
      labelNames: ['result'],
      registers,
    }),
    rules: new Gauge({
      name: 'egress_http_proxy_policy_rules',
      help: 'Rules in the running policy',
      registers,
    }),
  };
}
