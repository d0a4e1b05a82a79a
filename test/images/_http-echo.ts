/**
 * An HTTP server for the outside of the lab: `node _http-echo.js PORT...`. Answers every request with
 * one JSON object, `{"local":"<address:port reached>","peer":"<client address>","method":...,
 * "url":...,"host":...}`, so a test sees which server a proxied request reached and from which
 * source address. Prints `ready` once listening; exits on SIGTERM.
 */
import http from 'node:http';

const ports = process.argv.slice(2).map(Number);
// Without ports it does nothing: `node --test dist/test` runs every file under test/, this one too.
if (ports.length === 0) process.exit(0);
if (ports.some((port) => !(port >= 1 && port <= 65535))) {
  process.stderr.write('usage: _http-echo.js PORT...\n');
  process.exit(2);
}

const unmap = (address: string | undefined) => (address ?? '').replace(/^::ffff:/, '');

const servers = ports.map((port) =>
  http.createServer((request, response) => {
    const local = unmap(request.socket.localAddress);
    const body = JSON.stringify({
      local: local.includes(':') ? `[${local}]:${port}` : `${local}:${port}`,
      peer: unmap(request.socket.remoteAddress),
      method: request.method,
      url: request.url,
      host: request.headers.host ?? '',
    });
    response.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
    response.end(`${body}\n`);
  }),
);

await Promise.all(
  servers.map(
    (server, i) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: ports[i], host: '::', ipv6Only: false }, resolve);
      }),
  ),
);
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  for (const server of servers) server.close();
  process.exit(0);
});
