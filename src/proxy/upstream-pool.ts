import type { Socket } from 'node:net';
import { type NumericIp, numericIpToString } from './policy/ip.js';
import { connectSocket, firstThatConnects } from './upstream.js';

/** What a pooled connection's events go to while a request uses it. */
export interface UpstreamOwner {
  onUpstreamData(chunk: Buffer): void;
  onUpstreamEnd(): void;
  onUpstreamClose(error: Error | undefined): void;
  onUpstreamDrain(): void;
}

/** A connection to a destination address: used by one request at a time, kept between requests. */
export class UpstreamConnection {
  owner: UpstreamOwner | undefined;
  /** performance.now() when it went back to the pool. */
  idleSince = 0;
  /** It has carried a request before: a failure before any answer may be the destination closing it. */
  reused = false;
  /** The address as logged. */
  readonly addressText: string;
  private error: Error | undefined;

  constructor(
    readonly socket: Socket,
    readonly address: NumericIp,
    readonly port: number,
    private readonly pool: UpstreamPool,
  ) {
    this.addressText = numericIpToString(address);
    socket.on('data', (chunk: Buffer) => {
      if (this.owner) this.owner.onUpstreamData(chunk);
      else socket.destroy(); // bytes nobody asked for: the connection is out of step
    });
    socket.on('end', () => {
      if (this.owner) this.owner.onUpstreamEnd();
      else socket.destroy();
    });
    socket.on('drain', () => this.owner?.onUpstreamDrain());
    socket.on('error', (error: Error) => {
      this.error = error;
    });
    socket.on('close', () => {
      this.pool.forget(this);
      const owner = this.owner;
      this.owner = undefined;
      owner?.onUpstreamClose(this.error);
    });
  }
}

/**
 * Keep-alive connections to destination addresses, by address and port, used last-in first-out;
 * only ever to an address a request's check allowed. A connection idle for `idleMs` is closed.
 */
export class UpstreamPool {
  /** Idle connections by port, then by address value (a number for IPv4, a bigint for IPv6). */
  private readonly idle = new Map<number, Map<number | bigint, UpstreamConnection[]>>();
  private closed = false;

  constructor(
    private readonly idleMs: number,
    private readonly maxIdlePerKey = 256,
  ) {}

  /**
   * An idle connection to one of the addresses (in their order) on `port`, taken out of the pool.
   *
   * @param addresses the allowed addresses
   * @param port the destination port
   * @returns a connection, or undefined when none is idle
   */
  take(addresses: readonly NumericIp[], port: number): UpstreamConnection | undefined {
    const byAddress = this.idle.get(port);
    if (byAddress === undefined) return undefined;
    for (const address of addresses) {
      const list = byAddress.get(address.value);
      if (list === undefined) continue;
      for (let conn = list.pop(); conn !== undefined; conn = list.pop()) {
        // Closed by the destination, its close event not seen yet: never handed out.
        if (!conn.socket.destroyed && conn.socket.readyState === 'open') return conn;
      }
    }
    return undefined;
  }

  /** Gives a connection back after a complete exchange; closed instead when the pool is full or closed. */
  put(conn: UpstreamConnection, now: number): void {
    conn.owner = undefined;
    // Bytes already read and not yet delivered would be taken for the next request's answer.
    if (this.closed || conn.socket.destroyed || conn.socket.readableLength > 0) {
      conn.socket.destroy();
      return;
    }
    let byAddress = this.idle.get(conn.port);
    if (byAddress === undefined) {
      byAddress = new Map();
      this.idle.set(conn.port, byAddress);
    }
    let list = byAddress.get(conn.address.value);
    if (list === undefined) {
      list = [];
      byAddress.set(conn.address.value, list);
    }
    if (list.length >= this.maxIdlePerKey) {
      conn.socket.destroy();
      return;
    }
    conn.idleSince = now;
    conn.reused = true;
    // Reading may have been paused for a slow client: an idle connection reads, so that a close
    // or stray bytes from the destination are seen (and the connection dropped) at once.
    conn.socket.resume();
    list.push(conn);
  }

  /** Removes a closed connection. */
  forget(conn: UpstreamConnection): void {
    const list = this.idle.get(conn.port)?.get(conn.address.value);
    if (list === undefined) return;
    const at = list.indexOf(conn);
    if (at !== -1) list.splice(at, 1);
  }

  /** Closes the connections idle since before `now - idleMs`. */
  sweep(now: number): void {
    for (const byAddress of this.idle.values()) {
      for (const [value, list] of byAddress) {
        // Oldest first: the list is used from its end.
        while (list.length > 0 && now - list[0]!.idleSince >= this.idleMs) list.shift()!.socket.destroy();
        if (list.length === 0) byAddress.delete(value);
      }
    }
  }

  /** Closes every idle connection; later ones are closed when given back. */
  close(): void {
    this.closed = true;
    for (const byAddress of this.idle.values()) {
      for (const list of byAddress.values()) for (const conn of list) conn.socket.destroy();
    }
    this.idle.clear();
  }

  /**
   * Opens a connection to the first address that accepts, in order, each attempt bounded by
   * `timeoutMs`; nothing is resolved again (no DNS-rebinding window).
   *
   * @param addresses the allowed addresses
   * @param port the destination port
   * @param timeoutMs the connect timeout of each attempt
   * @returns the connection
   * @throws ProxyError of the last attempt, its cause the socket error
   */
  open(addresses: readonly NumericIp[], port: number, timeoutMs: number): Promise<UpstreamConnection> {
    return firstThatConnects(
      addresses,
      async (address) =>
        new UpstreamConnection(await connectSocket(address, port, timeoutMs), address, port, this),
    );
  }
}
