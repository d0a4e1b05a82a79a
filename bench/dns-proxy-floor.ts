/**
 * The floor of a relay in Node, for the DNS proxy benchmark: `node dns-proxy-floor.js HOST
 * PORT:REMOTE_PORT...` accepts connections on each PORT and pipes each to HOST:REMOTE_PORT, nothing
 * else (no names, no health, no timeouts, no logs, no metrics). What egress-router's relay costs
 * above it is the price of its features; what the floor costs above haproxy is the price of Node's
 * sockets.
 */
import net from 'node:net';

const [host = '', ...mappings] = process.argv.slice(2);
for (const mapping of mappings) {
  const [port, remotePort] = mapping.split(':').map(Number);
  net
    .createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
      const upstream = net.connect({ host, port: remotePort ?? 0, allowHalfOpen: true, noDelay: true });
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    })
    .listen(port);
}
process.on('SIGTERM', () => process.exit(0));
