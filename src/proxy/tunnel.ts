import { connect, type Socket } from 'node:net';
import { BULK_READ_BYTES, readInBulk, type SocketReader } from '../runtime/socket-reader.js';
import { type Checked, type CheckListener, decisionOf } from './check-target.js';
import type { ClientConnection } from './client-connection.js';
import type { ProxyContext } from './context.js';
import { connectErrorCode, ProxyError, statusFor } from './errors.js';
import { plainResponse } from './http1/forward.js';
import type { RequestHead } from './http1/head.js';
import { type NumericIp, numericIpToString } from './policy/ip.js';
import { parseConnectTarget, type Target } from './target.js';

const CONNECTION_ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n', 'latin1');

/** What the connection's sweep and close see of a CONNECT (see ClientConnection). */
export interface Tunnel {
  /**
   * Applies the connect timeout while connecting, and closes a tunnel with no traffic either way
   * for the idle timeout.
   *
   * @param now performance.now()
   * @returns whether the tunnel is relaying (the connection's own deadlines then do not apply)
   */
  expire(now: number): boolean;
  /** The client's socket closed. */
  clientClosed(): void;
}

/**
 * CONNECT: checks the target, connects to the first allowed address that accepts, answers 200 and
 * relays bytes both ways (or answers the refusal and closes). Logged and counted once, when the
 * tunnel closes.
 *
 * @param conn the client connection that read the CONNECT head
 * @param ctx what the proxy's connections share
 * @param head the CONNECT head
 * @returns the tunnel, while its target is checked or connected to; undefined when refused at once
 */
export function openTunnel(conn: ClientConnection, ctx: ProxyContext, head: RequestHead): Tunnel | undefined {
  const tunnel = new ConnectTunnel(conn, ctx);
  const parsed = parseConnectTarget(head.target);
  if (!parsed.ok) {
    tunnel.refuse(new ProxyError('BAD_REQUEST', parsed.reason), 'invalid');
    return undefined;
  }
  return tunnel.check(parsed.value);
}

const CHECKING = 0;
const CONNECTING = 1;
const RELAYING = 2;
const DONE = 3;

/** The tunnel a socket belongs to (listeners are shared functions, not closures per tunnel). */
const TUNNEL = Symbol('tunnel');
type TunnelSocket = Socket & { [TUNNEL]: ConnectTunnel };

/**
 * One CONNECT, from the check to the close of both sides. Connect attempts are bounded by the
 * connect timeout and an open tunnel by the idle timeout, both checked by the proxy's sweep
 * (`expire`): a tunnel costs no timer. Traffic is seen from the sockets' byte counts at each sweep,
 * nothing is armed or refreshed per chunk.
 *
 * Relaying respects half-close (a FIN from one side is passed on while the other direction goes
 * on); a side that closes closes the other. Each side is read with Node's own reads (a buffer per
 * read, sized to what came: right for the few small messages most tunnels carry, and an idle tunnel
 * holds no read buffer at all) until one read brings BULK_READ_BYTES: from then on that side streams
 * and is read into a buffer of its own, reused and written on without a copy (readInBulk), as Node
 * 24 answers a stream of fresh 64 KiB read buffers with full collections.
 */
class ConnectTunnel implements Tunnel, CheckListener {
  private phase = CHECKING;
  private readonly client: TunnelSocket;
  private readonly entry: Record<string, unknown>;
  private remote: TunnelSocket | undefined;
  private addresses: readonly NumericIp[] = [];
  private port = 0;
  private attempts = 0;
  /** The address of the attempt under way, as written in messages (`[v6]:port`). */
  private host = '';
  private where = '';
  private connectDeadline = 0;
  private bytesSeen = 0;
  private activeAt = 0;
  private clientOpen = true;
  private remoteOpen = false;
  private clientReader: SocketReader | undefined;
  private remoteReader: SocketReader | undefined;
  private logged = false;

  constructor(
    private readonly conn: ClientConnection,
    private readonly ctx: ProxyContext,
  ) {
    this.client = conn.socket as TunnelSocket;
    this.client[TUNNEL] = this;
    this.entry = { kind: 'connect', client: conn.client, method: 'CONNECT' };
  }

