import { createServer, type Server, type Socket } from 'node:net';
import { fastInfo, type Logger } from '../runtime/logger.js';
import { BULK_READ_BYTES, readInBulk, type SocketReader, socketSink } from '../runtime/socket-reader.js';
import { ProxyError, statusFor } from './errors.js';
import { Exchange, type ExchangeClient, type ExchangeOutcome } from './exchange.js';
import { plainResponse } from './http1/forward.js';
import { headEnd, parseRequestHead, type RequestHead } from './http1/head.js';
import type { ProxyMetrics } from './metrics.js';
import type { CompiledPolicy } from './policy/compile-policy.js';
import { type Decision, decide, denyByName } from './policy/decide.js';
import { type NumericIp, numericIpToString } from './policy/ip.js';
import type { ProxySettings } from './settings.js';
import { parseAbsoluteTarget, parseConnectTarget, type Target } from './target.js';
import { connectFirst, type Upstream } from './upstream.js';
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

/** The outcome of checking a target: where the proxy may connect, and the decision as data. */
interface Checked {
  readonly decision: Decision;
  readonly addresses: readonly NumericIp[];
}

/** Error codes logged for limits, as Node's HTTP server named them (kept for log queries). */
const HEADERS_TOO_LARGE = 'HPE_HEADER_OVERFLOW';
const REQUEST_TIMEOUT = 'ERR_HTTP_REQUEST_TIMEOUT';
const CONNECTION_ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n', 'latin1');
/** After its last answer is written, how long a closing connection waits for the client to close. */
const LINGER_MS = 2000;
/** What a closing connection reads and throws away before it is cut. */
const LINGER_MAX_BYTES = 1024 * 1024;
/** Bytes of a next (pipelined) request held while one is served, before reading pauses. */
const MAX_BUFFERED_BYTES = 65_536;

/**
 * Creates the egress HTTP proxy: absolute-URI HTTP/1.1 requests are forwarded (keep-alive both
 * sides, bodies streamed, hop-by-hop headers dropped, Via added) and CONNECT opens a tunnel, each
 * only to addresses the policy allowed. One log line per request or tunnel.
 *
 * The proxy reads HTTP/1.1 itself (src/proxy/http1): strict heads, bodies passed through as framed,
 * destination connections pooled per address. docs/http-proxy.md says why.
 *
 * @param deps policy, settings, logger, metrics, self check and resolver
 * @returns the proxy (not yet listening)
 */
