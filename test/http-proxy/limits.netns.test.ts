import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type Conn,
  connectRequest,
  getRequest,
  PROXY4,
  ProxyLab,
  type RunningProxy,
  skipReason,
  sleep,
} from './_proxy-lab.js';

const skip = skipReason();

/** Milliseconds from `started` until the proxy closes `conn`, or undefined when it stays open for `timeoutMs`. */
async function closesAfter(conn: Conn, started: number, timeoutMs: number): Promise<number | undefined> {
  const rest = await conn.closed(timeoutMs);
  return rest === undefined ? undefined : Date.now() - started;
}

// The hardening limits, each set small through its EGRESS_HTTP_PROXY_* variable.
describe('http-proxy limits', { skip }, () => {
  let lab: ProxyLab;
  let proxy: RunningProxy;
  before(async () => {
    lab = await ProxyLab.create('lim');
    proxy = await lab.startProxy({
      EGRESS_HTTP_PROXY_DESTINATION: '*',
      EGRESS_HTTP_PROXY_HEADERS_TIMEOUT_MS: '500',
      EGRESS_HTTP_PROXY_REQUEST_TIMEOUT_MS: '1000',
      EGRESS_HTTP_PROXY_KEEPALIVE_TIMEOUT_MS: '500',
      EGRESS_HTTP_PROXY_MAX_HEADER_BYTES: '2048',
      EGRESS_HTTP_PROXY_IDLE_TIMEOUT_MS: '1000',
    });
  });
  after(async () => {
    await lab?.destroy();
  });

  test('a client that does not finish its request head in time gets 408 and is closed', async () => {
    const conn = await lab.connect();
    try {
      const started = Date.now();
      conn.write('GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n');
      const response = await conn.readResponse(4000);
      assert.equal(response.status, 408);
      const took = await closesAfter(conn, started, 1000);
      assert.ok(took !== undefined && took >= 400 && took <= 2500, `closed after ${took} ms`);
    } finally {
      conn.destroy();
    }
  });

  test('a client that trickles its head one header at a time is cut off all the same', async () => {
    const conn = await lab.connect();
    try {
      const started = Date.now();
      conn.write('GET http://allowed.test/ HTTP/1.1\r\n');
      for (let i = 0; i < 8 && !conn.ended; i++) {
        await sleep(250);
        conn.write(`X-Slow-${i}: ${i}\r\n`);
      }
      const response = await conn.readResponse(4000);
      assert.equal(response.status, 408);
      const took = await closesAfter(conn, started, 1000);
      assert.ok(took !== undefined && took <= 3000, `closed after ${took} ms`);
    } finally {
      conn.destroy();
    }
  });

  test('a client that does not finish its request body in time is closed; one log line says so', async () => {
    const conn = await lab.connect();
    try {
      const started = Date.now();
      const logged = proxy.requestLogs().length;
      conn.write(
        'POST http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: 100\r\n\r\n0123456789',
      );
      const took = await closesAfter(conn, started, 5000);
      assert.ok(took !== undefined && took >= 900 && took <= 3000, `closed after ${took} ms`);
      const line = await proxy.requestLog(logged);
      assert.deepEqual([line.status, line.error, line.bytes_in], [408, 'ERR_HTTP_REQUEST_TIMEOUT', 10]);
      await sleep(300);
      assert.equal(proxy.requestLogs().length, logged + 1, 'one line for the request');
    } finally {
      conn.destroy();
    }
  });

  test('a request head over the size limit gets 431', async () => {
    const logged = proxy.requestLogs().length;
    const response = await lab.raw(
      getRequest('http://allowed.test/', undefined, `X-Big: ${'b'.repeat(3000)}\r\n`),
    );
    assert.equal(response.status, 431);
    const line = await proxy.requestLog(logged);
    assert.deepEqual([line.status, line.error], [431, 'HPE_HEADER_OVERFLOW']);
    const small = await lab.raw(
      getRequest('http://allowed.test/', undefined, `X-Big: ${'b'.repeat(1000)}\r\n`),
    );
    assert.equal(small.status, 200, 'a head under the limit passes');
    assert.equal((await proxy.requestLog(logged + 1)).status, 200);
  });

  const smuggling: [string, string][] = [
    ['Content-Length with Transfer-Encoding', 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n'],
    ['Transfer-Encoding with Content-Length', 'Transfer-Encoding: chunked\r\nContent-Length: 5\r\n'],
    ['two different Content-Lengths', 'Content-Length: 5\r\nContent-Length: 6\r\n'],
    ['a Content-Length list', 'Content-Length: 5, 6\r\n'],
    ['chunked not the last transfer coding', 'Transfer-Encoding: chunked, identity\r\n'],
    ['a space before the colon', 'Content-Length : 5\r\n'],
    ['an obsolete line folding', 'X-Folded: a\r\n b\r\nContent-Length: 5\r\n'],
  ];
  for (const [what, headers] of smuggling) {
    test(`a request with ${what} gets 400 and is never forwarded`, async () => {
      const logged = proxy.requestLogs().length;
      const response = await lab.raw(
        `POST http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n${headers}\r\n0\r\n\r\nhello`,
      );
      assert.equal(response.status, 400, response.statusLine);
      const line = await proxy.requestLog(logged);
      assert.equal(line.decision, 'invalid');
      assert.equal(line.address, undefined);
    });
  }

  test('an idle tunnel is closed after the idle timeout; a busy one stays open past it and past the request timeout', async () => {
    const idle = await lab.connect();
    const busy = await lab.connect();
    try {
      for (const conn of [idle, busy]) {
        conn.write(connectRequest('allowed.test:7'));
        assert.equal(await conn.readUntil('\r\n\r\n'), 'HTTP/1.1 200 Connection established\r\n\r\n');
      }
      const started = Date.now();
      const idleClosed = closesAfter(idle, started, 4000);
      while (Date.now() - started < 2000) {
        busy.write('ping\n');
        assert.equal(await busy.read(5), 'ping\n');
        await sleep(200);
      }
      const took = await idleClosed;
      assert.ok(took !== undefined && took >= 900 && took <= 2500, `idle tunnel closed after ${took} ms`);
      assert.ok(!busy.ended, 'the busy tunnel is still open after 2 s');
    } finally {
      idle.destroy();
      busy.destroy();
    }
  });

  test('an idle keep-alive client connection is closed after the keep-alive timeout', async () => {
    const conn = await lab.connect();
    try {
      conn.write('GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n');
      assert.equal((await conn.readResponse()).status, 200);
      const started = Date.now();
      const took = await closesAfter(conn, started, 4000);
      assert.ok(took !== undefined && took >= 400 && took <= 2000, `closed after ${took} ms`);
    } finally {
      conn.destroy();
    }
  });

  describe('the connection limit', () => {
    let limited: RunningProxy;
    const PORT = 8081;
    before(async () => {
      limited = await lab.startProxy({
        EGRESS_HTTP_PROXY_DESTINATION: '*',
        EGRESS_HTTP_PROXY_PORT: String(PORT),
        EGRESS_HTTP_PROXY_ADMIN_PORT: '0',
        EGRESS_HTTP_PROXY_MAX_CONNECTIONS: '2',
      });
    });
    after(async () => {
      await limited?.stop();
    });

    test('connections over the limit are closed at once; those within it keep working; a freed slot is used again', async () => {
      const first = await lab.connect(PROXY4, PORT);
      const second = await lab.connect(PROXY4, PORT);
      const opened: Conn[] = [first, second];
      try {
        for (const conn of [first, second]) {
          conn.write(connectRequest('allowed.test:7'));
          await conn.readUntil('\r\n\r\n');
        }
        const third = await lab.connect(PROXY4, PORT);
        opened.push(third);
        third.write(connectRequest('allowed.test:7'));
        assert.equal(await third.closed(2000), '', 'closed without an answer');
        for (const conn of [first, second]) {
          conn.write('still\n');
          assert.equal(await conn.read(6), 'still\n');
        }
        first.destroy();
        await sleep(200);
        const fourth = await lab.connect(PROXY4, PORT);
        opened.push(fourth);
        fourth.write(connectRequest('allowed.test:7'));
        assert.equal(await fourth.readUntil('\r\n\r\n'), 'HTTP/1.1 200 Connection established\r\n\r\n');
      } finally {
        for (const conn of opened) conn.destroy();
      }
    });
  });
});
