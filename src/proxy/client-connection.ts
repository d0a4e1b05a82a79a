import type { Socket } from 'node:net';
import type { ProxyContext } from './context.js';
import type { ExchangeClient } from './exchange.js';
import { ForwardedRequest } from './forward.js';
import { plainResponse } from './http1/forward.js';
import { parseRequestHead, type RequestHead } from './http1/head.js';
import { nextHead } from './http1/next-head.js';
import { openTunnel, type Tunnel } from './tunnel.js';

/** Error codes logged for limits, as Node's HTTP server named them (kept for log queries). */
export const HEADERS_TOO_LARGE = 'HPE_HEADER_OVERFLOW';
export const REQUEST_TIMEOUT = 'ERR_HTTP_REQUEST_TIMEOUT';
/** After its last answer is written, how long a closing connection waits for the client to close. */
const LINGER_MS = 2000;
/** What a closing connection reads and throws away before it is cut. */
const LINGER_MAX_BYTES = 1024 * 1024;
/** Bytes of a next (pipelined) request held while one is served, before reading pauses. */
const MAX_BUFFERED_BYTES = 65_536;

/** What a tunnel takes over from the connection that read its CONNECT. */
export interface HandOver {
  /** Bytes the client sent after the CONNECT head (a TLS ClientHello), if any. */
  readonly early: Buffer | undefined;
  /** The client has already ended its side. */
  readonly ended: boolean;
}

/**
 * One client connection: reads request heads, serves one request at a time (a pipelined next
 * request waits in the buffer) through a ForwardedRequest, or becomes a tunnel after CONNECT. It
 * keeps the connection's limits: the head's size and time, the request's time, the keep-alive time
 * between requests, and the linger of a closing connection (all checked by the proxy's sweep).
 */
export class ClientConnection implements ExchangeClient {
  private buffer: Buffer | undefined;
  /** idle: between requests; head: a head is arriving; busy: a request is served; tunnel; closed. */
  phase: 'idle' | 'head' | 'busy' | 'tunnel' | 'closed' = 'idle';
  /** When the current phase times out (performance.now()), and how. */
  private deadline: number;
  private deadlineKind: 'keep-alive' | 'headers' | 'request' | 'linger' | 'none' = 'keep-alive';
  /** Bytes still to write at the last sweep, while closing: a client that reads nothing is cut. */
  private unwritten = 0;
  /** readHead is running: a call from within it (a request answered at once) loops instead of recursing. */
  private reading = false;
  private readAgain = false;
  /** The next request waits until the client has read the last response (its write buffer drained). */
  private awaitingDrain = false;
  /** Bytes read and thrown away while closing. */
  private discarded = 0;
  /** When the current request's head began to arrive, and when it was read (performance.now()). */
  private requestStarted = 0;
  started = 0;
  /** The plain HTTP request being served. */
  private request: ForwardedRequest | undefined;
  /** The CONNECT being set up or relayed. */
  private tunnel: Tunnel | undefined;
  private ended = false;
  private paused = false;
  /** The client's address, as logged. */
  readonly client: string | undefined;

  /**
   * @param socket the accepted socket
   * @param ctx what the proxy's connections share
   * @param onClosed called once when the socket has closed
   */
  constructor(
    readonly socket: Socket,
    private readonly ctx: ProxyContext,
    private readonly onClosed: (conn: ClientConnection) => void,
  ) {
    this.client = peer(socket.remoteAddress);
    this.deadline = performance.now() + ctx.settings.keepAliveTimeoutMs;
    (socket as ConnectionSocket)[CONNECTION] = this;
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('drain', onSocketDrain);
    socket.on('error', ignoreError);
    socket.on('close', onSocketClose);
  }

  /** @internal The client's buffer has room again. */
  onDrain(): void {
    this.request?.exchange?.onClientDrain();
    if (!this.awaitingDrain || this.phase !== 'idle') return;
    this.awaitingDrain = false;
    this.resumeReading();
    this.readHead();
  }

