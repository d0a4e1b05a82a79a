import type { Socket } from 'node:net';
import { BULK_READ_BYTES, readInBulk, type SocketReader, socketSink } from '../runtime/socket-reader.js';
import { type Checked, decisionOf } from './check-target.js';
import type { ClientConnection } from './client-connection.js';
import type { ProxyContext } from './context.js';
import { ProxyError, statusFor } from './errors.js';
import { plainResponse } from './http1/forward.js';
import type { RequestHead } from './http1/head.js';
import { numericIpToString } from './policy/ip.js';
import { parseConnectTarget } from './target.js';
import { connectFirst, type Upstream } from './upstream.js';

const CONNECTION_ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n', 'latin1');

/** An open tunnel, as the sweep sees it: closed after the idle timeout without traffic either way. */
export interface Tunnel {
  /**
   * Closes the tunnel when no byte went either way for the idle timeout.
   *
   * @param now performance.now()
   */
  expire(now: number): void;
}

/**
 * CONNECT: checks the target, connects to the first allowed address that accepts, answers 200 and
 * relays bytes both ways (or answers the refusal and closes). Logged and counted once, when the
 * tunnel closes.
 *
 * @param conn the client connection that read the CONNECT head
 * @param ctx what the proxy's connections share
 * @param head the CONNECT head
 */
export function openTunnel(conn: ClientConnection, ctx: ProxyContext, head: RequestHead): void {
  const { counts, settings } = ctx;
  const socket = conn.socket;
  const entry: Record<string, unknown> = { kind: 'connect', client: conn.client, method: 'CONNECT' };
  let upstream: Upstream | undefined;
  let logged = false;
  const done = (status: number, decision: string, error?: ProxyError) => {
    if (logged) return;
    logged = true;
    entry.status = status;
    entry.decision = decision;
    entry.ms = Math.round(performance.now() - conn.started);
    entry.bytes_in = upstream?.socket.bytesWritten ?? 0;
    entry.bytes_out = upstream?.socket.bytesRead ?? 0;
    if (upstream) counts.bytes(upstream.socket.bytesWritten, upstream.socket.bytesRead);
    if (error) entry.error = error.message;
    counts.request('connect', decision, status);
    ctx.line(entry, 'tunnel');
  };
  const refuse = (error: ProxyError, decision: string) => {
    const status = statusFor(error.code);
    conn.close(plainResponse(status, `egress-router: ${error.message}\n`, true));
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
  // Bytes sent after the head (a TLS ClientHello) wait in the connection's buffer until the tunnel is up.
  const refused = (error: ProxyError) => {
    if (conn.phase === 'closed') done(499, decisionOf(error), error);
    else refuse(error, decisionOf(error));
  };
  const allowed = ({ addresses }: Checked) =>
    connectFirst(addresses, target.port, settings.connectTimeoutMs).then((connected) => {
      upstream = connected;
      entry.address = numericIpToString(connected.address);
      const remote = connected.socket;
      if (conn.phase === 'closed') {
        remote.destroy();
        remote.once('close', () => connected.reader.release());
        return done(499, 'allow');
      }
      const idle = new IdleCheck(socket, remote, settings.idleTimeoutMs);
      const { early, ended } = conn.handOver(idle);
      counts.openTunnels++;
      socket.write(CONNECTION_ESTABLISHED);
      if (early !== undefined) remote.write(early);
      if (ended) remote.end();
      splice(socket, connected, () => {
        counts.openTunnels--;
        done(200, 'allow');
      });
    }, refused);
  ctx.checkTarget(target, entry, allowed, refused);
}

/**
 * A tunnel with no traffic either way for the idle timeout is closed. Seen from the bytes read at
 * each sweep: nothing is armed or refreshed per chunk.
 */
class IdleCheck implements Tunnel {
  private bytes: number;
  private activeAt = performance.now();

  constructor(
    private readonly client: Socket,
    private readonly remote: Socket,
    private readonly idleTimeoutMs: number,
  ) {
    this.bytes = client.bytesRead + remote.bytesRead;
  }

  expire(now: number): void {
    const bytes = this.client.bytesRead + this.remote.bytesRead;
    if (bytes !== this.bytes) {
      this.bytes = bytes;
      this.activeAt = now;
    } else if (now - this.activeAt >= this.idleTimeoutMs) {
      this.client.destroy();
      this.remote.destroy();
    }
  }
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