  /**
   * Checks the target; the listener methods below go on.
   *
   * @param target the CONNECT target
   * @returns this tunnel
   */
  check(target: Target): Tunnel {
    this.entry.host = target.authority;
    this.entry.port = target.port;
    this.port = target.port;
    // Bytes sent after the head (a TLS ClientHello) wait in the connection's buffer until the tunnel is up.
    this.ctx.checkTarget(target, this.entry, this);
    return this;
  }

  allowed({ addresses }: Checked): void {
    if (this.phase !== CHECKING) return;
    if (!this.clientOpen || this.conn.phase === 'closed') {
      this.done(499, 'allow');
      return;
    }
    this.phase = CONNECTING;
    this.addresses = addresses;
    this.connectNext();
  }

  refused(error: ProxyError): void {
    if (this.phase !== CHECKING) return;
    if (this.conn.phase === 'closed') this.done(499, decisionOf(error), error);
    else this.refuse(error, decisionOf(error));
  }

  /** Answers the client with the proxy's own response and closes its connection. */
  refuse(error: ProxyError, decision: string): void {
    const status = statusFor(error.code);
    this.conn.close(plainResponse(status, `egress-router: ${error.message}\n`, true));
    this.done(status, decision, error);
  }

  private connectNext(): void {
    const address = this.addresses[this.attempts++]!;
    const host = numericIpToString(address);
    this.host = host;
    this.where = address.family === 6 ? `[${host}]:${this.port}` : `${host}:${this.port}`;
    // Nagle off: a client's short messages (a TLS handshake) go out at once.
    const remote = connect({ host, port: this.port, noDelay: true, allowHalfOpen: true }) as TunnelSocket;
    remote[TUNNEL] = this;
    this.remote = remote;
    this.connectDeadline = performance.now() + this.ctx.settings.connectTimeoutMs;
    remote.on('error', onRemoteError);
    remote.once('connect', onRemoteConnect);
  }

  /** The attempt under way failed: the next address, or the last failure answered. */
  private attemptFailed(error: ProxyError): void {
    const remote = this.remote!;
    this.remote = undefined;
    remote.destroy();
    if (!this.clientOpen) {
      this.done(499, 'allow');
      return;
    }
    if (this.attempts < this.addresses.length) {
      this.connectNext();
      return;
    }
    if (this.conn.phase === 'closed') this.done(499, 'allow', error);
    else this.refuse(error, 'allow');
  }

  /** @internal */
  remoteError(socket: TunnelSocket, error: NodeJS.ErrnoException): void {
    if (this.phase !== CONNECTING || socket !== this.remote) return; // relaying: 'close' follows
    this.attemptFailed(
      new ProxyError(
        connectErrorCode(error),
        `connecting to ${this.where} failed: ${error.code ?? error.message}`,
        {
          cause: error,
        },
      ),
    );
  }

  /** @internal */
  remoteConnected(remote: TunnelSocket): void {
    if (this.phase !== CONNECTING || remote !== this.remote) return;
    if (!this.clientOpen || this.conn.phase === 'closed') {
      this.remote = undefined;
      remote.destroy();
      this.done(499, 'allow');
      return;
    }
    this.phase = RELAYING;
    this.remoteOpen = true;
    this.entry.address = this.host;
    const client = this.client;
    this.activeAt = performance.now();
    this.bytesSeen = client.bytesRead + remote.bytesRead;
    const { early, ended } = this.conn.handOver();
    this.ctx.counts.openTunnels++;
    client.write(CONNECTION_ESTABLISHED);
    if (early !== undefined) remote.write(early);
    if (ended) remote.end();
    remote.once('close', onRemoteClose);
    remote.on('data', onRemoteData);
    remote.on('end', onRemoteEnd);
    remote.on('drain', onRemoteDrain);
    client.on('data', onClientData);
    client.on('end', onClientEnd);
    client.on('drain', onClientDrain);
  }