export function createEgressProxy(deps: ProxyDeps): EgressProxy {
  const { settings, log } = deps;
  const counts = deps.metrics.counts;
  const line = fastInfo(log);
  const pool = new UpstreamPool(settings.keepAliveTimeoutMs);
  const connections = new Set<ClientConnection>();
  /** Tunnels open now, both sides: a drain waits for them. */
  let tunnels = 0;
  let draining = false;

  /**
   * Checks a target and calls `allowed` or `refused` with the outcome: at once for an IP literal
   * (no promise on the request path), after resolving a name. The decision (rule, reason) is
   * recorded in the log entry, also when it denies.
   */
  function checkThen(
    target: Target,
    entry: Record<string, unknown>,
    allowed: (checked: Checked) => void,
    refused: (error: ProxyError) => void,
  ): void {
    let checked: Checked | Promise<Checked>;
    try {
      checked = check(target, entry);
    } catch (error) {
      refused(error as ProxyError);
      return;
    }
    if (checked instanceof Promise) checked.then(allowed, refused);
    else allowed(checked);
  }

  /** The check itself: throws (or rejects with) a ProxyError when the target is refused. */
  function check(target: Target, entry: Record<string, unknown>): Checked | Promise<Checked> {
    const policy = deps.policy();
    if (target.ip) return decideFor(policy, target, [target.ip], entry);
    const byName = denyByName(policy, target.name!);
    if (byName) {
      entry.rule = byName.rule?.index;
      entry.reason = byName.reason;
      throw new ProxyError('DENIED', byName.reason);
    }
    return deps.resolve(target.name!).then((candidates) => decideFor(policy, target, candidates, entry));
  }

  function decideFor(
    policy: CompiledPolicy,
    target: Target,
    candidates: readonly NumericIp[],
    entry: Record<string, unknown>,
  ): Checked {
    const decision = decide(policy, target.name, candidates);
    entry.rule = decision.rule?.index;
    entry.reason = decision.reason;
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

  /**
   * One client connection: reads request heads, serves one request at a time (a pipelined next
   * request waits in the buffer), or becomes a tunnel after CONNECT.
   */
  class ClientConnection implements ExchangeClient {
    private buffer: Buffer | undefined;
    /** idle: between requests; head: a head is arriving; busy: a request is served; tunnel; closed. */
    phase: 'idle' | 'head' | 'busy' | 'tunnel' | 'closed' = 'idle';
    /** When the current phase times out (performance.now()), and how. */
    deadline: number;
    deadlineKind: 'keep-alive' | 'headers' | 'request' | 'linger' | 'none' = 'keep-alive';
    /** Bytes still to write at the last sweep, while closing: a client that reads nothing is cut. */
    private unwritten = 0;
    /** readHead is running: a call from within it (a request answered at once) loops instead of recursing. */
    private reading = false;
    private readAgain = false;
    /** The next request waits until the client has read the last response (its write buffer drained). */
    private awaitingDrain = false;
    /** Bytes read and thrown away while closing. */
    private discarded = 0;
    /** A tunnel's destination socket, the bytes both sides had read at the last sweep, and when they last changed. */
    private remote: Socket | undefined;
    private tunnelBytes = 0;
    private tunnelActiveAt = 0;
    private requestStarted = 0;
    exchange: Exchange | undefined;
    /** The entry of the request being served, logged once. */
    private entry: Record<string, unknown> | undefined;
    private started = 0;
    private ended = false;
    private paused = false;
    private readonly client: string | undefined;

    constructor(readonly socket: Socket) {
      this.client = peer(socket.remoteAddress);
      this.deadline = performance.now() + settings.keepAliveTimeoutMs;
      socket.on('data', this.onData);
      socket.on('end', this.onEnd);
      socket.on('drain', () => {
        this.exchange?.onClientDrain();
        if (!this.awaitingDrain || this.phase !== 'idle') return;
        this.awaitingDrain = false;
        this.resumeReading();
        this.readHead();
      });
      socket.on('error', () => {});
      socket.on('close', () => this.onClose());
    }

    get closing(): boolean {
      return draining || this.ended;
    }

    private readonly onData = (chunk: Buffer): void => {
      if (this.phase === 'closed') {
        // Answered and closing: what the client still sends (the body of a refused upload) is read
        // and thrown away, so that closing does not reset the connection before the client has read
        // the answer; a client that sends more than LINGER_MAX_BYTES is cut.
        this.discarded += chunk.length;
        if (this.discarded > LINGER_MAX_BYTES) this.socket.destroy();
        return;
      }
      const exchange = this.exchange;
      if (exchange !== undefined && !exchange.requestDone) {
        const rest = exchange.feedBody(chunk);
        if (rest !== undefined) this.hold(rest);
        return;
      }
      this.hold(chunk);
      if ((this.phase === 'idle' && !this.awaitingDrain) || this.phase === 'head') this.readHead();
    };

    /** Keeps bytes of a next request; reading pauses while they wait and pass MAX_BUFFERED_BYTES. */
    private hold(chunk: Buffer): void {
      this.buffer = this.buffer === undefined ? chunk : Buffer.concat([this.buffer, chunk]);
      const waiting = this.phase === 'busy' || this.awaitingDrain;
      if (waiting && this.buffer.length > MAX_BUFFERED_BYTES) this.pauseReading();
    }

    /** Ends the connection after `last` (and whatever is still being written), and reads no more. */
    private close(last?: Buffer): void {
      this.phase = 'closed';
      this.buffer = undefined;
      this.deadlineKind = 'linger';
      this.deadline = performance.now() + settings.keepAliveTimeoutMs;
      if (last === undefined) this.socket.end();
      else this.socket.end(last);
      this.unwritten = this.socket.writableLength;
      // Once the answer is out, the client has LINGER_MS to close its side (the socket is then
      // gone, both sides having ended) before the proxy closes it.
      this.socket.once('finish', () => {
        this.deadline = Math.min(this.deadline, performance.now() + LINGER_MS);
      });
      this.resumeReading();
    }

    private readonly onEnd = (): void => {
      this.ended = true;
      if (this.phase === 'closed') return; // the answer is still being written: the socket goes when it is
      // A client that closes its side has gone away, also in the middle of a request (as Node's
      // HTTP server sees it); only a CONNECT being set up keeps the FIN, to pass it on.
      if (this.phase !== 'busy' || this.entry !== undefined) this.socket.destroy();
    };

    private onClose(): void {
      const phase = this.phase;
      this.phase = 'closed';
      connections.delete(this);
      const exchange = this.exchange;
      if (phase === 'busy' && this.entry !== undefined) {
        exchange?.abort();
        const timedOut = this.deadlineKind === 'request' && performance.now() >= this.deadline;
        this.finish(
          {
            status: timedOut ? 408 : (exchange?.status ?? 499),
            decision: (this.entry.decision as string | undefined) ?? 'cancelled',
            error: timedOut
              ? REQUEST_TIMEOUT
              : 'the client closed the connection before the response was complete',
            bytesIn: exchange?.bytesIn ?? 0,
            bytesOut: exchange?.bytesOut ?? 0,
          },
          exchange?.addressText,
        );
      }
    }

    /**
     * Reads and serves the requests in the buffer, one at a time: each that is answered at once
     * (refused, or denied) lets the loop go on to the next.
     */
    readHead(): void {
      if (this.reading) {
        this.readAgain = true;
        return;
      }
      this.reading = true;
      try {
        do {
          this.readAgain = false;
          this.readOneHead();
        } while (this.readAgain && this.phase === 'idle' && !this.awaitingDrain);
      } finally {
        this.reading = false;
      }
    }

    /** Reads the next request head from the buffer, if it is complete, and starts serving it. */
    private readOneHead(): void {
      let buffer = this.buffer;
      if (buffer === undefined) return;
      let start = 0;
      // RFC 9112 2.2: empty lines before a request line are ignored (some clients send one after a body).
      while (start + 1 < buffer.length && buffer[start] === 0x0d && buffer[start + 1] === 0x0a) start += 2;
      if (start === buffer.length) {
        this.buffer = undefined;
        return;
      }
      if (this.phase === 'idle') {
        this.phase = 'head';
        this.requestStarted = performance.now();
        this.deadline = this.requestStarted + settings.headersTimeoutMs;
        this.deadlineKind = 'headers';
      }
      const end = headEnd(buffer, start);
      if (
        end === -1
          ? buffer.length - start > settings.maxHeaderBytes
          : end - 4 - start > settings.maxHeaderBytes
      ) {
        this.refuseHead(431, `request head larger than ${settings.maxHeaderBytes} bytes`, HEADERS_TOO_LARGE);
        return;
      }
      if (end === -1) {
        if (start > 0) this.buffer = buffer.subarray(start);
        return;
      }
      const text = buffer.toString('latin1', start, end - 4);
      buffer = end < buffer.length ? buffer.subarray(end) : undefined;
      this.buffer = buffer;
      const parsed = parseRequestHead(text);
      if (!parsed.ok) {
        this.refuseHead(400, parsed.reason);
        return;
      }
      const head = parsed.value;
      this.phase = 'busy';
      this.started = performance.now();
      if (head.method === 'CONNECT') this.tunnel(head);
      else if (head.upgrade) this.refuseUpgrade(head);
      else this.forward(head);
    }

    /**
     * A head that cannot be read: answered with `reason`, logged with `error` (the reason itself,
     * or the code of a limit), and the connection closed.
     */
    private refuseHead(status: number, reason: string, error = reason): void {
      counts.request('http', 'invalid', status);
      log.info({ kind: 'http', client: this.client, status, decision: 'invalid', error }, 'request');
      this.close(plainResponse(status, `egress-router: ${reason}\n`, true));
    }

    private refuseUpgrade(head: RequestHead): void {
      counts.request('http', 'invalid', 501);
      log.info(
        { kind: 'http', client: this.client, method: head.method, status: 501, decision: 'invalid' },
        'request',
      );
      this.close(plainResponse(501, 'egress-router: protocol upgrades are not proxied; use CONNECT\n', true));
    }

    private forward(head: RequestHead): void {
      const entry: Record<string, unknown> = { kind: 'http', client: this.client, method: head.method };
      this.entry = entry;
      this.deadline = this.requestStarted + settings.requestTimeoutMs;
      this.deadlineKind = head.framing.kind === 'none' ? 'none' : 'request';
      const parsed = parseAbsoluteTarget(head.target);
      if (!parsed.ok) {
        this.refuse(head, new ProxyError('BAD_REQUEST', parsed.reason), 'invalid');
        return;
      }
      const target = parsed.value;
      entry.host = target.authority;
      entry.port = target.port;
      const exchange = new Exchange(
        this,
        head,
        target,
        pool,
        { connectMs: settings.connectTimeoutMs, responseMs: settings.responseTimeoutMs },
        (outcome, address) => this.finish(outcome, address),
      );
      this.exchange = exchange;
      // Body bytes that came with the head.
      if (!exchange.requestDone && this.buffer !== undefined) {
        const first = this.buffer;
        this.buffer = undefined;
        const rest = exchange.feedBody(first);
        if (rest !== undefined) this.hold(rest);
      }
      const allowed = ({ addresses }: Checked) => {
        entry.decision = 'allow';
        if (this.exchange === exchange && this.phase === 'busy') exchange.start(addresses);
      };
      const refused = (error: ProxyError) => {
        if (this.exchange !== exchange || this.phase !== 'busy') return;
        exchange.abort();
        this.exchange = undefined;
        this.refuse(head, error, decisionOf(error), exchange.bytesIn);
      };
      checkThen(target, entry, allowed, refused);
    }

    /** Answers a request the proxy does not forward; the connection goes on unless a body is unread. */
    private refuse(head: RequestHead, error: ProxyError, decision: string, bytesIn = 0): void {
      const status = statusFor(error.code);
      const close = head.framing.kind !== 'none' || !head.keepAlive || this.closing;
      this.finish({ status, decision, error: error.message, bytesIn, bytesOut: 0 }, undefined);
      this.write(plainResponse(status, `egress-router: ${error.message}\n`, close));
      this.finished(close);
    }

    /** Logs and counts the request being served, once. */
    finish(outcome: ExchangeOutcome, address: string | undefined): void {
      const entry = this.entry;
      if (entry === undefined) return;
      this.entry = undefined;
      if (address !== undefined) entry.address = address;
      entry.status = outcome.status;
      entry.decision = outcome.decision;
      entry.ms = Math.round(performance.now() - this.started);
      entry.bytes_in = outcome.bytesIn;
      entry.bytes_out = outcome.bytesOut;
      if (outcome.error !== undefined) entry.error = outcome.error;
      counts.request('http', outcome.decision, outcome.status);
      counts.bytes(outcome.bytesIn, outcome.bytesOut);
      line(entry, 'request');
    }

    write(data: string | Buffer): boolean {
      if (this.phase === 'closed') return true;
      return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data);
    }

    writeHead(head: string, body: Buffer | undefined): boolean {
      if (this.phase === 'closed') return true;
      if (body === undefined) return this.socket.write(head, 'latin1');
      if (body.length <= 16_384) {
        const whole = Buffer.allocUnsafe(head.length + body.length);
        whole.write(head, 0, 'latin1');
        body.copy(whole, head.length);
        return this.socket.write(whole);
      }
      this.socket.cork();
      this.socket.write(head, 'latin1');
      const ok = this.socket.write(body);
      this.socket.uncork();
      return ok;
    }

    pauseReading(): void {
      if (this.paused) return;
      this.paused = true;
      this.socket.pause();
    }

    resumeReading(): void {
      if (!this.paused) return;
      this.paused = false;
      this.socket.resume();
    }

    finished(close: boolean): void {
      this.exchange = undefined;
      this.entry = undefined;
      if (this.phase === 'closed') return;
      if (close || this.closing) {
        this.close();
        return;
      }
      this.phase = 'idle';
      this.deadline = performance.now() + settings.keepAliveTimeoutMs;
      this.deadlineKind = 'keep-alive';
      // A client that does not read its responses gets no more served (pipelining cannot make the
      // proxy hold answers without bound): the next request waits for the 'drain'.
      if (this.socket.writableNeedDrain) {
        this.awaitingDrain = true;
        if (this.buffer !== undefined && this.buffer.length > MAX_BUFFERED_BYTES) this.pauseReading();
        return;
      }
      this.resumeReading();
      if (this.buffer !== undefined) this.readHead();
    }

    destroy(): void {
      this.socket.destroy();
    }

    /** Called by the sweep: closes what has run out of time. */
    expire(now: number): void {
      const exchange = this.exchange;
      if (exchange !== undefined && now >= exchange.upstreamDeadline) exchange.timedOut();
      if (this.phase === 'closed' && this.socket.writableLength < this.unwritten) {
        // Still taking the last response: closing goes on (once it is all out, LINGER_MS).
        this.unwritten = this.socket.writableLength;
        if (this.unwritten > 0) this.deadline = now + settings.keepAliveTimeoutMs;
      }
      const remote = this.remote;
      if (remote !== undefined) {
        // A tunnel with no traffic either way for the idle timeout is closed. Seen from the bytes
        // read at each sweep: nothing is armed or refreshed per chunk.
        const bytes = this.socket.bytesRead + remote.bytesRead;
        if (bytes !== this.tunnelBytes) {
          this.tunnelBytes = bytes;
          this.tunnelActiveAt = now;
        } else if (now - this.tunnelActiveAt >= settings.idleTimeoutMs) {
          this.socket.destroy();
          remote.destroy();
        }
        return;
      }
      if (this.deadlineKind === 'none' || now < this.deadline) return;
      switch (this.phase) {
        case 'closed':
          this.socket.destroy();
          break;
        case 'idle':
          this.socket.destroy();
          break;
        case 'head':
          this.refuseHead(408, 'the request head was not sent in time', REQUEST_TIMEOUT);
          break;
        case 'busy':
          if (this.deadlineKind !== 'request' || exchange?.requestDone !== false) break;
          if (exchange.responseStarted) {
            this.socket.destroy();
          } else {
            exchange.abort();
            this.finish(
              {
                status: 408,
                decision: (this.entry?.decision as string | undefined) ?? 'cancelled',
                error: REQUEST_TIMEOUT,
                bytesIn: exchange.bytesIn,
                bytesOut: 0,
              },
              exchange.addressText,
            );
            this.close(plainResponse(408, 'egress-router: the request was not sent in time\n', true));
          }
          break;
      }
    }

    /** CONNECT: checks the target, connects, answers 200 and relays bytes both ways. */
    private tunnel(head: RequestHead): void {
      const socket = this.socket;
      this.deadlineKind = 'none';
      const entry: Record<string, unknown> = { kind: 'connect', client: this.client, method: 'CONNECT' };
      let upstream: Upstream | undefined;
      let logged = false;
      const done = (status: number, decision: string, error?: ProxyError) => {
        if (logged) return;
        logged = true;
        entry.status = status;
        entry.decision = decision;
        entry.ms = Math.round(performance.now() - this.started);
        entry.bytes_in = upstream?.socket.bytesWritten ?? 0;
        entry.bytes_out = upstream?.socket.bytesRead ?? 0;
        if (upstream) counts.bytes(upstream.socket.bytesWritten, upstream.socket.bytesRead);
        if (error) entry.error = error.message;
        counts.request('connect', decision, status);
        line(entry, 'tunnel');
      };
      const refuse = (error: ProxyError, decision: string) => {
        const status = statusFor(error.code);
        this.close(plainResponse(status, `egress-router: ${error.message}\n`, true));
        done(status, decision, error);
      };
      const parsed = parseConnectTarget(head.target);
      if (!parsed.ok) {
        refuse(new ProxyError('BAD_REQUEST', parsed.reason), 'invalid');
        return;
      }
      const target = parsed.value;
      entry.host = target.authority;
      entry.port = target.port;
      // Bytes sent after the head (a TLS ClientHello) wait in the buffer until the tunnel is up.
      const refused = (error: ProxyError) => {
        if (this.phase === 'closed') done(499, decisionOf(error), error);
        else refuse(error, decisionOf(error));
      };
      const allowed = ({ addresses }: Checked) =>
        connectFirst(addresses, target.port, settings.connectTimeoutMs).then((connected) => {
          upstream = connected;
          entry.address = numericIpToString(connected.address);
          const remote = connected.socket;
          if (this.phase === 'closed') {
            remote.destroy();
            remote.once('close', () => connected.reader.release());
            return done(499, 'allow');
          }
          this.phase = 'tunnel';
          socket.off('data', this.onData);
          socket.off('end', this.onEnd);
          this.resumeReading();
          counts.openTunnels++;
          tunnels++;
          socket.write(CONNECTION_ESTABLISHED);
          const early = this.buffer;
          this.buffer = undefined;
          if (early !== undefined) remote.write(early);
          if (this.ended) remote.end();
          this.remote = remote;
          this.tunnelActiveAt = performance.now();
          this.tunnelBytes = socket.bytesRead + remote.bytesRead;
          splice(socket, connected, () => {
            counts.openTunnels--;
            tunnels--;
            done(200, 'allow');
          });
        }, refused);
      checkThen(target, entry, allowed, refused);
    }
  }

  const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    if (draining) {
      socket.destroy();
      return;
    }
    connections.add(new ClientConnection(socket));
  });
  server.maxConnections = settings.maxConnections;

  // One timer for every deadline (head, body, keep-alive, destination answer, pooled connections),
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
          if (tunnels > 0) return;
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

