import { createServer, type Server } from 'node:net';
import { fastInfo, type Logger } from '../runtime/logger.js';
import { createTargetCheck } from './check-target.js';
import { ClientConnection } from './client-connection.js';
import type { ProxyContext } from './context.js';
import type { ProxyMetrics } from './metrics.js';
import type { CompiledPolicy } from './policy/compile-policy.js';
import type { NumericIp } from './policy/ip.js';
import type { ProxySettings } from './settings.js';
import { UpstreamPool } from './upstream-pool.js';

/** What the proxy server needs from the outside; all of it replaceable in tests. */
export interface ProxyDeps {
  /** The running policy; read once per request, so a reload applies to new requests only. */
  readonly policy: () => CompiledPolicy;
  readonly settings: ProxySettings;
  readonly log: Logger;
  readonly metrics: ProxyMetrics;
  readonly isSelf: (ip: NumericIp) => boolean;
  readonly resolve: (name: string) => Promise<NumericIp[]>;
}

/** A running proxy. */
export interface EgressProxy {
  readonly server: Server;
  /** Stops accepting, closes idle connections, lets open requests and tunnels finish for up to `ms`, then cuts them. */
  drain(ms: number): Promise<void>;
}

/**
 * Creates the egress HTTP proxy: absolute-URI HTTP/1.1 requests are forwarded (keep-alive both
 * sides, bodies streamed, hop-by-hop headers dropped, Via added) and CONNECT opens a tunnel, each
 * only to addresses the policy allowed. One log line per request or tunnel.
 *
 * This file is the server: it accepts, caps and accounts for connections, runs the one sweep that
 * checks every deadline, and drains. A connection (client-connection.ts) reads heads and keeps
 * its limits; a plain request is forwarded by forward.ts and exchange.ts, a CONNECT by tunnel.ts.
 * The proxy reads HTTP/1.1 itself (src/proxy/http1): strict heads, bodies passed through as framed,
 * destination connections pooled per address. docs/http-proxy.md says why.
 *
 * @param deps policy, settings, logger, metrics, self check and resolver
 * @returns the proxy (not yet listening)
 */
export function createEgressProxy(deps: ProxyDeps): EgressProxy {
  const { settings, log } = deps;
  const counts = deps.metrics.counts;
  const pool = new UpstreamPool(settings.keepAliveTimeoutMs);
  const connections = new Set<ClientConnection>();
  let draining = false;
  const ctx: ProxyContext = {
    settings,
    log,
    line: fastInfo(log),
    counts,
    pool,
    checkTarget: createTargetCheck(deps),
    get draining() {
      return draining;
    },
  };
  const forget = (conn: ClientConnection) => connections.delete(conn);

  const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    if (draining) {
      socket.destroy();
      return;
    }
    connections.add(new ClientConnection(socket, ctx, forget));
  });
  server.maxConnections = settings.maxConnections;

  // One timer for every deadline (head, body, keep-alive, a tunnel's connect and idle time, destination
  // answer, pooled connections),
  // as Node's HTTP server checks its connections: nothing is armed or cleared per request.
  const tick = Math.max(
    25,
    Math.min(
      1000,
      settings.headersTimeoutMs / 4,
      settings.keepAliveTimeoutMs / 4,
      settings.responseTimeoutMs / 4,
      settings.requestTimeoutMs / 4,
      settings.idleTimeoutMs / 4,
      settings.connectTimeoutMs / 4,
    ),
  );
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const conn of connections) conn.expire(now);
    pool.sweep(now);
  }, tick);
  sweep.unref();
  server.on('close', () => clearInterval(sweep));

  return {
    server,
    async drain(ms) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      pool.close();
      for (const conn of connections) {
        if (conn.phase === 'idle' || conn.phase === 'head') conn.socket.destroy();
      }
      const tunnelsDone = new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (counts.openTunnels > 0) return;
          clearInterval(poll);
          resolve();
        }, 50);
        poll.unref();
      });
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
      await Promise.race([Promise.all([closed, tunnelsDone]), deadline]);
      for (const conn of connections) conn.socket.destroy();
      clearInterval(sweep);
    },
  };
}
