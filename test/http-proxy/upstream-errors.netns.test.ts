import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectRequest, getRequest, ProxyLab, type RunningProxy, skipReason } from './_proxy-lab.js';

const skip = skipReason();

// What a client gets when the destination cannot be had: 502 when the name does not resolve or the
// destination refuses or is unreachable, 504 when it does not answer in time.
describe('http-proxy: destination failures', { skip }, () => {
  let lab: ProxyLab;
  let proxy: RunningProxy;
  before(async () => {
    lab = await ProxyLab.create('ups');
    proxy = await lab.startProxy({
      EGRESS_HTTP_PROXY_DESTINATION: '*',
      EGRESS_HTTP_PROXY_CONNECT_TIMEOUT_MS: '400',
      EGRESS_HTTP_PROXY_RESPONSE_TIMEOUT_MS: '1200',
    });
  });
  after(async () => {
    await lab?.destroy();
  });

  const cases: [string, string, number, string, [number, number]][] = [
    [
      'HTTP to a name that does not resolve',
      getRequest('http://nothing.test/'),
      502,
      "cannot resolve 'nothing.test': ENOTFOUND",
      [0, 1000],
    ],
    [
      'CONNECT to a name that does not resolve',
      connectRequest('nothing.test:443'),
      502,
      "cannot resolve 'nothing.test': ENOTFOUND",
      [0, 1000],
    ],
    [
      'HTTP to a closed port',
      getRequest('http://allowed.test:9/'),
      502,
      'allowed.test:9: ECONNREFUSED',
      [0, 1000],
    ],
    [
      'CONNECT to a closed port',
      connectRequest('allowed.test:9'),
      502,
      'connecting to 203.0.113.25:9 failed: ECONNREFUSED',
      [0, 1000],
    ],
    [
      'HTTP to an unreachable address',
      getRequest('http://unreachable.test/'),
      502,
      'unreachable.test: EHOSTUNREACH',
      [0, 1000],
    ],
    [
      'CONNECT to an unreachable address',
      connectRequest('198.51.100.1:443'),
      502,
      'connecting to 198.51.100.1:443 failed: EHOSTUNREACH',
      [0, 1000],
    ],
    [
      'HTTP to an address that never answers',
      getRequest('http://blackhole.test/'),
      504,
      'connecting to blackhole.test timed out',
      [350, 1500],
    ],
    [
      'CONNECT to an address that never answers',
      connectRequest('blackhole.test:443'),
      504,
      'connecting to 198.51.100.129:443 timed out after 400 ms',
      [350, 1500],
    ],
    [
      'HTTP to a server that never responds',
      getRequest('http://allowed.test/hang'),
      504,
      'allowed.test did not answer in time',
      [1100, 2500],
    ],
    [
      'HTTP to a server slower than the response timeout',
      getRequest('http://allowed.test/slow?ms=2000'),
      504,
      'allowed.test did not answer in time',
      [1100, 2500],
    ],
  ];
  for (const [what, request, status, message, [least, most]] of cases) {
    test(`${what}: ${status}`, async () => {
      const logged = proxy.requestLogs().length;
      const started = Date.now();
      const response = await lab.raw(request);
      const took = Date.now() - started;
      assert.equal(response.status, status, response.body);
      assert.equal(response.body, `egress-router: ${message}\n`);
      assert.ok(took >= least && took <= most, `answered after ${took} ms, expected ${least}-${most}`);
      const line = await proxy.requestLog(logged);
      assert.equal(line.status, status);
      assert.equal(line.error, message);
      assert.equal(
        line.decision,
        status === 502 && message.startsWith('cannot resolve') ? 'unresolved' : 'allow',
      );
    });
  }

  test('a slow answer within the response timeout is not cut short, on a new or a reused connection', async () => {
    const conn = await lab.connect();
    try {
      for (const path of ['/slow?ms=800', '/slow?ms=800']) {
        conn.write(`GET http://allowed.test${path} HTTP/1.1\r\nHost: allowed.test\r\n\r\n`);
        const response = await conn.readResponse(5000);
        assert.equal(response.status, 200, response.body);
      }
    } finally {
      conn.destroy();
    }
  });
});
