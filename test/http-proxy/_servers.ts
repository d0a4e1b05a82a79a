/**
 * The destination servers of the HTTP proxy tests, run in the lab's outside namespace:
 * `node _servers.js serve`. Every server listens on every address of the namespace (one dual-stack
 * socket per port), so that the test decides which address a request reaches. Prints `ready` once
 * listening.
 *
 * - HTTP on 80 and 8080: answers what it saw as JSON ({@link HttpEcho}); `/slow?ms=N` answers after
 *   N ms; `/hang` never answers; `/big?bytes=N` streams N bytes; `/drip?ms=N` sends a first chunk,
 *   then the rest N ms later; `/hop` answers with hop-by-hop headers of its own.
 * - TCP echo on 7: sends back what it receives; on the client's FIN it sends `EOF <bytes>\n` and
 *   closes (so a test sees that a half-close went through and the other direction still works).
 *
 * Not a test file: without the `serve` argument it does nothing.
 */
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';

/** What the HTTP echo answers. */
export interface HttpEcho {
  readonly method: string;
  /** The request target as received (origin-form when it came through the proxy). */
  readonly url: string;
  readonly httpVersion: string;
  /** The raw header lines, in order, as `name: value`. */
  readonly headers: readonly string[];
  /** The address and port the request came from (IPv4 without ::ffff:). */
  readonly peer: string;
  readonly peerPort: number;
  /** The address it reached. */
  readonly local: string;
  readonly localPort: number;
  readonly bodyBytes: number;
  readonly bodySha256: string;
}

const plain = (address: string | undefined) =>
  address?.startsWith('::ffff:') ? address.slice(7) : (address ?? '');

function answer(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const hash = createHash('sha256');
  let bodyBytes = 0;
  req.on('data', (chunk: Buffer) => {
    bodyBytes += chunk.length;
    hash.update(chunk);
  });
  req.on('end', () => {
    const param = (name: string) => Number(url.searchParams.get(name) ?? 0);
    if (url.pathname === '/hang') return;
    if (url.pathname === '/big') {
      const total = param('bytes');
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          const size = Math.min(chunk.length, total - sent);
          sent += size;
          if (!res.write(size === chunk.length ? chunk : chunk.subarray(0, size))) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    if (url.pathname === '/drip') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
      setTimeout(() => res.end('last\n'), param('ms'));
      return;
    }
    const echo: HttpEcho = {
      method: req.method ?? '',
      url: req.url ?? '',
      httpVersion: req.httpVersion,
      headers: req.rawHeaders.flatMap((value, i, all) => (i % 2 === 0 ? [`${value}: ${all[i + 1]}`] : [])),
      peer: plain(req.socket.remoteAddress),
      peerPort: req.socket.remotePort ?? 0,
      local: plain(req.socket.localAddress),
      localPort: req.socket.localPort ?? 0,
      bodyBytes,
      bodySha256: hash.digest('hex'),
    };
    const body = `${JSON.stringify(echo)}\n`;
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    };
    if (url.pathname === '/hop') {
      headers.connection = 'keep-alive, x-hop';
      headers['x-hop'] = 'dropped';
      headers['keep-alive'] = 'timeout=30';
      headers['proxy-authenticate'] = 'Basic';
      headers['x-end-to-end'] = 'kept';
    }
    setTimeout(() => res.writeHead(200, headers).end(body), url.pathname === '/slow' ? param('ms') : 0);
  });
}

function tcpEcho(socket: Socket): void {
  let bytes = 0;
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    socket.write(chunk);
  });
  socket.on('end', () => socket.end(`EOF ${bytes}\n`));
}

async function listen(server: Server, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '::', ipv6Only: false }, () => resolve());
  });
}

async function serve(): Promise<void> {
  process.on('SIGTERM', () => process.exit(0));
  for (const port of [80, 8080]) {
    const server = createHttpServer({ keepAliveTimeout: 30_000 }, answer);
    await listen(server, port);
  }
  await listen(createTcpServer({ allowHalfOpen: true }, tcpEcho), 7);
  process.stdout.write('ready\n');
}

if (process.argv[2] === 'serve') void serve();
