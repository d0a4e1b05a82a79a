import {
  Agent,
  type ClientRequest,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../runtime/logger.js';
import { socketSink } from '../runtime/socket-reader.js';
import { connectErrorCode, ProxyError, statusFor } from './errors.js';
import type { ProxyMetrics } from './metrics.js';
import type { CompiledPolicy } from './policy/compile-policy.js';
import { type Decision, decide, denyByName } from './policy/decide.js';
import { type NumericIp, numericIpToString } from './policy/ip.js';
import type { ProxySettings } from './settings.js';
import { parseAbsoluteTarget, parseConnectTarget, type Target } from './target.js';
import { connectFirst, type Upstream } from './upstream.js';

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

const VIA = '1.1 egress-router';
/** Hop-by-hop headers (RFC 9110 7.6.1), plus the proxy's own; never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The outcome of checking a target: where the proxy may connect, and the decision as data. */
interface Checked {
  readonly decision: Decision;
  readonly addresses: readonly NumericIp[];
}

/**
 * Creates the egress HTTP proxy: absolute-URI HTTP/1.1 requests are forwarded (keep-alive both
 * sides, bodies streamed, hop-by-hop headers dropped, Via added) and CONNECT opens a tunnel, each
 * only to addresses the policy allowed. One log line per request or tunnel.
 *
 * @param deps policy, settings, logger, metrics, self check and resolver
 * @returns the proxy (not yet listening)
 */
export function createEgressProxy(deps: ProxyDeps): EgressProxy {
  const { settings, log } = deps;
  const counts = deps.metrics.counts;
  const agent = new Agent({
    keepAlive: true,
    // Request heads and bodies go out as separate writes: without this, Nagle holds the second
    // until the destination's delayed ACK (40 ms).
    noDelay: true,
    maxFreeSockets: 256,
    scheduling: 'lifo',
    timeout: settings.keepAliveTimeoutMs,
  });
  const tunnels = new Set<Socket>();
  // A connection answered for a client error is done: a later error on it (the client closing in
  // the middle of the head it never finished) is not another request to log. An error in the middle
  // of a request being served (a body sent too slowly) is told by that request's own log line.
  const refusedSockets = new WeakSet<Socket>();
  const inFlightErrors = new WeakMap<Socket, string>();
  const server = createServer({
    maxHeaderSize: settings.maxHeaderBytes,
    requestTimeout: settings.requestTimeoutMs,
    headersTimeout: settings.headersTimeoutMs,
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    connectionsCheckingInterval: 1000,
    noDelay: true,
    // The absolute URI names the destination; a missing Host is no reason for an unlogged 400.
    requireHostHeader: false,
  });
  server.maxConnections = settings.maxConnections;

  /** Checks a target; the decision (rule, reason) is recorded in the log entry, also when it denies. */
  async function check(target: Target, entry: Record<string, unknown>): Promise<Checked> {
    const policy = deps.policy();
    const note = (decision: Decision) => {
      entry.rule = decision.rule?.index;
      entry.reason = decision.reason;
    };
    const byName = target.name === undefined ? undefined : denyByName(policy, target.name);
    if (byName) {
      note(byName);
      throw new ProxyError('DENIED', byName.reason);
    }
    const candidates = target.ip ? [target.ip] : await deps.resolve(target.name!);
    const decision = decide(policy, target.name, candidates);
    note(decision);
    if (log.isLevelEnabled('debug')) {
      log.debug(
        {
          host: target.authority,
          addresses: decision.perAddress.map((d) => ({
            address: numericIpToString(d.address),
            result: d.result,
            rule: d.rule?.index,
          })),
        },
        'decision per address',
      );
    }
    if (decision.result === 'deny') throw new ProxyError('DENIED', decision.reason);
    const addresses = decision.allowed.filter((ip) => !deps.isSelf(ip));
    if (addresses.length === 0) throw new ProxyError('SELF', 'the proxy does not connect to itself');
    return { decision, addresses };
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const entry: Record<string, unknown> = {
      kind: 'http',
      client: peer(req.socket.remoteAddress),
      method: req.method,
    };
    let upstreamReq: ClientRequest | undefined;
    let decided = 'cancelled';
    let bytesIn = 0;
    let bytesOut = 0;
    let logged = false;
    const finish = (status: number, decision: string, error?: ProxyError | string) => {
      if (logged) return;
      logged = true;
      entry.status = status;
      entry.decision = decision;
      entry.ms = Math.round(performance.now() - started);
      entry.bytes_in = bytesIn;
      entry.bytes_out = bytesOut;
      if (error) entry.error = typeof error === 'string' ? error : error.message;
      counts.request('http', decision, status);
      counts.bytes(bytesIn, bytesOut);
      log.info(entry, 'request');
    };
    const fail = (error: ProxyError, decision: string) => {
      const status = statusFor(error.code);
      finish(status, decision, error);
      if (!res.headersSent) {
        const body = `egress-router: ${error.message}\n`;
        res.writeHead(status, {
          'content-type': 'text/plain; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          via: VIA,
        });
        res.end(body);
      } else {
        res.destroy();
      }
      upstreamReq?.destroy();
    };

    const parsed = parseAbsoluteTarget(req.url ?? '');
    if (!parsed.ok) return fail(new ProxyError('BAD_REQUEST', parsed.reason), 'invalid');
    const target = parsed.value;
    entry.host = target.authority;
    entry.port = target.port;

    check(target, entry).then(
      ({ addresses }) => {
        decided = 'allow';
        if (res.destroyed) return;
        const address = addresses[0]!;
        entry.address = numericIpToString(address);
        const { headers, body } = forwardHeaders(req.rawHeaders, target.authority);
        upstreamReq = httpRequest({
          agent,
          host: entry.address as string,
          family: address.family,
          port: target.port,
          method: req.method,
          path: target.path,
          headers,
          setHost: false,
        });
        // A new connection has connectTimeoutMs to connect, then responseTimeoutMs to answer; a
        // reused keep-alive connection has responseTimeoutMs to answer.
        let connecting = false;
        upstreamReq.once('socket', (socket: Socket) => {
          connecting = socket.connecting;
          socket.setTimeout(connecting ? settings.connectTimeoutMs : settings.responseTimeoutMs);
          if (connecting) {
            socket.once('connect', () => {
              connecting = false;
              socket.setTimeout(settings.responseTimeoutMs);
            });
          }
        });
        upstreamReq.on('timeout', () =>
          upstreamReq?.destroy(
            connecting
              ? new ProxyError('CONNECT_TIMEOUT', `connecting to ${target.authority} timed out`)
              : new ProxyError('RESPONSE_TIMEOUT', `${target.authority} did not answer in time`),
          ),
        );
        upstreamReq.on('error', (error: Error) => {
          const proxyError =
            error instanceof ProxyError
              ? error
              : new ProxyError(
                  connectErrorCode(error as NodeJS.ErrnoException),
                  `${target.authority}: ${(error as NodeJS.ErrnoException).code ?? error.message}`,
                  { cause: error },
                );
          fail(proxyError, 'allow');
        });
        upstreamReq.on('response', (upstreamRes: IncomingMessage) => {
          upstreamRes.socket.setTimeout(settings.responseTimeoutMs);
          res.writeHead(
            upstreamRes.statusCode ?? 502,
            upstreamRes.statusMessage,
            responseHeaders(upstreamRes.rawHeaders),
          );
          upstreamRes.pipe(res);
          upstreamRes.on('data', (chunk: Buffer) => {
            bytesOut += chunk.length;
          });
          upstreamRes.on('error', () => res.destroy());
          res.on('finish', () => finish(upstreamRes.statusCode ?? 502, 'allow'));
        });
        if (body) {
          req.pipe(upstreamReq);
          req.on('data', (chunk: Buffer) => {
            bytesIn += chunk.length;
          });
        } else {
          // No Content-Length and no Transfer-Encoding: a request without a body (most are).
          upstreamReq.end();
        }
      },
      (error: ProxyError) => fail(error, decisionOf(error)),
    );
    res.on('close', () => {
      if (res.writableFinished) return;
      upstreamReq?.destroy();
      const clientError = inFlightErrors.get(req.socket);
      const timedOut = clientError === 'ERR_HTTP_REQUEST_TIMEOUT';
      finish(
        timedOut ? 408 : res.headersSent ? res.statusCode : 499,
        decided,
        clientError ?? 'the client closed the connection before the response was complete',
      );
    });
  });

  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const started = performance.now();
    const entry: Record<string, unknown> = {
      kind: 'connect',
      client: peer(client.remoteAddress),
      method: 'CONNECT',
    };
    let upstream: Upstream | undefined;
    let logged = false;
    const done = (status: number, decision: string, error?: ProxyError) => {
      if (logged) return;
      logged = true;
      entry.status = status;
      entry.decision = decision;
      entry.ms = Math.round(performance.now() - started);
      entry.bytes_in = upstream?.socket.bytesWritten ?? 0;
      entry.bytes_out = upstream?.socket.bytesRead ?? 0;
      if (upstream) {
        counts.bytes(upstream.socket.bytesWritten, upstream.socket.bytesRead);
      }
      if (error) entry.error = error.message;
      counts.request('connect', decision, status);
      log.info(entry, 'tunnel');
    };
    const refuse = (error: ProxyError, decision: string) => {
      const status = statusFor(error.code);
      const body = `egress-router: ${error.message}\n`;
      client.on('error', () => {});
      client.end(
        `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nvia: ${VIA}\r\nconnection: close\r\n\r\n${body}`,
      );
      done(status, decision, error);
    };

    const parsed = parseConnectTarget(req.url ?? '');
    if (!parsed.ok) return refuse(new ProxyError('BAD_REQUEST', parsed.reason), 'invalid');
    const target = parsed.value;
    entry.host = target.authority;
    entry.port = target.port;
    client.on('error', () => client.destroy());

    check(target, entry)
      .then(({ addresses }) => connectFirst(addresses, target.port, settings.connectTimeoutMs))
      .then(
        (connected) => {
          upstream = connected;
          entry.address = numericIpToString(connected.address);
          const remote = connected.socket;
          if (client.destroyed) {
            remote.destroy();
            remote.once('close', () => connected.reader.release());
            return done(499, 'allow');
          }
          tunnels.add(client);
          counts.openTunnels++;
          client.write('HTTP/1.1 200 Connection established\r\n\r\n');
          if (head.length > 0) remote.write(head);
          splice(client, connected, settings.idleTimeoutMs, () => {
            tunnels.delete(client);
            counts.openTunnels--;
            done(200, 'allow');
          });
        },
        (error: ProxyError) => refuse(error, decisionOf(error)),
      );
  });

  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    const body = 'egress-router: protocol upgrades are not proxied; use CONNECT\n';
    socket.on('error', () => {});
    socket.end(
      `HTTP/1.1 501 Not Implemented\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
    counts.request('http', 'invalid', 501);
    log.info(
      {
        kind: 'http',
        client: peer(socket.remoteAddress),
        method: req.method,
        status: 501,
        decision: 'invalid',
      },
      'request',
    );
  });

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (refusedSockets.has(socket)) {
      socket.destroy();
      return;
    }
    refusedSockets.add(socket);
    if ((socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      inFlightErrors.set(socket, error.code ?? error.message);
      socket.destroy();
      return;
    }
    const status =
      error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    counts.request('http', 'invalid', status);
    log.info(
      { kind: 'http', client: peer(socket.remoteAddress), status, decision: 'invalid', error: error.code },
      'request',
    );
    if (socket.writable) {
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
      );
    } else {
      socket.destroy();
    }
  });

  return {
    server,
    async drain(ms) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
      const tunnelsDone = new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (tunnels.size === 0) {
            clearInterval(poll);
            resolve();
          }
        }, 50);
        poll.unref();
      });
      await Promise.race([Promise.all([closed, tunnelsDone]), deadline]);
      for (const socket of tunnels) socket.destroy();
      server.closeAllConnections();
      agent.destroy();
    },
  };
}

/** The decision label of a failed request, for logs and metrics. */
function decisionOf(error: ProxyError): string {
  if (error.code === 'DENIED' || error.code === 'SELF') return 'deny';
  if (error.code === 'BAD_REQUEST') return 'invalid';
  if (error.code === 'NAME_NOT_RESOLVED') return 'unresolved';
  return 'allow';
}

/** A peer address as logged: IPv4 clients without the ::ffff: prefix. */
function peer(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  499: 'Client Closed Request',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

/**
 * Relays bytes both ways, respecting half-close (a FIN from one side is passed on while the other
 * direction goes on), closes both on an error or after `idleMs` without traffic, and calls `onClose`
 * once when both are closed. The destination's bytes come through its reader (a buffer of its own,
 * no copy per chunk: the direction of downloads); the client's are piped.
 */
function splice(client: Socket, upstream: Upstream, idleMs: number, onClose: () => void): void {
  const remote = upstream.socket;
  let open = 2;
  const closed = () => {
    if (--open > 0) return;
    upstream.reader.release();
    onClose();
  };
  const destroyBoth = () => {
    client.destroy();
    remote.destroy();
  };
  client.pipe(remote);
  upstream.reader.attach(remote, socketSink(client, upstream.reader));
  remote.on('end', () => client.end());
  for (const [from, to] of [
    [client, remote],
    [remote, client],
  ] as const) {
    from.setTimeout(idleMs, destroyBoth);
    from.on('error', destroyBoth);
    from.once('close', () => {
      to.destroy();
      closed();
    });
  }
}

/**
 * The client's headers for the destination: hop-by-hop ones dropped, Host the checked authority,
 * Via added; and whether the request has a body (a Content-Length or a Transfer-Encoding).
 */
function forwardHeaders(raw: readonly string[], authority: string): { headers: string[]; body: boolean } {
  const drop = connectionTokens(raw);
  const out: string[] = ['host', authority];
  let via: string | undefined;
  let body = false;
  const codings: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    // A chunked body stays chunked: without it, the body would go out unframed and be read upstream
    // as further requests (request smuggling on a shared keep-alive connection).
    if (lower === 'transfer-encoding') codings.push(raw[i + 1]!);
    else if (lower === 'content-length') body = true;
    if (lower === 'host' || HOP_BY_HOP.has(lower) || drop.has(lower)) continue;
    if (lower === 'via') {
      via = via === undefined ? raw[i + 1]! : `${via}, ${raw[i + 1]}`;
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  if (codings.length > 0) out.push('transfer-encoding', codings.join(', '));
  out.push('via', via === undefined ? VIA : `${via}, ${VIA}`);
  return { headers: out, body: body || codings.length > 0 };
}

function responseHeaders(raw: readonly string[]): string[] {
  const drop = connectionTokens(raw);
  const out: string[] = [];
  let via: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || drop.has(lower)) continue;
    if (lower === 'via') {
      via = via === undefined ? raw[i + 1]! : `${via}, ${raw[i + 1]}`;
      continue;
    }
    out.push(raw[i]!, raw[i + 1]!);
  }
  out.push('via', via === undefined ? VIA : `${via}, ${VIA}`);
  return out;
}

function connectionTokens(raw: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) tokens.add(token.trim().toLowerCase());
  }
  return tokens;
}
