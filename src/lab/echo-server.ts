/**
 * The lab's echo server: `node echo-server.js [--tcp PORT[,PORT...]] [--udp PORT[,PORT...]]`.
 *
 * Listens on the given TCP ports on every address (one dual-stack socket per port) and on the given
 * UDP ports on every address of the namespace it starts in (one socket per address, so that each
 * answer leaves from the address the datagram was sent to, and the server knows which that was).
 * Answers each TCP connection and each UDP datagram with one line of JSON,
 * `{"local":"<address:port reached>","peer":"<remote address>","proto":"tcp|udp"}`, and closes the
 * TCP connection. Prints `ready` on stdout once every socket is bound; exits 0 on SIGTERM/SIGINT,
 * 2 on bad arguments, 1 when a socket cannot be bound.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import { formatHostPort, normalizeAddress } from './echo-protocol.js';

interface Ports {
  tcp: number[];
  udp: number[];
}

function parsePorts(text: string | undefined, flag: string): number[] {
  if (text === undefined) throw new Error(`${flag} needs a port list`);
  return text.split(',').map((part) => {
    const port = Number(part);
    if (!/^\d+$/.test(part) || port < 1 || port > 65535) throw new Error(`${flag}: bad port '${part}'`);
    return port;
  });
}

function parseArgs(argv: readonly string[]): Ports {
  const ports: Ports = { tcp: [], udp: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    if (flag === '--tcp') ports.tcp.push(...parsePorts(argv[i + 1], flag));
    else if (flag === '--udp') ports.udp.push(...parsePorts(argv[i + 1], flag));
    else throw new Error(`unknown argument '${flag}'`);
  }
  if (ports.tcp.length === 0 && ports.udp.length === 0) throw new Error('give --tcp and/or --udp ports');
  return ports;
}

/** Every address of this namespace that a datagram can be sent to (no link-local IPv6). */
function localAddresses(): { address: string; family: 4 | 6 }[] {
  const found: { address: string; family: 4 | 6 }[] = [];
  for (const infos of Object.values(os.networkInterfaces())) {
    for (const info of infos ?? []) {
      if (info.family === 'IPv4') found.push({ address: info.address, family: 4 });
      else if (info.scopeid === 0 || info.scopeid === undefined)
        found.push({ address: info.address, family: 6 });
    }
  }
  return found;
}

function listenTcp(port: number): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    const local = normalizeAddress(socket.localAddress ?? '');
    const line = JSON.stringify({
      local: formatHostPort(local, socket.localPort ?? port),
      peer: normalizeAddress(socket.remoteAddress ?? ''),
      proto: 'tcp',
    });
    socket.end(`${line}\n`);
  });
  const listen = (options: net.ListenOptions): Promise<void> =>
    new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      server.once('error', onError);
      server.listen(options, () => {
        server.off('error', onError);
        resolve();
      });
    });
  return listen({ port, host: '::', ipv6Only: false }).then(
    () => server,
    async (error: NodeJS.ErrnoException) => {
      // A namespace without IPv6: IPv4 only.
      if (error.code !== 'EAFNOSUPPORT' && error.code !== 'EADDRNOTAVAIL') throw error;
      await listen({ port, host: '0.0.0.0' });
      return server;
    },
  );
}

function bindUdp(address: string, family: 4 | 6, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6' });
  const local = formatHostPort(address, port);
  socket.on('message', (_message, remote) => {
    const line = JSON.stringify({ local, peer: normalizeAddress(remote.address), proto: 'udp' });
    socket.send(`${line}\n`, remote.port, remote.address);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port, address }, () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

async function main(): Promise<void> {
  let ports: Ports;
  try {
    ports = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`echo-server: ${(error as Error).message}\n`);
    process.exit(2);
  }
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  try {
    for (const port of ports.tcp) await listenTcp(port);
    const addresses = localAddresses();
    for (const port of ports.udp) {
      for (const { address, family } of addresses) await bindUdp(address, family, port);
    }
  } catch (error) {
    process.stderr.write(`echo-server: ${(error as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write('ready\n');
}

void main();