  get closing(): boolean {
    return this.ctx.draining || this.ended;
  }

  /** @internal */
  onData(chunk: Buffer): void {
    if (this.phase === 'closed') {
      // Answered and closing: what the client still sends (the body of a refused upload) is read
      // and thrown away, so that closing does not reset the connection before the client has read
      // the answer; a client that sends more than LINGER_MAX_BYTES is cut.
      this.discarded += chunk.length;
      if (this.discarded > LINGER_MAX_BYTES) this.socket.destroy();
      return;
    }
    const exchange = this.request?.exchange;
    if (exchange !== undefined && !exchange.requestDone) {
      const rest = exchange.feedBody(chunk);
      if (rest !== undefined) this.hold(rest);
      return;
    }
    this.hold(chunk);
    if ((this.phase === 'idle' && !this.awaitingDrain) || this.phase === 'head') this.readHead();
  }

  /**
   * Keeps bytes of a next request; reading pauses while they wait and pass MAX_BUFFERED_BYTES.
   *
   * @param chunk bytes read from the client that belong to no request being served
   */
  hold(chunk: Buffer): void {
    this.buffer = this.buffer === undefined ? chunk : Buffer.concat([this.buffer, chunk]);
    const waiting = this.phase === 'busy' || this.awaitingDrain;
    if (waiting && this.buffer.length > MAX_BUFFERED_BYTES) this.pauseReading();
  }

  /**
   * Takes the bytes read after the head (a request body's first bytes), if any.
   *
   * @returns the bytes, now no longer held
   */
  takeBuffered(): Buffer | undefined {
    const buffer = this.buffer;
    this.buffer = undefined;
    return buffer;
  }

