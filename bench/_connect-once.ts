/**
 * One TCP connection to an echo-style server, timed: connect, read what it says until it closes.
 * Shared by the connect clients the benchmarks run inside lab namespaces.
 */
import net from 'node:net';

/** What one connection took. */
export interface ConnectSample {
  /** Start to connected (the handshake), in microseconds. */
  readonly connectUs: number;
  /** Start to closed (connect, the server's reply, close), in microseconds. */
  readonly cycleUs: number;
  /** What the server wrote. */
  readonly reply: string;
}

/**
 * Connects, collects the reply, resolves when the server closes.
 *
 * @throws (rejects) on an error, a 3 s timeout, or a close before connecting
 */
export function connectOnce(host: string, port: number): Promise<ConnectSample> {
  return new Promise((resolve, reject) => {
    let connectedAt: bigint | undefined;
    let reply = '';
    const started = process.hrtime.bigint();
    const socket = net.connect({ host, port });
    socket.setEncoding('utf8');
    socket.setTimeout(3_000, () => socket.destroy(new Error(`${host}:${port}: timeout`)));
    socket.once('connect', () => {
      connectedAt = process.hrtime.bigint();
    });
    socket.on('data', (chunk: string) => {
      reply += chunk;
    });
    socket.once('error', reject);
    socket.once('close', (hadError) => {
      if (hadError) return;
      const closedAt = process.hrtime.bigint();
      if (connectedAt === undefined) reject(new Error(`${host}:${port}: closed before connecting`));
      else
        resolve({
          connectUs: Number(connectedAt - started) / 1000,
          cycleUs: Number(closedAt - started) / 1000,
          reply,
        });
    });
  });
}
