import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { EVIL_PORT, type EvilOrigin, type OriginEcho, startEvilOrigin } from './_evil-origin.js';
import {
  type Conn,
  PROXY4,
  ProxyLab,
  type RawResponse,
  type RunningProxy,
  skipReason,
  sleep,
} from './_proxy-lab.js';

const skip = skipReason();

/** The evil origin on three outside addresses: separate pools, so that one test's connections do not serve another's. */
const ORIGIN = `203.0.113.25:${EVIL_PORT}`;
const ORIGIN_SMUGGLE = `203.0.113.26:${EVIL_PORT}`;
const ORIGIN_POOL = `203.0.113.27:${EVIL_PORT}`;
const RESPONSE_TIMEOUT_MS = 2000;

/** A proxied request for `http://<authority><path>`, kept alive unless the headers say otherwise. */
function request(
  path: string,
  options: { method?: string; authority?: string; headers?: string; body?: string; version?: string } = {},
): string {
  const authority = options.authority ?? ORIGIN;
  const body = options.body ?? '';
  const length =
    body === '' || /transfer-encoding/i.test(options.headers ?? '')
      ? ''
      : `Content-Length: ${body.length}\r\n`;
  return (
    `${options.method ?? 'GET'} http://${authority}${path} HTTP/${options.version ?? '1.1'}\r\n` +
    `Host: ${authority}\r\n${options.headers ?? ''}${length}\r\n${body}`
  );
}

function echoOf(response: RawResponse): OriginEcho {
  assert.equal(response.status, 200, `${response.statusLine} ${response.body}`);
  return JSON.parse(response.body) as OriginEcho;
}

/** The resident memory of a process, in bytes. */
function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/**
 * Writes up to `total` bytes of `x` to `conn` as fast as the connection takes them, for at most
 * `timeoutMs`; returns how many bytes were taken.
 */
async function writeFor(conn: Conn, total: number, timeoutMs: number): Promise<number> {
  const chunk = Buffer.alloc(65_536, 'x');
  const deadline = Date.now() + timeoutMs;
  let sent = 0;
  while (sent < total && Date.now() < deadline && !conn.socket.destroyed) {
    const ok = conn.socket.write(chunk);
    sent += chunk.length;
    if (!ok) {
      const drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), Math.max(1, deadline - Date.now()));
        conn.socket.once('drain', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!drained) return sent - conn.socket.writableLength;
    }
  }
  return sent - conn.socket.writableLength;
}

/** Runs `body` with a new client connection, closed afterwards whatever happens. */
async function withConn<T>(lab: ProxyLab, body: (conn: Conn) => Promise<T>): Promise<T> {
  const conn = await lab.connect();
  try {
    return await body(conn);
  } finally {
    conn.destroy();
  }
}