/**
 * Relays bytes both ways, respecting half-close (a FIN from one side is passed on while the other
 * direction goes on), closes both on an error, and calls `onClose` once when both are closed (the
 * sweep closes idle tunnels). The destination's bytes come through its reader (a buffer of its own,
 * no copy per chunk: the direction of downloads). The client's are written on as they come, until
 * one read brings BULK_READ_BYTES (an upload): from then on the client is read into a reader of its
 * own too (readInBulk), as Node 24 answers a stream of fresh read buffers with full collections.
 */
function splice(client: Socket, upstream: Upstream, onClose: () => void): void {
  const remote = upstream.socket;
  let uploads: SocketReader | undefined;
  let open = 2;
  const closed = () => {
    if (--open > 0) return;
    upstream.reader.release();
    uploads?.release();
    onClose();
  };
  const destroyBoth = () => {
    client.destroy();
    remote.destroy();
  };
  // Uploads: written on as they come, reading paused while the destination's buffer is full (what
  // pipe() does, without its bookkeeping per tunnel).
  const resumeClient = () => client.resume();
  const upload = (chunk: Buffer) => {
    if (!remote.write(chunk)) client.pause();
    if (chunk.length >= BULK_READ_BYTES) uploads = readInBulk(client, remote, upload, resumeClient);
  };
  client.on('data', upload);
  remote.on('drain', resumeClient);
  client.on('end', () => remote.end());
  upstream.reader.attach(remote, socketSink(client, upstream.reader));
  remote.on('end', () => client.end());
  for (const [from, to] of [
    [client, remote],
    [remote, client],
  ] as const) {
    from.on('error', destroyBoth);
    from.once('close', () => {
      to.destroy();
      closed();
    });
  }
}
