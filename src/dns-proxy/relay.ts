import net, { type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { BULK_READ_BYTES, readInBulk, type SocketReader } from '../runtime/socket-reader.js';

/**
 * How a relayed connection ended: `ok` (relayed until both sides closed), `unresolved` (the name
 * had no address: the client was refused at once), `connect_failed` (every address tried failed),
 * `client_gone` (the client left before the destination answered), `idle_timeout`, `client_error`
 * and `upstream_error` (a reset or another socket error; the other side is reset too), `limit`
 * (too many open connections: refused at once), `shutdown` (still open when the drain time ran out).
 */
export type ConnectionResult =
  | 'ok'
  | 'unresolved'
  | 'connect_failed'
  | 'client_gone'
  | 'idle_timeout'
  | 'client_error'
  | 'upstream_error'
  | 'limit'
  | 'shutdown';

/** The one log line of a relayed connection, written when it ends. */
export interface ConnectionRecord {
  readonly event: 'connection';
  /** The client's address and port. */
  readonly client: string;
  readonly clientPort: number;
  /** The proxy port the client connected to. */
  readonly port: number;
  /** The entry's destination: its name, or its address. */
  readonly destination: string;
  readonly remotePort: number;
  /** The address the connection was relayed to (the last one tried), or null. */
  readonly address: string | null;
  /** Connect attempts made (more than one when addresses failed). */
  readonly attempts: number;
  readonly bytesFromClient: number;
  readonly bytesToClient: number;
  readonly durationMs: number;
  readonly result: ConnectionResult;
  /** The error code behind a result other than `ok` (ECONNREFUSED, ETIMEDOUT, ECONNRESET...). */
  readonly error?: string;
}

/** Where a relay goes and how long it may wait. */
export interface RelayPlan {
  readonly port: number;
  readonly destination: string;
  readonly remotePort: number;
  /** The addresses to try, in order (see connectOrder). */
  readonly candidates: readonly string[];
  readonly connectTimeoutMs: number;
  /** 0: no idle timeout. */
  readonly idleTimeoutMs: number;
}

/** What a relay tells its owner. */
export interface RelayHooks {
  /** A connect attempt failed: the address should be skipped for a while. */
  attemptFailed(address: string, remotePort: number, code: string): void;
  /** A connect attempt succeeded. */
  connected(address: string, remotePort: number): void;
  /** The connection ended; called once, after both sockets closed. */
  ended(relay: Relay, record: ConnectionRecord): void;
}

/**
 * A coarse clock, advanced by whoever calls {@link Relay.checkTimeouts} (every few hundred
 * milliseconds): connect deadlines are set from it without a system call per connection.
 */
export interface CoarseClock {
  now: number;
}

const CONNECTING = 0;
const RELAYING = 1;
const REFUSED = 2;

/** The relay a socket belongs to (listeners are shared functions, not closures per connection). */
const RELAY = Symbol('relay');
type RelaySocket = Socket & { [RELAY]: Relay };

/**
 * One client connection relayed to a destination: tries the candidate addresses in order until one
 * connects, then forwards both ways with backpressure and half-close until both sides have closed.
 * A reset on one side resets the other. Timeouts (connect, idle) are checked by the owner calling
 * {@link Relay.checkTimeouts} periodically, so a connection costs no timer; traffic is seen there
 * from the sockets' byte counts, not per chunk.
 *
 * Reading: a side starts with Node's own reads (a fresh buffer per read, sized to what came: right
 * for the few small messages of most connections). Once one read brings BULK_READ_BYTES or more,
 * the side streams, and from then on it is read into a buffer of its own, reused and written on
 * without a copy (SocketReader; the side is not read again until the other took the last chunk).
 * Node 24 answers a stream of fresh 64 KiB read buffers with a full garbage collection every
 * ~100 ms, which cost a fifth of the throughput (bench/dns-proxy.md).
 */
export class Relay {
  readonly #client: RelaySocket;
  readonly #plan: RelayPlan;
  readonly #hooks: RelayHooks;
  readonly #clock: CoarseClock;
  readonly #started = performance.now();
  readonly #clientAddress: string;
  readonly #clientPort: number;
  #phase = CONNECTING;
  #upstream: RelaySocket | undefined;
  /** The readers of the sides that stream (see above). */
  #clientReader: SocketReader | undefined;
  #upstreamReader: SocketReader | undefined;
  #deadline = 0;
  #lastActivity = 0;
  /** Bytes read from both sides at the last check: a change is traffic. */
  #bytesSeen = 0;
  #attempts = 0;
  #address: string | null = null;
  #result: ConnectionResult = 'ok';
  #error: string | undefined;
  #clientOpen = true;
  #upstreamOpen = false;
  #ended = false;

  constructor(client: Socket, plan: RelayPlan, hooks: RelayHooks, clock: CoarseClock) {
    this.#client = client as RelaySocket;
    this.#client[RELAY] = this;
    this.#plan = plan;
    this.#hooks = hooks;
    this.#clock = clock;
    this.#clientAddress = unmapIpv4(client.remoteAddress ?? '');
    this.#clientPort = client.remotePort ?? 0;
    client.on('error', onClientError);
    client.once('close', onClientClose);
  }

  /** Starts connecting to the first candidate; with no candidate the client is refused (`unresolved`). */
  start(): void {
    if (this.#plan.candidates.length === 0) this.refuse('unresolved');
    else this.#connectNext();
  }

  /**
   * Refuses the client at once (TCP reset), e.g. over the connection limit.
   *
   * @param result why
   */
  refuse(result: ConnectionResult): void {
    this.#phase = REFUSED;
    this.#result = result;
    resetSocket(this.#client);
  }

  /** Cuts the connection (the drain time ran out): both sides are closed. */
  cut(): void {
    this.#fail('shutdown', undefined);
    this.#client.destroy();
    this.#upstream?.destroy();
  }

  /**
   * Applies the connect timeout and the idle timeout.
   *
   * @param now the current time (the clock's)
   */
  checkTimeouts(now: number): void {
    if (this.#phase === CONNECTING) {
      if (this.#upstream && now >= this.#deadline) this.#attemptFailed(this.#upstream, 'ETIMEDOUT');
    } else if (this.#phase === RELAYING) {
      const idle = this.#plan.idleTimeoutMs;
      const bytes = this.#client.bytesRead + (this.#upstream?.bytesRead ?? 0);
      if (bytes !== this.#bytesSeen) {
        this.#bytesSeen = bytes;
        this.#lastActivity = now;
      } else if (idle > 0 && now - this.#lastActivity >= idle) {
        this.#fail('idle_timeout', undefined);
        this.#client.destroy();
        this.#upstream?.destroy();
      }
    }
  }

  #connectNext(): void {
    const address = this.#plan.candidates[this.#attempts++]!;
    const socket = net.connect({
      host: address,
      port: this.#plan.remotePort,
      allowHalfOpen: true,
      noDelay: true,
    }) as RelaySocket;
    socket[RELAY] = this;
    this.#upstream = socket;
    this.#address = address;
    this.#deadline = this.#clock.now + this.#plan.connectTimeoutMs;
    socket.on('error', onUpstreamError);
    socket.once('connect', onUpstreamConnect);
  }

  #attemptFailed(socket: RelaySocket, code: string): void {
    socket.destroy();
    this.#upstream = undefined;
    this.#hooks.attemptFailed(this.#address!, this.#plan.remotePort, code);
    if (!this.#clientOpen) return;
    if (this.#attempts < this.#plan.candidates.length) {
      this.#connectNext();
      return;
    }
    this.refuse('connect_failed');
    this.#error = code;
  }

  #relay(upstream: RelaySocket): void {
    this.#phase = RELAYING;
    this.#upstreamOpen = true;
    this.#lastActivity = this.#clock.now;
    this.#bytesSeen = this.#client.bytesRead + upstream.bytesRead;
    this.#hooks.connected(this.#address!, this.#plan.remotePort);
    const client = this.#client;
    upstream.once('close', onUpstreamClose);
    upstream.on('data', onUpstreamData);
    upstream.on('end', onUpstreamEnd);
    upstream.on('drain', onUpstreamDrain);
    client.on('data', onClientData);
    client.on('end', onClientEnd);
    client.on('drain', onClientDrain);
    client.resume(); // accepted paused (pauseOnConnect): nothing was read before the destination answered
  }

  /** Keeps the first reason a connection did not end normally. */
  #fail(result: ConnectionResult, code: string | undefined): void {
    if (this.#result !== 'ok') return;
    this.#result = result;
    this.#error = code;
  }

  #maybeEnd(): void {
    if (this.#ended || this.#clientOpen || this.#upstreamOpen) return;
    this.#ended = true;
    // Both sockets are closed: nothing reads into the buffers, nothing written from them is queued.
    this.#clientReader?.release();
    this.#upstreamReader?.release();
    const client = this.#client;
    const record: ConnectionRecord = {
      event: 'connection',
      client: this.#clientAddress,
      clientPort: this.#clientPort,
      port: this.#plan.port,
      destination: this.#plan.destination,
      remotePort: this.#plan.remotePort,
      address: this.#attempts > 0 ? this.#address : null,
      attempts: this.#attempts,
      bytesFromClient: client.bytesRead,
      bytesToClient: client.bytesWritten,
      durationMs: Math.round((performance.now() - this.#started) * 100) / 100,
      result: this.#result,
      ...(this.#error === undefined ? {} : { error: this.#error }),
    };
    this.#hooks.ended(this, record);
  }

  // What the sockets' listeners (shared functions below) call; not for other callers.

  /** @internal */
  upstreamConnected(socket: RelaySocket): void {
    if (this.#upstream === socket && this.#phase === CONNECTING) this.#relay(socket);
  }

  /** @internal */
  upstreamError(socket: RelaySocket, error: NodeJS.ErrnoException): void {
    if (this.#upstream !== socket) return;
    const code = error.code ?? 'EUNKNOWN';
    if (this.#phase === CONNECTING) {
      this.#attemptFailed(socket, code);
    } else if (this.#phase === RELAYING) {
      this.#fail('upstream_error', code);
      resetSocket(this.#client);
    }
  }

  /** @internal */
  upstreamClosed(): void {
    this.#upstreamOpen = false;
    this.#maybeEnd();
  }

  /** @internal */
  fromUpstream(socket: RelaySocket, chunk: Buffer): void {
    if (!this.#client.write(chunk)) socket.pause();
    // A side that streams leaves 'data' for a reader of its own (this listener is then removed).
    if (chunk.length >= BULK_READ_BYTES)
      this.#upstreamReader = readInBulk(socket, this.#client, onUpstreamData, onClientDrain);
  }

  /** @internal */
  upstreamEnded(): void {
    this.#client.end();
  }

  /** @internal */
  upstreamDrained(): void {
    this.#client.resume();
  }

  /** @internal */
  fromClient(chunk: Buffer): void {
    if (!this.#upstream!.write(chunk)) this.#client.pause();
    if (chunk.length >= BULK_READ_BYTES)
      this.#clientReader = readInBulk(this.#client, this.#upstream!, onClientData, onUpstreamDrain);
  }

  /** @internal */
  clientEnded(): void {
    this.#upstream?.end();
  }

  /** @internal */
  clientDrained(): void {
    this.#upstream?.resume();
  }

  /** @internal */
  clientError(error: NodeJS.ErrnoException): void {
    if (this.#phase !== RELAYING) return;
    this.#fail('client_error', error.code);
    if (this.#upstream) resetSocket(this.#upstream);
  }

  /** @internal */
  clientClosed(): void {
    this.#clientOpen = false;
    if (this.#phase === CONNECTING) {
      // The client left while the destination had not answered yet.
      this.#upstream?.destroy();
      this.#upstream = undefined;
      this.#fail('client_gone', undefined);
    }
    this.#maybeEnd();
  }
}

// Socket listeners, shared by every connection (no closures per connection): `this` is the socket,
// `this[RELAY]` its relay.

function onUpstreamConnect(this: RelaySocket): void {
  this[RELAY].upstreamConnected(this);
}

function onUpstreamError(this: RelaySocket, error: NodeJS.ErrnoException): void {
  this[RELAY].upstreamError(this, error);
}

function onUpstreamClose(this: RelaySocket): void {
  this[RELAY].upstreamClosed();
}

function onUpstreamData(this: RelaySocket, chunk: Buffer): void {
  this[RELAY].fromUpstream(this, chunk);
}

function onUpstreamEnd(this: RelaySocket): void {
  this[RELAY].upstreamEnded();
}

function onUpstreamDrain(this: RelaySocket): void {
  this[RELAY].upstreamDrained();
}

function onClientData(this: RelaySocket, chunk: Buffer): void {
  this[RELAY].fromClient(chunk);
}

function onClientEnd(this: RelaySocket): void {
  this[RELAY].clientEnded();
}

function onClientDrain(this: RelaySocket): void {
  this[RELAY].clientDrained();
}

function onClientError(this: RelaySocket, error: NodeJS.ErrnoException): void {
  this[RELAY].clientError(error);
}

function onClientClose(this: RelaySocket): void {
  this[RELAY].clientClosed();
}

/** Closes a socket with a TCP reset (so the peer sees an error, not an empty answer). */
function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) as `10.0.0.1`. */
function unmapIpv4(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
