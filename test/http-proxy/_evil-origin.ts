/**
 * A destination that misbehaves on purpose, for the request-smuggling and response-desync tests:
 * `node _evil-origin.js serve <port>`, run in the lab's outside namespace (every address, one
 * dual-stack socket), prints `ready` once listening. It reads requests itself on raw TCP (so it sees
 * exactly the bytes the proxy sent, and can answer with bytes no HTTP library would write), answers
 * the requests of a connection one at a time in order, and prints one JSON line per event
 * ({@link OriginEvent}) on stdout: `head` when a request head arrived, `request` when the whole
 * request (body included) arrived, `bad-body` when a chunked body could not be read.
 *
 * Answers by path (anything else: {@link OriginEcho} as JSON, Content-Length, keep-alive):
 * - `/delay?ms=N`: the echo after N ms.
 * - `/size?bytes=N`: N bytes of `x` with Content-Length, head and body in one write.
 * - `/fill?bytes=N`: the same with `Connection: close`, and the connection closed.
 * - `/extra-now`: a Content-Length response with a second response right behind it in the same write.
 * - `/extra-later?ms=N`: the same, the second response N ms later.
 * - `/cl-te`: both Content-Length (wrong) and Transfer-Encoding: chunked.
 * - `/two-cl`: two different Content-Lengths.
 * - `/bad-chunk`: a chunked body whose second chunk size is not hex, followed by a response.
 * - `/no-length`: no Content-Length, no Transfer-Encoding; the body ends when the connection closes.
 * - `/no-body?status=N`: status N (204, 304, or 200 to a HEAD) with `Content-Length: 10` and no body.
 * - `/continue`: 100 Continue and 103 Early Hints, then the echo.
 * - `/switch`: 101 Switching Protocols nobody asked for, then bytes of another protocol.
 * - `/big-head?bytes=N`: a head of N bytes, sent as its first 65,536 bytes and, 100 ms later, the rest.
 * - `/close-next`: the echo; the next request on this connection is answered by closing it.
 * - `/conn-cl`: a Content-Length response that names Content-Length in its Connection header.
 * - `/chunked`: a chunked body `hello`.
 * - `/count?prefix=P`: how many complete requests had a `tag` starting with P.
 * A request with `Expect: 100-continue` gets `100 Continue` as soon as its head arrived. Requests
 * whose target contains `quiet` are counted but not printed (for tests that send thousands).
 *
 * Not a test file: without the `serve` argument it does nothing.
 */
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { jsonLines, type Lab, type ProcessHandle } from '../../src/lab/index.js';

/** The port it listens on in the tests. */
export const EVIL_PORT = 8090;

/** One line the origin prints. */
export interface OriginEvent {
  readonly event: 'head' | 'request' | 'bad-body';
  /** The connection, numbered from 1 in the order accepted. */
  readonly conn: number;
  /** The request on that connection, from 1. */
  readonly n: number;
  readonly method: string;
  readonly target: string;
  /** The header lines as received. */
  readonly headers: readonly string[];
  /** The body as latin1 text (chunked bodies decoded); empty on `head`. */
  readonly body: string;
}

/** The echo answer: what the origin saw of the request it answers. */
export type OriginEcho = Omit<OriginEvent, 'event'>;

const SCRIPT = fileURLToPath(import.meta.url);