// Request smuggling, response desync and connection poisoning, end to end: a raw client, the proxy
// as the image runs it, and a destination that misbehaves on purpose (_evil-origin.ts).
describe('http-proxy: request smuggling, response desync and connection poisoning', { skip }, () => {
  let lab: ProxyLab;
  let proxy: RunningProxy;
  let origin: EvilOrigin;
  before(async () => {
    lab = await ProxyLab.create('dsy');
    origin = await startEvilOrigin(lab.lab);
    proxy = await lab.startProxy({
      // A deny rule written in Unicode: the proxy's own 403 quotes it.
      EGRESS_HTTP_PROXY_DESTINATION: '!*.bücher.test\n*',
      EGRESS_HTTP_PROXY_ADMIN_PORT: '0',
      EGRESS_HTTP_PROXY_RESPONSE_TIMEOUT_MS: String(RESPONSE_TIMEOUT_MS),
    });
  });
  after(async () => {
    await origin?.stop();
    await lab?.destroy();
  });

  describe('pipelining', () => {
    test('pipelined requests on one client connection are answered in order, each exactly once', async () => {
      await withConn(lab, async (conn) => {
        conn.write(
          [
            request('/delay?ms=300&tag=pipe-1'),
            request('/id?tag=pipe-2', { method: 'POST', body: 'body of two' }),
            request('/?tag=pipe-3', { authority: `127.0.0.1:${EVIL_PORT}` }),
            request('/id?tag=pipe-4', {
              headers: 'Transfer-Encoding: chunked\r\n',
              body: '3\r\nabc\r\n0\r\n\r\n',
            }),
            request('/id?tag=pipe-5'),
          ].join(''),
        );
        const first = echoOf(await conn.readResponse());
        const second = echoOf(await conn.readResponse());
        const third = await conn.readResponse();
        const fourth = echoOf(await conn.readResponse());
        const fifth = echoOf(await conn.readResponse());
        assert.deepEqual(
          [first.target, second.target, third.status, fourth.target, fifth.target],
          ['/delay?ms=300&tag=pipe-1', '/id?tag=pipe-2', 403, '/id?tag=pipe-4', '/id?tag=pipe-5'],
        );
        assert.deepEqual([second.body, fourth.body], ['body of two', 'abc']);
        await sleep(300);
        assert.equal(conn.pending, '', 'nothing more was answered');
        for (const tag of ['pipe-1', 'pipe-2', 'pipe-4', 'pipe-5']) {
          assert.equal(origin.requests(`tag=${tag}`).length, 1, `${tag} reached the destination once`);
        }
      });
    });
  });

  describe('clients that read nothing', () => {
    test('a client that pipelines requests and reads nothing cannot make the proxy hold their answers without bound', async () => {
      // 3,000 requests of 70 bytes each, answered with 8,000 bytes each: 24 MB of answers for
      // 210 KB of requests. A proxy that stops reading pipelined requests while its writes to the
      // client are backed up (as Node's HTTP server does) serves only what the socket buffers hold.
      const count = 3000;
      const conn = await lab.connect();
      try {
        conn.socket.pause();
        conn.write(
          Array.from({ length: count }, (_, i) => request(`/size?bytes=8000&tag=quiet-unread-${i}`)).join(''),
        );
        await sleep(4000);
        const served = await origin.count('quiet-unread-');
        assert.ok(
          served < 1000,
          `the destination answered ${served} of ${count} (${(served * 8000) / 1e6} MB) while the client read nothing`,
        );
      } finally {
        conn.destroy();
      }
    });

    test('a client that reads nothing cannot make the proxy hold the body of a request it refused', async () => {
      // The client's socket is backed up with answers it does not read; then a request with a body
      // the proxy refuses (403: its own address) and closes the connection after. The proxy cannot
      // finish writing, so the connection stays; the body the client goes on sending must not pile
      // up in the proxy.
      const conn = await lab.connect();
      try {
        conn.socket.pause();
        const fills = Array.from({ length: 600 }, () => request('/fill?bytes=4000&tag=quiet-refused-fill'));
        conn.write(
          `${fills.join('')}POST http://127.0.0.1:${EVIL_PORT}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n`,
        );
        const deadline = Date.now() + 10_000;
        while ((await origin.count('quiet-refused-fill')) < 600 && Date.now() < deadline) await sleep(100);
        await sleep(300);
        const rssBefore = rss(proxy.handle.pid);
        const total = 24 * 1024 * 1024;
        const sent = await writeFor(conn, total, 6000);
        await sleep(300);
        const grown = rss(proxy.handle.pid) - rssBefore;
        assert.ok(
          sent < total / 2,
          `the proxy took ${(sent / 1e6).toFixed(1)} MB of a refused body from a client that reads nothing (its memory grew by ${(grown / 1e6).toFixed(1)} MB)`,
        );
      } finally {
        conn.destroy();
      }
    });
  });

  describe('pipelined requests the proxy answers itself', () => {
    // A proxy of its own: if it falls over, the other tests keep theirs.
    let own: RunningProxy;
    const PORT = 8081;
    before(async () => {
      own = await lab.startProxy({
        EGRESS_HTTP_PROXY_DESTINATION: '*',
        EGRESS_HTTP_PROXY_PORT: String(PORT),
        EGRESS_HTTP_PROXY_ADMIN_PORT: '0',
      });
    });
    after(async () => {
      await own?.stop();
    });

    test('a burst of pipelined requests refused one after the other does not exhaust the stack', async () => {
      // 18 bytes each: 3,640 of them fit in one 64 KiB read, each refused at once (400: not a proxy request).
      const one = 'GET / HTTP/1.1\r\n\r\n';
      const count = Math.floor(65_536 / one.length);
      const conn = await lab.connect(PROXY4, PORT);
      try {
        conn.write(one.repeat(count) + request('/id?tag=after-burst'));
        let answered = 0;
        try {
          for (; answered < count; answered++) assert.equal((await conn.readResponse(10_000)).status, 400);
          assert.equal(echoOf(await conn.readResponse()).target, '/id?tag=after-burst');
        } catch (error) {
          await sleep(200);
          const stderr = own.handle.output().stderr.split('\n').slice(0, 6).join('\n');
          assert.fail(
            `after ${answered} answers: ${(error as Error).message}; the proxy ${own.handle.running() ? 'runs' : 'exited'}: ${stderr}`,
          );
        }
      } finally {
        conn.destroy();
      }
      assert.ok(own.handle.running(), 'the proxy is still running');
    });
  });

  describe('responses framed wrongly by the destination', () => {
    test('bytes after a Content-Length body, in the same read, never reach the next request', async () => {
      await withConn(lab, async (conn) => {
        conn.write(request('/extra-now'));
        const response = await conn.readResponse();
        assert.deepEqual([response.status, response.body], [200, 'hello']);
        conn.write(request('/id?tag=after-extra-now'));
        assert.equal(echoOf(await conn.readResponse()).target, '/id?tag=after-extra-now');
        await sleep(200);
        assert.equal(conn.pending, '');
      });
    });

    test('bytes after a Content-Length body, arriving later, get the pooled connection closed, not reused', async () => {
      await withConn(lab, async (conn) => {
        conn.write(request('/extra-later?ms=150'));
        const response = await conn.readResponse();
        assert.deepEqual([response.status, response.body], [200, 'hello']);
        await sleep(500);
        conn.write(request('/id?tag=after-extra-later'));
        const echo = echoOf(await conn.readResponse());
        assert.equal(echo.target, '/id?tag=after-extra-later');
        const [served] = origin.requests('/extra-later');
        assert.notEqual(echo.conn, served?.conn, 'a connection that sent stray bytes is not used again');
      });
    });

    test('Content-Length with Transfer-Encoding: read as chunked, sent on without the length, connection not reused', async () => {
      await withConn(lab, async (conn) => {
        conn.write(request('/cl-te'));
        const response = await conn.readResponse();
        assert.equal(response.status, 200);
        assert.equal(response.headers['content-length'], undefined);
        assert.equal(response.headers['transfer-encoding'], 'chunked');
        assert.equal(response.body, 'hello');
        conn.write(request('/id?tag=after-cl-te'));
        const echo = echoOf(await conn.readResponse());
        assert.equal(echo.target, '/id?tag=after-cl-te');
        assert.notEqual(echo.conn, origin.requests('/cl-te')[0]?.conn);
      });
    });

    test('two different Content-Lengths get 502; the rest of that answer goes nowhere', async () => {
      await withConn(lab, async (conn) => {
        conn.write(request('/two-cl'));
        const response = await conn.readResponse();
        assert.equal(response.status, 502, JSON.stringify(response));
        assert.match(response.body, /invalid Content-Length from the destination/);
        await proxy.waitForLog(
          (line) => line.status === 502 && /invalid Content-Length/.test(String(line.error)),
        );
        conn.write(request('/id?tag=after-two-cl'));
        assert.equal(echoOf(await conn.readResponse()).target, '/id?tag=after-two-cl');
        await sleep(200);
        assert.equal(conn.pending, '');
      });
    });

    test('an invalid chunk size cuts the client connection; nothing after it is forwarded', async () => {
      await withConn(lab, async (conn) => {
        conn.write(request('/bad-chunk'));
        const head = await conn.readHead();
        assert.equal(head.status, 200);
        const rest = await conn.closed(RESPONSE_TIMEOUT_MS + 1000);
        assert.notEqual(rest, undefined, 'the client connection is closed');
        assert.ok(!rest!.includes('zz') && !rest!.includes('poisoned'), JSON.stringify(rest));
        assert.ok(!rest!.includes('0\r\n\r\n'), 'the client never sees a complete body');
      });
    });

    test('a response without a length is read until the destination closes; the client gets Connection: close', async () => {
      await withConn(lab, async (conn) => {
        conn.write(request('/no-length'));
        const response = await conn.readResponse();
        assert.equal(response.status, 200);
        assert.equal(response.headers.connection, 'close');
        assert.equal(response.body, 'until close');
        assert.ok(conn.ended, 'the client connection is closed');
      });
    });

    test('Connection naming Content-Length in a response does not leave the client without framing', async () => {
      await withConn(lab, async (conn) => {
        conn.write(request('/conn-cl'));
        const head = await conn.readHead();
        assert.equal(head.status, 200);
        assert.ok(
          head.headers['content-length'] === '5' || head.headers.connection === 'close',
          `the client can tell where the body ends: ${JSON.stringify(head.headers)}`,
        );
      });
    });
  });

  describe('responses without a body', () => {
    const cases: [string, string, string, number][] = [
      ['a HEAD response', 'HEAD', '/no-body?status=200', 200],
      ['a 204', 'GET', '/no-body?status=204', 204],
      ['a 304', 'GET', '/no-body?status=304', 304],
    ];
    for (const [what, method, path, status] of cases) {
      test(`${what} with a Content-Length: no body is waited for; the next request on the connection works`, async () => {
        await withConn(lab, async (conn) => {
          const started = Date.now();
          conn.write(request(path, { method }));
          const head = await conn.readHead(RESPONSE_TIMEOUT_MS + 1000);
          assert.equal(head.status, status);
          conn.write(request(`/id?tag=after-${status}-${method}`));
          const echo = echoOf(await conn.readResponse());
          assert.equal(echo.target, `/id?tag=after-${status}-${method}`);
          assert.ok(
            Date.now() - started < RESPONSE_TIMEOUT_MS / 2,
            `answered after ${Date.now() - started} ms`,
          );
          assert.equal(echo.conn, Number(head.headers['x-conn']), 'the connection is in step: reused');
        });
      });
    }
  });

  describe('interim responses', () => {
    test('100 Continue and 103 Early Hints come before the final response; the next request works', async () => {
      await withConn(lab, async (conn) => {
        conn.write(request('/continue'));
        assert.equal((await conn.readHead()).status, 100);
        const hints = await conn.readHead();
        assert.equal(hints.status, 103);
        assert.equal(hints.headers.link, '</style.css>; rel=preload');
        assert.equal(echoOf(await conn.readResponse()).target, '/continue');
        conn.write(request('/id?tag=after-continue'));
        assert.equal(echoOf(await conn.readResponse()).target, '/id?tag=after-continue');
      });
    });

    test('Expect: 100-continue: the 100 reaches the client, then its body reaches the destination', async () => {
      await withConn(lab, async (conn) => {
        conn.write(
          `POST http://${ORIGIN}/id?tag=expect HTTP/1.1\r\nHost: ${ORIGIN}\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n`,
        );
        assert.equal((await conn.readHead()).status, 100);
        conn.write('body');
        const echo = echoOf(await conn.readResponse());
        assert.deepEqual([echo.target, echo.body], ['/id?tag=expect', 'body']);
      });
    });

    test('a 101 nobody asked for gets 502; what follows it goes nowhere', async () => {
      await withConn(lab, async (conn) => {
        conn.write(request('/switch'));
        const response = await conn.readResponse();
        assert.equal(response.status, 502);
        assert.match(response.body, /switched protocols unasked/);
        conn.write(request('/id?tag=after-switch'));
        const echo = echoOf(await conn.readResponse());
        assert.equal(echo.target, '/id?tag=after-switch');
        assert.notEqual(echo.conn, origin.requests('/switch')[0]?.conn);
        await sleep(200);
        assert.equal(conn.pending, '');
      });
    });
  });

  describe('limits', () => {
    test('a response head bigger than 64 KiB gets 502', async () => {
      await withConn(lab, async (conn) => {
        conn.write(request('/big-head?bytes=100000'));
        const head = await conn.readHead();
        assert.equal(head.status, 502, `a ${100_000}-byte head went through: ${head.statusLine}`);
      });
    });
  });

  describe('malformed chunked request bodies', () => {
    const cases: [string, string, string][] = [
      ['a chunk size that is not hex', '5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n', ''],
      ['chunk data longer than its size', '3\r\nhello\r\n0\r\n\r\n', ''],
      ['a bare LF after the chunk size', '5\nhello\r\n0\r\n\r\n', ''],
      [
        'a chunk size that is not hex, after a first chunk went through',
        '5\r\nhello\r\n',
        'zz\r\nworld\r\n0\r\n\r\n',
      ],
    ];
    cases.forEach(([what, first, later], i) => {
      test(`${what}: 400, and the request never reaches the destination complete`, async () => {
        await withConn(lab, async (conn) => {
          const tag = `bad-body-${i}`;
          conn.write(
            `POST http://${ORIGIN}/id?tag=${tag} HTTP/1.1\r\nHost: ${ORIGIN}\r\nTransfer-Encoding: chunked\r\n\r\n${first}`,
          );
          if (later !== '') {
            await sleep(300);
            conn.write(later);
          }
          const response = await conn.readResponse();
          assert.equal(response.status, 400);
          assert.match(response.body, /malformed chunked body/);
          assert.notEqual(await conn.closed(2000), undefined, 'the client connection is closed');
          await sleep(200);
          assert.deepEqual(origin.requests(`tag=${tag}`), [], 'no complete request reached the destination');
        });
      });
    });
  });

  describe('kept-alive destination connections', () => {
    test('a destination that closed a kept-alive connection: the next bodyless GET is retried once, on a new connection', async () => {
      await withConn(lab, async (conn) => {
        conn.write(request('/close-next?tag=retry'));
        const closing = echoOf(await conn.readResponse());
        conn.write(request('/id?tag=retried'));
        const echo = echoOf(await conn.readResponse());
        assert.equal(echo.target, '/id?tag=retried');
        assert.notEqual(echo.conn, closing.conn);
        assert.equal(origin.requests('tag=retried').length, 1);
      });
    });

    test('a POST on such a connection is not sent again: 502', async () => {
      await withConn(lab, async (conn) => {
        conn.write(request('/close-next?tag=no-retry'));
        echoOf(await conn.readResponse());
        conn.write(request('/id?tag=post-once', { method: 'POST', body: 'once' }));
        const response = await conn.readResponse();
        assert.equal(response.status, 502);
        await sleep(200);
        const heads = origin.events().filter((e) => e.target === '/id?tag=post-once');
        assert.deepEqual(heads, [], 'the POST was not sent on another connection');
      });
    });

    test('a response completed while its client is backed up does not leave a paused connection in the pool', async () => {
      // The client does not read: its socket backs up with responses the destination closes after
      // (never pooled), and the proxy stops serving it. Then it reads them all; while it catches up,
      // responses complete while it is still backed up, the last one on a kept-alive connection,
      // which goes back to the pool; the next request on it must be answered.
      const backedUp = await lab.connect();
      try {
        backedUp.socket.pause();
        const fills = Array.from({ length: 600 }, () => request('/fill?bytes=4000&tag=quiet-fill')).join('');
        backedUp.write(`${fills}${request('/id?tag=last-while-backed-up', { authority: ORIGIN_POOL })}`);
        await sleep(1500);
        const servedWhileBackedUp = await origin.count('quiet-fill');
        assert.ok(
          servedWhileBackedUp < 600,
          `served ${servedWhileBackedUp} of 600 to a client that reads nothing`,
        );
        backedUp.socket.resume();
        const deadline = Date.now() + 10_000;
        while (origin.requests('tag=last-while-backed-up').length === 0 && Date.now() < deadline)
          await sleep(50);
        assert.equal(
          origin.requests('tag=last-while-backed-up').length,
          1,
          `the destination answered (it got ${await origin.count('quiet-fill')} of the 600 first)`,
        );
        await sleep(300);
        const started = Date.now();
        const response = await withConn(lab, async (conn) => {
          conn.write(request('/id?tag=next-on-pool', { authority: ORIGIN_POOL }));
          return conn.readResponse(RESPONSE_TIMEOUT_MS + 1000);
        });
        const took = Date.now() - started;
        const last = origin.requests('tag=last-while-backed-up')[0]?.conn;
        const next = origin.requests('tag=next-on-pool').map((e) => e.conn);
        assert.equal(
          response.status,
          200,
          `${response.statusLine} after ${took} ms; the destination got it on connection ${next} (the backed-up client's was ${last}) and answered at once`,
        );
      } finally {
        backedUp.destroy();
      }
    });
  });

  describe('request smuggling through hop-by-hop headers', () => {
    test('Connection naming Content-Length cannot turn a request body into a request of its own', async () => {
      // The body is a request; if the proxy dropped the Content-Length it frames the body by, the
      // destination would read the body as a second request on a pooled connection, and answer it to
      // whoever's request comes next on that connection.
      const smuggled = `GET /delay?ms=400&tag=smuggled HTTP/1.1\r\nHost: ${ORIGIN_SMUGGLE}\r\n\r\n`;
      const attacker = await withConn(lab, async (conn) => {
        conn.write(
          request('/id?tag=carrier', {
            method: 'POST',
            authority: ORIGIN_SMUGGLE,
            headers: 'Connection: keep-alive, Content-Length\r\n',
            body: smuggled,
          }),
        );
        return conn.readResponse();
      });
      const victim = await withConn(lab, async (conn) => {
        conn.write(request('/id?tag=victim', { authority: ORIGIN_SMUGGLE }));
        return conn.readResponse();
      });
      await sleep(600);
      const seen = {
        carrierBody: attacker.status === 200 ? echoOf(attacker).body : undefined,
        victimTarget: victim.status === 200 ? echoOf(victim).target : victim.status,
        smuggledRequests: origin.requests('tag=smuggled').length,
      };
      assert.deepEqual(seen, {
        carrierBody: attacker.status === 200 ? smuggled : undefined,
        victimTarget: '/id?tag=victim',
        smuggledRequests: 0,
      });
    });
  });

  describe("the proxy's own answers", () => {
    test('a 403 quoting a rule written in Unicode is framed by the bytes sent: the next answer on the connection is intact', async () => {
      await withConn(lab, async (conn) => {
        conn.write(
          request('/', { authority: 'www.xn--bcher-kva.test' }) + request('/id?tag=after-unicode-403'),
        );
        const denied = await conn.readResponse();
        assert.equal(denied.status, 403);
        const next = await conn.readResponse();
        assert.deepEqual(
          {
            denied: Buffer.from(denied.body, 'latin1').toString('utf8'),
            next: next.statusLine,
          },
          { denied: "egress-router: denied by rule 1 '!*.bücher.test'\n", next: 'HTTP/1.1 200 OK' },
        );
        assert.equal(echoOf(next).target, '/id?tag=after-unicode-403');
      });
    });
  });

  describe('HTTP/1.0 clients and slow uploads', () => {
    test('an HTTP/1.0 client never gets chunked framing it cannot read', async () => {
      const response = await withConn(lab, async (conn) => {
        conn.write(request('/chunked', { version: '1.0' }));
        return conn.readResponse();
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers['transfer-encoding'], undefined, JSON.stringify(response.headers));
      assert.equal(response.body, 'hello');
    });

    test('an HTTP/1.0 client gets no interim response it cannot tell from the final one', async () => {
      const response = await withConn(lab, async (conn) => {
        conn.write(request('/continue', { version: '1.0' }));
        return conn.readResponse();
      });
      assert.equal(response.status, 200, response.statusLine);
      assert.equal((JSON.parse(response.body) as OriginEcho).target, '/continue');
    });

    test('an upload that takes longer than the response timeout is not cut off', async () => {
      await withConn(lab, async (conn) => {
        const piece = '0123456789';
        const pieces = 10;
        conn.write(
          `POST http://${ORIGIN}/id?tag=slow-upload HTTP/1.1\r\nHost: ${ORIGIN}\r\nContent-Length: ${piece.length * pieces}\r\n\r\n`,
        );
        for (let i = 0; i < pieces && !conn.ended; i++) {
          await sleep((RESPONSE_TIMEOUT_MS * 1.5) / pieces);
          conn.write(piece);
        }
        const response = await conn.readResponse();
        assert.equal(response.status, 200, `${response.statusLine} ${response.body}`);
        assert.equal(echoOf(response).body, piece.repeat(pieces));
      });
    });
  });
});
