import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** The proxy's Prometheus metrics (low cardinality: no hosts or addresses as labels). */
export interface ProxyMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'kind' | 'decision' | 'status'>;
  readonly bytes: Counter<'direction'>;
  readonly openTunnels: Gauge;
  readonly reloads: Counter<'result'>;
  readonly rules: Gauge;
}

/**
 * Creates the registry and the proxy's metrics, prefixed `egress_http_proxy_`, plus Node's default
 * process metrics.
 *
 * @returns the metrics
 */
export function createProxyMetrics(): ProxyMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'egress_http_proxy_requests_total',
      help: 'Requests and tunnels by kind (http, connect), decision (allow, deny, invalid) and status',
      labelNames: ['kind', 'decision', 'status'],
      registers,
    }),
    bytes: new Counter({
      name: 'egress_http_proxy_bytes_total',
      help: 'Bytes relayed: to_upstream (from clients) and to_client',
      labelNames: ['direction'],
      registers,
    }),
    openTunnels: new Gauge({
      name: 'egress_http_proxy_open_tunnels',
      help: 'CONNECT tunnels open now',
      registers,
    }),
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