/** A running evil origin. */
export interface EvilOrigin {
  readonly handle: ProcessHandle;
  /** Every event printed so far. */
  events(): OriginEvent[];
  /** The complete requests whose target contains `text`. */
  requests(text: string): OriginEvent[];
  /** How many complete requests had a `tag` starting with `prefix` (printed or quiet), asked directly. */
  count(prefix: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts the evil origin in the lab's outside namespace and waits until it listens.
 *
 * @param lab the namespace lab (its destroy() stops the origin too)
 * @param port the port (default {@link EVIL_PORT})
 */
export async function startEvilOrigin(lab: Lab, port = EVIL_PORT): Promise<EvilOrigin> {
  const handle = await lab.spawnIn('out', process.execPath, [SCRIPT, 'serve', String(port)]);
  await handle.waitFor(/^ready$/m);
  const events = (): OriginEvent[] => jsonLines<OriginEvent>(handle);
  return {
    handle,
    events,
    requests: (text) => events().filter((e) => e.event === 'request' && e.target.includes(text)),
    async count(prefix) {
      const url = `http://127.0.0.1:${port}/count?prefix=${encodeURIComponent(prefix)}`;
      const result = await lab.exec('out', 'curl', ['-sS', '--max-time', '5', url], { timeoutMs: 10_000 });
      return Number(result.stdout);
    },
    stop: async () => {
      await handle.stop();
    },
  };
}

interface Request {
  readonly method: string;
  readonly target: string;
  readonly headers: readonly string[];
  readonly n: number;
  body: string;
}

/** A request being read: its body by Content-Length, or chunked (where in the chunk framing). */
interface Body {
  readonly request: Request;
  readonly length: number;
  readonly chunked: boolean;
  chunkLeft: number;
  phase: 'size' | 'data' | 'crlf' | 'trailer';
}

const OK = 'HTTP/1.1 200 OK\r\n';
const POISON = 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\npoisoned';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let connections = 0;
/** Complete requests by tag (the `tag` query parameter), printed or not. */
const tags = new Map<string, number>();

/** What the origin says of a request: printed with its event, and answered as the echo. */
function requestFacts(conn: number, request: Request): OriginEcho {
  return {
    conn,
    n: request.n,
    method: request.method,
    target: request.target,
    headers: request.headers,
    body: request.body,
  };
}

function print(event: OriginEvent['event'], conn: number, request: Request): void {
  if (request.target.includes('quiet')) return;
  const line: OriginEvent = { event, ...requestFacts(conn, request) };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function echo(conn: number, request: Request): string {
  const body = JSON.stringify(requestFacts(conn, request));
  return `${OK}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`;
}

/** One connection: reads requests (Content-Length or chunked bodies), answers them in order. */
function serveConnection(socket: Socket): void {
  const conn = ++connections;
  let buffer = Buffer.alloc(0);
  let count = 0;
  let closeNext = false;
  const queue: Request[] = [];
  let answering = false;
  /** A request whose head was read and whose body is still arriving. */
  let current: Body | undefined;
  socket.on('error', () => {});

  const write = (data: string) => {
    if (!socket.destroyed) socket.write(data, 'latin1');
  };

  async function answer(request: Request): Promise<void> {
    const url = new URL(request.target, 'http://origin');
    const param = (name: string) => Number(url.searchParams.get(name) ?? 0);
    switch (url.pathname) {
      case '/delay':
        await sleep(param('ms'));
        return write(echo(conn, request));
      case '/size':
        return write(`${OK}Content-Length: ${param('bytes')}\r\n\r\n${'x'.repeat(param('bytes'))}`);
      case '/count': {
        const prefix = url.searchParams.get('prefix') ?? '';
        let total = 0;
        for (const [tag, n] of tags) if (tag.startsWith(prefix)) total += n;
        return write(`${OK}Content-Length: ${String(total).length}\r\n\r\n${total}`);
      }
      case '/fill':
        write(
          `${OK}Connection: close\r\nContent-Length: ${param('bytes')}\r\n\r\n${'x'.repeat(param('bytes'))}`,
        );
        socket.end();
        return;
      case '/extra-now':
        return write(`${OK}Content-Length: 5\r\n\r\nhello${POISON}`);
      case '/extra-later':
        write(`${OK}Content-Length: 5\r\n\r\nhello`);
        await sleep(param('ms'));
        return write(POISON);
      case '/cl-te':
        return write(`${OK}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
      case '/two-cl':
        return write(`${OK}Content-Length: 5\r\nContent-Length: 13\r\n\r\nhellopoisoned`);
      case '/bad-chunk':
        write(`${OK}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
        await sleep(100);
        return write(`zz\r\n${POISON}\r\n0\r\n\r\n`);
      case '/no-length':
        write(`${OK}Content-Type: text/plain\r\n\r\nuntil `);
        await sleep(100);
        socket.end('close');
        return;
      case '/no-body': {
        const status = param('status');
        const reason = status === 204 ? 'No Content' : status === 304 ? 'Not Modified' : 'OK';
        return write(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: 10\r\nX-Conn: ${conn}\r\n\r\n`);
      }
      case '/continue':
        write('HTTP/1.1 100 Continue\r\n\r\n');
        await sleep(50);
        write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
        await sleep(50);
        return write(echo(conn, request));
      case '/switch':
        return write(
          `HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: evil\r\n\r\n${POISON}`,
        );
      case '/big-head': {
        const head = Buffer.from(`${OK}X-Pad: ${'p'.repeat(param('bytes'))}\r\nContent-Length: 2\r\n\r\nok`);
        socket.write(head.subarray(0, 65_536));
        await sleep(100);
        if (!socket.destroyed) socket.write(head.subarray(65_536));
        return;
      }
      case '/close-next':
        closeNext = true;
        return write(echo(conn, request));
      case '/conn-cl':
        return write(`${OK}Content-Length: 5\r\nConnection: content-length\r\n\r\nhello`);
      case '/chunked':
        return write(`${OK}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
      default:
        return write(echo(conn, request));
    }
  }

  async function drain(): Promise<void> {
    if (answering) return;
    answering = true;
    while (queue.length > 0 && !socket.destroyed) await answer(queue.shift()!);
    answering = false;
  }

  function complete(request: Request): void {
    current = undefined;
    const tag = new URL(request.target, 'http://origin').searchParams.get('tag');
    if (tag !== null) tags.set(tag, (tags.get(tag) ?? 0) + 1);
    print('request', conn, request);
    queue.push(request);
    void drain();
  }

  /** Reads as much of the chunked body as has arrived: 'done', 'more' (wait), or 'bad'. */
  function readChunks(state: Body): 'done' | 'more' | 'bad' {
    for (;;) {
      if (state.phase === 'data') {
        const take = Math.min(state.chunkLeft, buffer.length);
        state.request.body += buffer.subarray(0, take).toString('latin1');
        buffer = buffer.subarray(take);
        state.chunkLeft -= take;
        if (state.chunkLeft > 0) return 'more';
        state.phase = 'crlf';
      }
      if (state.phase === 'crlf') {
        if (buffer.length < 2) return 'more';
        if (buffer[0] !== 0x0d || buffer[1] !== 0x0a) return 'bad';
        buffer = buffer.subarray(2);
        state.phase = 'size';
      }
      const eol = buffer.indexOf('\r\n');
      if (eol === -1) return 'more';
      const line = buffer.subarray(0, eol).toString('latin1');
      buffer = buffer.subarray(eol + 2);
      if (state.phase === 'trailer') {
        if (line === '') return 'done';
        continue;
      }
      if (!/^[0-9a-fA-F]+(;.*)?$/.test(line)) return 'bad';
      state.chunkLeft = Number.parseInt(line, 16);
      state.phase = state.chunkLeft === 0 ? 'trailer' : 'data';
    }
  }

  function parse(): void {
    for (;;) {
      if (current === undefined) {
        while (buffer.length >= 2 && buffer[0] === 0x0d && buffer[1] === 0x0a) buffer = buffer.subarray(2);
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        const [requestLine = '', ...headers] = buffer.subarray(0, end).toString('latin1').split('\r\n');
        buffer = buffer.subarray(end + 4);
        const [method = '', target = ''] = requestLine.split(' ');
        const request: Request = { method, target, headers, n: ++count, body: '' };
        if (closeNext) {
          socket.destroy();
          return;
        }
        print('head', conn, request);
        const header = (name: string) =>
          headers
            .find((h) => h.toLowerCase().startsWith(`${name}:`))
            ?.slice(name.length + 1)
            .trim();
        if (header('expect')?.toLowerCase() === '100-continue') write('HTTP/1.1 100 Continue\r\n\r\n');
        const chunked = /chunked/i.test(header('transfer-encoding') ?? '');
        const length = chunked ? 0 : Number(header('content-length') ?? 0);
        current = { request, length, chunked, chunkLeft: 0, phase: 'size' };
      }
      const state = current;
      if (state.chunked) {
        const result = readChunks(state);
        if (result === 'bad') {
          print('bad-body', conn, state.request);
          socket.destroy();
          return;
        }
        if (result !== 'done') return;
      } else {
        const take = Math.min(state.length - state.request.body.length, buffer.length);
        state.request.body += buffer.subarray(0, take).toString('latin1');
        buffer = buffer.subarray(take);
        if (state.request.body.length < state.length) return;
      }
      complete(state.request);
    }
  }

  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    parse();
  });
  socket.on('end', () => socket.end());
}

async function serve(port: number): Promise<void> {
  process.on('SIGTERM', () => process.exit(0));
  const server = createServer({ allowHalfOpen: true }, serveConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '::', ipv6Only: false }, () => resolve());
  });
  process.stdout.write('ready\n');
}

if (process.argv[2] === 'serve') void serve(Number(process.argv[3] ?? EVIL_PORT));
