import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** What the admin endpoints report. */
export interface AdminServerOptions {
  /** Address to listen on (all addresses by default: the kubelet probes the pod IP). */
  readonly host?: string;
  readonly port: number;
  /** The Prometheus registry served on /metrics. */
  readonly registry: Registry;
  /** Whether the component takes traffic: /readyz answers 200 when true, 503 otherwise. */
  readonly ready: () => boolean;
  /** More GET paths of the component (`/status`), each answering a JSON document. */
  readonly json?: Readonly<Record<string, () => Promise<unknown>>>;
}

/** A running admin server. */
export interface AdminServer {
  /** The port it listens on (useful with port 0). */
  readonly port: number;
  /** Stops listening and closes idle connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves `/metrics` (Prometheus text format), `/healthz` (200 while the process runs) and
 * `/readyz` (200 while ready, 503 while starting or draining) on a port of its own, apart from the
 * traffic port, so probes and scrapes never compete with the policy.
 *
 * @param options port, registry and readiness
 * @returns the running server once it listens
 * @throws the listen error (EADDRINUSE, EACCES)
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/healthz') return send(200, 'ok\n');
    if (path === '/readyz') return options.ready() ? send(200, 'ready\n') : send(503, 'not ready\n');
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => send(200, text, options.registry.contentType),
        (error: Error) => send(500, `${error.message}\n`),
      );
      return;
    }
    const json =
      path !== undefined && options.json && Object.hasOwn(options.json, path)
        ? options.json[path]
        : undefined;
    if (json) {
      json().then(
        (value) => send(200, `${JSON.stringify(value, null, 2)}\n`, 'application/json'),
        (error: Error) => send(500, `${error.message}\n`),
      );
      return;
    }
    send(404, 'not found\n');
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  let closing: Promise<void> | undefined;
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
