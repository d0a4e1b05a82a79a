import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  connectRequest,
  echoHeaders,
  getRequest,
  PROXY_PORT,
  PROXY4,
  ProxyLab,
  type RunningProxy,
  skipReason,
} from './_proxy-lab.js';
import type { HttpEcho } from './_servers.js';

const skip = skipReason();
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

// What a client sees of the proxy's HTTP: CONNECT tunnels and absolute-URI forwarding.
describe('http-proxy protocol', { skip }, () => {
  let lab: ProxyLab;
  let proxy: RunningProxy;
  before(async () => {
    lab = await ProxyLab.create('pro');
    proxy = await lab.startProxy({ EGRESS_HTTP_PROXY_DESTINATION: '!203.0.113.27\n*' });
  });
  after(async () => {
    await lab?.destroy();
  });

  describe('CONNECT tunnels', () => {
    test('CONNECT answers "HTTP/1.1 200 Connection established", then relays bytes both ways', async () => {
      const conn = await lab.connect();
      try {
        conn.write(connectRequest('allowed.test:7'));
        assert.equal(await conn.readUntil('\r\n\r\n'), 'HTTP/1.1 200 Connection established\r\n\r\n');
        conn.write('hello\n');
        assert.equal(await conn.read(6), 'hello\n');
        // Random bytes: an upload this large is read into a buffer of the proxy's own (readInBulk),
        // and a chunk overwritten before it was sent would show here.
        const big = randomBytes(4 * 1024 * 1024);
        conn.write(big);
        assert.equal(sha256(Buffer.from(await conn.read(big.length, 10_000), 'latin1')), sha256(big));
      } finally {
        conn.destroy();
      }
    });

    test('CONNECT respects half-close: the client FIN reaches the server, whose answer still comes back', async () => {
      const conn = await lab.connect();
      try {
        conn.write(connectRequest('allowed.test:7'));
        await conn.readUntil('\r\n\r\n');
        conn.write('one\ntwo\n');
        assert.equal(await conn.read(8), 'one\ntwo\n');
        conn.end();
        // The echo server answers the FIN with a count, then closes.
        assert.equal(await conn.closed(5000), 'EOF 8\n');
      } finally {
        conn.destroy();
      }
    });

    test('CONNECT relays bytes sent together with the request', async () => {
      const conn = await lab.connect();
      try {
        conn.write(`${connectRequest('allowed.test:7')}early bytes\n`);
        assert.equal(await conn.readUntil('\r\n\r\n'), 'HTTP/1.1 200 Connection established\r\n\r\n');
        assert.equal(await conn.read(12), 'early bytes\n');
      } finally {
        conn.destroy();
      }
    });

    test('curl tunnels plain HTTP through CONNECT (-p)', async () => {
      const result = await lab.curl(['-p', 'http://allowed.test/tunnelled']);
      assert.equal(result.connectStatus, 200);
      assert.equal(result.status, 200);
      const echo = JSON.parse(result.body) as HttpEcho;
      assert.equal(echo.url, '/tunnelled');
      assert.equal(echo.peer, '192.168.12.99');
      assert.equal(echoHeaders(echo).via, undefined, 'a tunnel is not touched');
    });
  });

  describe('absolute-URI HTTP forwarding', () => {
    test('GET: origin-form path and query upstream, Host from the target, Via added', async () => {
      const echo = await lab.curlEcho([
        '-H',
        'User-Agent: test-agent',
        'http://allowed.test/some/path?q=1&r',
      ]);
      assert.equal(echo.method, 'GET');
      assert.equal(echo.url, '/some/path?q=1&r');
      assert.equal(echo.httpVersion, '1.1');
      const headers = echoHeaders(echo);
      assert.equal(headers.host, 'allowed.test');
      assert.equal(headers.via, '1.1 egress-router');
      assert.equal(headers['user-agent'], 'test-agent');
      assert.equal(headers['proxy-connection'], undefined);
    });

    test('Host carries a port that is not the default, and the request reaches that port', async () => {
      const echo = await lab.curlEcho(['http://allowed.test:8080/']);
      assert.equal(echoHeaders(echo).host, 'allowed.test:8080');
      assert.equal(echo.localPort, 8080);
      const v6 = await lab.curlEcho(['http://[2001:db8:113::25]:8080/']);
      assert.equal(echoHeaders(v6).host, '[2001:db8:113::25]:8080');
      assert.equal(v6.local, '2001:db8:113::25');
    });

    test('hop-by-hop request headers are removed, end-to-end ones kept, Via appended', async () => {
      const response = await lab.raw(
        getRequest(
          'http://allowed.test/hop-by-hop',
          undefined,
          [
            'X-Drop-Me: listed in Connection',
            'Keep-Alive: timeout=300',
            'Proxy-Connection: keep-alive',
            'Proxy-Authorization: Basic Zm9vOmJhcg==',
            'TE: trailers',
            'X-Keep: yes',
            'Via: 1.0 client-side',
            'Connection: X-Drop-Me',
            '',
          ].join('\r\n'),
        ),
      );
      assert.equal(response.status, 200);
      const headers = echoHeaders(JSON.parse(response.body) as HttpEcho);
      for (const name of ['x-drop-me', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te']) {
        assert.equal(headers[name], undefined, name);
      }
      assert.equal(headers['x-keep'], 'yes');
      assert.equal(headers.via, '1.0 client-side, 1.1 egress-router');
    });

    test('hop-by-hop response headers are removed, end-to-end ones kept, Via added', async () => {
      const response = await lab.raw(getRequest('http://allowed.test/hop'));
      assert.equal(response.status, 200);
      assert.equal(response.headers['x-end-to-end'], 'kept');
      assert.equal(response.headers['x-hop'], undefined);
      assert.equal(response.headers['proxy-authenticate'], undefined);
      assert.equal(response.headers.via, '1.1 egress-router');
    });

    test('keep-alive on both sides: requests on one client connection share one upstream connection', async () => {
      const conn = await lab.connect();
      try {
        const peers: number[] = [];
        for (const path of ['/first', '/second', '/third']) {
          conn.write(`GET http://allowed.test${path} HTTP/1.1\r\nHost: allowed.test\r\n\r\n`);
          const response = await conn.readResponse();
          assert.equal(response.status, 200);
          const echo = JSON.parse(response.body) as HttpEcho;
          assert.equal(echo.url, path);
          peers.push(echo.peerPort);
          assert.ok(!conn.ended, 'the client connection stays open');
        }
        assert.equal(new Set(peers).size, 1, `one upstream connection: ${peers}`);
      } finally {
        conn.destroy();
      }
    });

    test('a large request body with Content-Length is streamed through unchanged', async () => {
      const body = 'y'.repeat(5 * 1024 * 1024);
      const result = await lab.lab.exec(
        'client',
        'curl',
        ['-sS', '-x', `http://${PROXY4}:${PROXY_PORT}`, '--data-binary', '@-', 'http://allowed.test/upload'],
        { input: body, timeoutMs: 20_000 },
      );
      const echo = JSON.parse(result.stdout) as HttpEcho;
      assert.equal(echo.method, 'POST');
      assert.equal(echo.bodyBytes, body.length);
      assert.equal(echo.bodySha256, sha256(body));
      assert.equal(echoHeaders(echo)['content-length'], String(body.length));
    });

    test('a chunked request body stays chunked upstream', async () => {
      const chunks = ['first part,', 'second part,', 'x'.repeat(70_000)];
      const body = chunks.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('');
      const response = await lab.raw(
        `POST http://allowed.test/chunked HTTP/1.1\r\nHost: allowed.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}0\r\n\r\n`,
      );
      assert.equal(response.status, 200);
      const echo = JSON.parse(response.body) as HttpEcho;
      assert.equal(echo.bodyBytes, chunks.join('').length);
      assert.equal(echo.bodySha256, sha256(chunks.join('')));
      assert.equal(echoHeaders(echo)['transfer-encoding'], 'chunked');
    });

    test('a chunked body on a GET is framed upstream, so it cannot smuggle a second request', async () => {
      const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: allowed.test\r\n\r\n';
      const conn = await lab.connect();
      try {
        conn.write(
          `GET http://allowed.test/carrier HTTP/1.1\r\nHost: allowed.test\r\nTransfer-Encoding: chunked\r\n\r\n${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`,
        );
        const first = JSON.parse((await conn.readResponse()).body) as HttpEcho;
        assert.equal(first.url, '/carrier');
        assert.equal(first.bodyBytes, smuggled.length, 'the body reached the server as a body');
        conn.write('GET http://allowed.test/next HTTP/1.1\r\nHost: allowed.test\r\n\r\n');
        const second = JSON.parse((await conn.readResponse()).body) as HttpEcho;
        assert.equal(second.url, '/next', 'the next answer is for the next request');
      } finally {
        conn.destroy();
      }
    });

    test('a large response body is streamed through unchanged', async () => {
      const result = await lab.lab.exec(
        'client',
        'curl',
        [
          '-sS',
          '-x',
          `http://${PROXY4}:${PROXY_PORT}`,
          '-o',
          '/dev/null',
          '-w',
          '%{http_code} %{size_download}',
          'http://allowed.test/big?bytes=30000000',
        ],
        { timeoutMs: 20_000 },
      );
      assert.equal(result.stdout, '200 30000000');
    });

    test('a response is streamed as it comes, not buffered', async () => {
      const conn = await lab.connect();
      try {
        const started = Date.now();
        conn.write(getRequest('http://allowed.test/drip?ms=1500'));
        await conn.readUntil('first\n', 1200);
        assert.ok(Date.now() - started < 1200, 'the first chunk arrives before the last is sent');
        await conn.readUntil('last\n', 3000);
      } finally {
        conn.destroy();
      }
    });

    test('HEAD, PUT, DELETE and OPTIONS are forwarded with their method', async () => {
      const head = await lab.curl(['-I', 'http://allowed.test/']);
      assert.equal(head.status, 200);
      for (const method of ['PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
        const echo = await lab.curlEcho(['-X', method, 'http://allowed.test/m']);
        assert.equal(echo.method, method);
      }
    });

    test('a request without Host is forwarded with Host from its target', async () => {
      const response = await lab.raw('GET http://allowed.test/nohost HTTP/1.1\r\nConnection: close\r\n\r\n');
      assert.equal(response.status, 200);
      assert.equal(echoHeaders(JSON.parse(response.body) as HttpEcho).host, 'allowed.test');
    });
  });

  describe('requests that are not proxy requests', () => {
    const cases: [string, string, number, string][] = [
      [
        'origin form',
        'GET /index.html HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n',
        400,
        'egress-router: not a proxy request: the request target is not an absolute http:// URI\n',
      ],
      [
        'asterisk form',
        'OPTIONS * HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n',
        400,
        'egress-router: not a proxy request: the request target is not an absolute http:// URI\n',
      ],
      [
        'https in absolute form',
        getRequest('https://allowed.test/'),
        400,
        "egress-router: scheme 'https' is not proxied: use CONNECT for HTTPS\n",
      ],
      [
        'a protocol upgrade',
        'GET http://allowed.test/ws HTTP/1.1\r\nHost: allowed.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
        501,
        'egress-router: protocol upgrades are not proxied; use CONNECT\n',
      ],
    ];
    for (const [what, request, status, body] of cases) {
      test(`${what} gets ${status}`, async () => {
        const response = await lab.raw(request);
        assert.equal(response.status, status);
        assert.equal(response.body, body);
      });
    }
  });

  describe('the proxy listens on both families', () => {
    test('a client reaches the proxy on its IPv6 pod address', async () => {
      const echo = await lab.curl(['http://allowed.test/'], { proxy: 'http://[fd00:128::2]:8080' });
      assert.equal(echo.status, 200);
      await proxy.waitForLog((line) => line.msg === 'request' && line.client === 'fd00:128::10');
    });
  });
});