  /**
   * Ends the connection after `last` (and whatever is still being written), and reads no more.
   *
   * @param last the last answer
   */
  close(last?: Buffer): void {
    this.phase = 'closed';
    this.buffer = undefined;
    this.deadlineKind = 'linger';
    this.deadline = performance.now() + this.ctx.settings.keepAliveTimeoutMs;
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

  /** @internal */
  onEnd(): void {
    this.ended = true;
    if (this.phase === 'closed') return; // the answer is still being written: the socket goes when it is
    // A client that closes its side has gone away, also in the middle of a request (as Node's
    // HTTP server sees it); only a CONNECT being set up keeps the FIN, to pass it on.
    if (this.phase !== 'busy' || this.request !== undefined) this.socket.destroy();
  }

  /** @internal */
  onClose(): void {
    const phase = this.phase;
    this.phase = 'closed';
    this.onClosed(this);
    this.tunnel?.clientClosed();
    if (phase === 'busy') {
      this.request?.clientClosed(this.deadlineKind === 'request' && performance.now() >= this.deadline);
    }
  }

  /**
   * Reads and serves the requests in the buffer, one at a time: each that is answered at once
   * (refused, or denied) lets the loop go on to the next.
   */
  private readHead(): void {
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
    const buffer = this.buffer;
    if (buffer === undefined) return;
    const settings = this.ctx.settings;
    const next = nextHead(buffer, settings.maxHeaderBytes);
    if (next.kind === 'none') {
      this.buffer = undefined;
      return;
    }
    if (this.phase === 'idle') {
      this.phase = 'head';
      this.requestStarted = performance.now();
      this.deadline = this.requestStarted + settings.headersTimeoutMs;
      this.deadlineKind = 'headers';
    }
    if (next.kind === 'too-large') {
      this.refuseHead(431, `request head larger than ${settings.maxHeaderBytes} bytes`, HEADERS_TOO_LARGE);
      return;
    }
    this.buffer = next.rest;
    if (next.kind === 'partial') return;
    const parsed = parseRequestHead(next.text);
    if (!parsed.ok) {
      this.refuseHead(400, parsed.reason);
      return;
    }
    const head = parsed.value;
    this.phase = 'busy';
    this.started = performance.now();
    if (head.method === 'CONNECT') {
      this.deadlineKind = 'none';
      this.tunnel = openTunnel(this, this.ctx, head);
    } else if (head.upgrade) {
      this.refuseUpgrade(head);
    } else {
      this.deadline = this.requestStarted + settings.requestTimeoutMs;
      this.deadlineKind = head.framing.kind === 'none' ? 'none' : 'request';
      const request = new ForwardedRequest(this, this.ctx, head);
      this.request = request;
      request.start();
    }
  }

  /**
   * A head that cannot be read: answered with `reason`, logged with `error` (the reason itself,
   * or the code of a limit), and the connection closed.
   */
  private refuseHead(status: number, reason: string, error = reason): void {
    this.ctx.counts.request('http', 'invalid', status);
    this.ctx.log.info({ kind: 'http', client: this.client, status, decision: 'invalid', error }, 'request');
    this.close(plainResponse(status, `egress-router: ${reason}\n`, true));
  }

  private refuseUpgrade(head: RequestHead): void {
    this.ctx.counts.request('http', 'invalid', 501);
    this.ctx.log.info(
      { kind: 'http', client: this.client, method: head.method, status: 501, decision: 'invalid' },
      'request',
    );
    this.close(plainResponse(501, 'egress-router: protocol upgrades are not proxied; use CONNECT\n', true));
  }

  /**
   * The request being served is the given one (it may have been replaced or the connection closed
   * while its target was checked).
   *
   * @param request the request
   * @returns whether it is still the one served
   */
  serves(request: ForwardedRequest): boolean {
    return this.request === request && this.phase === 'busy';
  }

  /**
   * A CONNECT succeeded: the tunnel takes the socket over; the connection reads no more heads.
   *
   * @returns what the client sent after the head, and whether it has ended its side
   */
  handOver(): HandOver {
    this.phase = 'tunnel';
    this.socket.off('data', onSocketData);
    this.socket.off('end', onSocketEnd);
    this.resumeReading();
    const early = this.buffer;
    this.buffer = undefined;
    return { early, ended: this.ended };
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
    this.request = undefined;
    if (this.phase === 'closed') return;
    if (close || this.closing) {
      this.close();
      return;
    }
    this.phase = 'idle';
    this.deadline = performance.now() + this.ctx.settings.keepAliveTimeoutMs;
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

  /**
   * Called by the sweep: closes what has run out of time.
   *
   * @param now performance.now()
   */
  expire(now: number): void {
    const request = this.request;
    request?.expire(now);
    if (this.phase === 'closed' && this.socket.writableLength < this.unwritten) {
      // Still taking the last response: closing goes on (once it is all out, LINGER_MS).
      this.unwritten = this.socket.writableLength;
      if (this.unwritten > 0) this.deadline = now + this.ctx.settings.keepAliveTimeoutMs;
    }
    if (this.tunnel?.expire(now)) return;
    if (this.deadlineKind === 'none' || now < this.deadline) return;
    switch (this.phase) {
      case 'closed':
      case 'idle':
        this.socket.destroy();
        break;
      case 'head':
        this.refuseHead(408, 'the request head was not sent in time', REQUEST_TIMEOUT);
        break;
      case 'busy':
        if (this.deadlineKind === 'request') request?.bodyTimedOut();
        break;
    }
  }
}

/** The connection a socket belongs to (listeners are shared functions, not closures per connection). */
const CONNECTION = Symbol('connection');
type ConnectionSocket = Socket & { [CONNECTION]: ClientConnection };

function onSocketData(this: ConnectionSocket, chunk: Buffer): void {
  this[CONNECTION].onData(chunk);
}

function onSocketEnd(this: ConnectionSocket): void {
  this[CONNECTION].onEnd();
}

function onSocketDrain(this: ConnectionSocket): void {
  this[CONNECTION].onDrain();
}

function onSocketClose(this: ConnectionSocket): void {
  this[CONNECTION].onClose();
}

/** Errors end in 'close', which does the rest. */
function ignoreError(): void {}

/** A peer address as logged: IPv4 clients without the ::ffff: prefix. */
function peer(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}
