/**
 * Load client for the HTTP proxy benchmark, run inside the lab's client namespace:
 *
 *   node _proxy-load.js tunnel-exchange PROXY_HOST PROXY_PORT TARGET CONCURRENCY SECONDS
 *     Short-lived tunnels that each carry one small HTTP exchange, as an HTTPS client's: each worker
 *     opens a tunnel to TARGET (host:port of an HTTP server), sends one `GET /small` with
 *     `Connection: close` once the 200 came, reads the response until the server closes, and starts
 *     again. Prints JSON {tunnels, seconds, perSecond, errors}.
 *
 *   node _proxy-load.js idle-tunnels PROXY_HOST PROXY_PORT TARGET COUNT
 *     Opens COUNT tunnels to TARGET (a server that holds connections), prints "ready N" when all got
 *     their 200, then holds them until stdin closes or SIGTERM.
 *
 *   node _proxy-load.js bare-relay PORT
 *     The runtime's floor for a CONNECT proxy: the least a Node relay does (reads the CONNECT line,
 *     connects to its target, answers 200, passes bytes and FINs both ways), with no head parsing,
 *     policy, limits, timeouts, logs or metrics. Prints "ready". Not a proxy to deploy.
 *
 *   node _proxy-load.js hold-server PORT
 *     Accepts connections and holds them open (the far end of the idle tunnels). Prints "ready".
 */
import { connect, createServer, type Socket } from 'node:net';

const [mode, ...args] = process.argv.slice(2);

function openTunnel(host: string, port: number, target: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      if (!/^HTTP\/1\.[01] 200/.test(head)) {
        socket.destroy();
        reject(new Error(head.split('\r\n')[0]));
        return;
      }
      const rest = head.slice(end + 4);
      if (rest.length > 0) socket.unshift(Buffer.from(rest, 'latin1'));
      resolve(socket);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
  });
}

/**
 * The tunnel-exchange load, written with callbacks only (no promise or closure chain per tunnel
 * beyond the socket's listeners), so that the load client costs as little CPU as it can: it shares
 * one core with the origin server, and the proxy's core should be the limit.
 */
function tunnelExchange(host: string, port: number, target: string, concurrency: number, seconds: number) {
  const connectHead = Buffer.from(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`, 'latin1');
  const request = Buffer.from(
    `GET /small HTTP/1.1\r\nHost: ${target}\r\nConnection: close\r\n\r\n`,
    'latin1',
  );
  const deadline = Date.now() + seconds * 1000;
  let tunnels = 0;
  let errors = 0;
  let running = concurrency;
  const started = Date.now();
  const finish = () => {
    if (--running > 0) return;
    const elapsed = (Date.now() - started) / 1000;
    process.stdout.write(
      `${JSON.stringify({ tunnels, seconds: elapsed, perSecond: tunnels / elapsed, errors })}\n`,
    );
  };
  const one = () => {
    if (Date.now() >= deadline || errors > 1000) {
      finish();
      return;
    }
    // 0: waiting for the 200; 1: the request sent, waiting for the response; 2: it came.
    let state = 0;
    let failed = false;
    const socket = connect({ host, port, noDelay: true });
    socket.on('connect', () => socket.write(connectHead));
    socket.on('data', (chunk: Buffer) => {
      if (state === 0) {
        // The proxies answer the CONNECT in one segment, before the origin sends anything.
        const status = chunk.toString('latin1', 0, 12);
        if (status !== 'HTTP/1.1 200' && status !== 'HTTP/1.0 200') {
          failed = true;
          socket.destroy();
          return;
        }
        state = 1;
        socket.write(request);
      } else if (state === 1) {
        if (chunk.toString('latin1', 0, 12) !== 'HTTP/1.1 200') failed = true;
        state = 2;
      }
    });
    socket.on('end', () => socket.destroy());
    socket.on('error', () => {
      failed = true;
    });
    socket.on('close', () => {
      if (failed || state !== 2) errors++;
      else tunnels++;
      one();
    });
  };
  for (let i = 0; i < concurrency; i++) one();
}

async function idleTunnels(host: string, port: number, target: string, count: number) {
  const sockets: Socket[] = [];
  const batch = 100;
  for (let i = 0; i < count; i += batch) {
    const opened = await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, () => openTunnel(host, port, target)),
    );
    sockets.push(...opened);
  }
  for (const socket of sockets) socket.on('error', () => {});
  process.stdout.write(`ready ${sockets.length}\n`);
  await new Promise<void>((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
    process.stdin.resume();
    process.once('SIGTERM', resolve);
  });
  for (const socket of sockets) socket.destroy();
}

function holdServer(port: number) {
  const held = new Set<Socket>();
  const server = createServer((socket) => {
    held.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => held.delete(socket));
  });
  server.maxConnections = 100_000;
  server.listen({ port, host: '::', ipv6Only: false }, () => process.stdout.write('ready\n'));
}

/** The bare relay's listeners, shared (no closures per tunnel): `this.peer` is the other side. */
type Peered = Socket & { peer: Socket };
function relayData(this: Peered, chunk: Buffer) {
  this.peer.write(chunk);
}
function relayEnd(this: Peered) {
  this.peer.end();
}
function relayClose(this: Peered) {
  this.peer.destroy();
}
function ignore() {}

function bareRelay(port: number) {
  const established = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n', 'latin1');
  const server = createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    client.on('error', ignore);
    client.once('data', (chunk: Buffer) => {
      const line = chunk.toString('latin1', 0, chunk.indexOf(13));
      const target = line.slice(8, line.indexOf(' ', 8));
      const colon = target.lastIndexOf(':');
      const remote = connect({
        host: target.slice(0, colon),
        port: Number(target.slice(colon + 1)),
        noDelay: true,
        allowHalfOpen: true,
      }) as Peered;
      (client as Peered).peer = remote;
      remote.peer = client;
      remote.once('connect', () => {
        client.write(established);
        client.on('data', relayData);
      });
      remote.on('data', relayData);
      remote.on('end', relayEnd);
      client.on('end', relayEnd);
      remote.on('error', ignore);
      remote.on('close', relayClose);
      client.on('close', relayClose);
    });
  });
  server.listen({ port, host: '::', ipv6Only: false, backlog: 4096 }, () => process.stdout.write('ready\n'));
  process.once('SIGTERM', () => process.exit(0));
}

switch (mode) {
  case 'tunnel-exchange':
    tunnelExchange(args[0]!, Number(args[1]), args[2]!, Number(args[3]), Number(args[4]));
    break;
  case 'idle-tunnels':
    await idleTunnels(args[0]!, Number(args[1]), args[2]!, Number(args[3]));
    break;
  case 'bare-relay':
    bareRelay(Number(args[0]));
    break;
  case 'hold-server':
    holdServer(Number(args[0]));
    break;
  default:
    process.stderr.write(`usage: see the comment at the top of ${process.argv[1]}\n`);
    process.exit(2);
}
