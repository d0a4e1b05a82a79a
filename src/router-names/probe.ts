import net from 'node:net';

/** Checks an address: whether a TCP connection to it is accepted within the time given. */
export type Probe = (address: string, port: number, timeoutMs: number) => Promise<boolean>;

/**
 * A TCP connect to the address and port, closed at once (a reset, so the destination's server
 * sees a connection that ends without data, and no TIME_WAIT is left here).
 *
 * @param address the destination address
 * @param port the destination port
 * @param timeoutMs how long the connect may take
 * @returns true when it connected
 */
export const tcpProbe: Probe = (address, port, timeoutMs) =>
  new Promise((resolve) => {
    let settled = false;
    const socket = net.connect({ host: address, port });
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (ok) socket.resetAndDestroy();
      else socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.on('error', () => done(false));
  });