  expire(now: number): boolean {
    if (this.phase === CONNECTING) {
      if (this.remote !== undefined && now >= this.connectDeadline) {
        this.attemptFailed(
          new ProxyError(
            'CONNECT_TIMEOUT',
            `connecting to ${this.where} timed out after ${this.ctx.settings.connectTimeoutMs} ms`,
          ),
        );
      }
      return false;
    }
    if (this.phase !== RELAYING) return false;
    const bytes = this.client.bytesRead + this.remote!.bytesRead;
    if (bytes !== this.bytesSeen) {
      this.bytesSeen = bytes;
      this.activeAt = now;
    } else if (now - this.activeAt >= this.ctx.settings.idleTimeoutMs) {
      this.client.destroy();
      this.remote!.destroy();
    }
    return true;
  }

  clientClosed(): void {
    if (!this.clientOpen) return;
    this.clientOpen = false;
    if (this.phase === CONNECTING) {
      // The client left while the destination had not answered yet.
      this.remote?.destroy();
      this.remote = undefined;
      this.done(499, 'allow');
      return;
    }
    if (this.phase !== RELAYING) return;
    this.remote!.destroy();
    this.maybeEnd();
  }

  /** @internal */
  remoteClosed(): void {
    this.remoteOpen = false;
    this.client.destroy();
    this.maybeEnd();
  }

  /** @internal */
  fromRemote(remote: TunnelSocket, chunk: Buffer): void {
    if (!this.client.write(chunk)) remote.pause();
    if (chunk.length >= BULK_READ_BYTES)
      this.remoteReader = readInBulk(remote, this.client, onRemoteData, onClientDrain);
  }

  /** @internal */
  fromClient(chunk: Buffer): void {
    const remote = this.remote!;
    if (!remote.write(chunk)) this.client.pause();
    if (chunk.length >= BULK_READ_BYTES)
      this.clientReader = readInBulk(this.client, remote, onClientData, onRemoteDrain);
  }

  /** @internal */
  remoteEnded(): void {
    this.client.end();
  }

  /** @internal */
  clientEnded(): void {
    this.remote?.end();
  }

  /** @internal */
  remoteDrained(): void {
    this.client.resume();
  }

  /** @internal */
  clientDrained(): void {
    this.remote?.resume();
  }

  private maybeEnd(): void {
    if (this.clientOpen || this.remoteOpen || this.phase === DONE) return;
    // Both sockets are closed: nothing reads into the readers' buffers, nothing written from them is queued.
    this.clientReader?.release();
    this.remoteReader?.release();
    this.ctx.counts.openTunnels--;
    this.done(200, 'allow');
  }

  /** Logs and counts the tunnel, once. */
  private done(status: number, decision: string, error?: ProxyError): void {
    this.phase = DONE;
    if (this.logged) return;
    this.logged = true;
    const entry = this.entry;
    const remote = this.remote;
    const counts = this.ctx.counts;
    entry.status = status;
    entry.decision = decision;
    entry.ms = Math.round(performance.now() - this.conn.started);
    entry.bytes_in = remote?.bytesWritten ?? 0;
    entry.bytes_out = remote?.bytesRead ?? 0;
    if (remote) counts.bytes(remote.bytesWritten, remote.bytesRead);
    if (error) entry.error = error.message;
    counts.request('connect', decision, status);
    this.ctx.line(entry, 'tunnel');
  }
}

// Socket listeners, shared by every tunnel (no closures per tunnel): `this` is the socket,
// `this[TUNNEL]` its tunnel.

function onRemoteConnect(this: TunnelSocket): void {
  this[TUNNEL].remoteConnected(this);
}

function onRemoteError(this: TunnelSocket, error: NodeJS.ErrnoException): void {
  this[TUNNEL].remoteError(this, error);
}

function onRemoteClose(this: TunnelSocket): void {
  this[TUNNEL].remoteClosed();
}

function onRemoteData(this: TunnelSocket, chunk: Buffer): void {
  this[TUNNEL].fromRemote(this, chunk);
}

function onRemoteEnd(this: TunnelSocket): void {
  this[TUNNEL].remoteEnded();
}

function onRemoteDrain(this: TunnelSocket): void {
  this[TUNNEL].remoteDrained();
}

function onClientData(this: TunnelSocket, chunk: Buffer): void {
  this[TUNNEL].fromClient(chunk);
}

function onClientEnd(this: TunnelSocket): void {
  this[TUNNEL].clientEnded();
}

function onClientDrain(this: TunnelSocket): void {
  this[TUNNEL].clientDrained();
}
