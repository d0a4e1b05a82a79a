/**
 * Load client for the HTTP proxy benchmark, run inside the lab's client namespace:
 *
 *   node _proxy-load.js connect-rate PROXY_HOST PROXY_PORT TARGET CONCURRENCY SECONDS
 *     CONNECT tunnels opened per second: each worker opens a tunnel to TARGET (host:port of a server
 *     that sends a line and closes), reads until the end, and starts again. Prints JSON
 *     {tunnels, seconds, perSecond, errors}.
 *
 *   node _proxy-load.js idle-tunnels PROXY_HOST PROXY_PORT TARGET COUNT
 *     Opens COUNT tunnels to TARGET (a server that holds connections), prints "ready N" when all got
 *     their 200, then holds them until stdin closes or SIGTERM.
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

async function connectRate(host: string, port: number, target: string, concurrency: number, seconds: number) {
  const deadline = Date.now() + seconds * 1000;
  let tunnels = 0;
  let errors = 0;
  const started = Date.now();
  const worker = async () => {
    while (Date.now() < deadline) {
      try {
        const socket = await openTunnel(host, port, target);
        await new Promise<void>((resolve) => {
          socket.on('data', () => {});
          socket.once('close', () => resolve());
          socket.once('error', () => resolve());
        });
        tunnels++;
      } catch {
        errors++;
        if (errors > 1000) return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (Date.now() - started) / 1000;
  process.stdout.write(
    `${JSON.stringify({ tunnels, seconds: elapsed, perSecond: tunnels / elapsed, errors })}\n`,
  );
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

switch (mode) {
  case 'connect-rate':
    await connectRate(args[0]!, Number(args[1]), args[2]!, Number(args[3]), Number(args[4]));
    break;
  case 'idle-tunnels':
    await idleTunnels(args[0]!, Number(args[1]), args[2]!, Number(args[3]));
    break;
  case 'hold-server':
    holdServer(Number(args[0]));
    break;
  default:
    process.stderr.write(`usage: see the comment at the top of ${process.argv[1]}\n`);
    process.exit(2);
}
