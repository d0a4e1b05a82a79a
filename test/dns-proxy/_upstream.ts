/**
 * A destination server for the DNS proxy tests: `node _upstream.js SPEC...`, SPEC `PORT` (every
 * address) or `PORT@ADDRESS` (that address only). On each connection it sends one JSON line,
 * `{"local":"<address:port reached>","peer":"<client address>"}`, then echoes whatever it receives,
 * and ends when the client ends. Prints `ready` once listening; exits 0 on SIGTERM.
 */
import net from 'node:net';
import { formatHostPort, normalizeAddress } from '../../src/lab/echo-protocol.js';

function listen(spec: string): Promise<void> {
  const [portText = '', address] = spec.split('@');
  const port = Number(portText);
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    const local = formatHostPort(normalizeAddress(socket.localAddress ?? ''), socket.localPort ?? port);
    socket.write(`${JSON.stringify({ local, peer: normalizeAddress(socket.remoteAddress ?? '') })}\n`);
    socket.pipe(socket);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const options: net.ListenOptions =
      address === undefined ? { port, host: '::', ipv6Only: false } : { port, host: address };
    server.listen(options, () => resolve());
  });
}

async function main(): Promise<void> {
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  try {
    for (const spec of process.argv.slice(2)) await listen(spec);
  } catch (error) {
    process.stderr.write(`upstream: ${(error as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write('ready\n');
}

void main();
