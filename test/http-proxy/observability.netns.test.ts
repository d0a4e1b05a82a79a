import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  connectRequest,
  getRequest,
  type LogLine,
  ProxyLab,
  type RunningProxy,
  skipReason,
  sleep,
} from './_proxy-lab.js';

const skip = skipReason();

/** A log line without the fields that vary (time, duration), with `ms` checked to be a duration. */
function stable(line: LogLine): Record<string, unknown> {
  const { level, time, ms, ...rest } = line;
  assert.equal(level, 30);
  assert.equal(typeof time, 'number');
  assert.ok(typeof ms === 'number' && ms >= 0, `ms is a duration: ${ms}`);
  return rest;
}

// One JSON line per request or tunnel with what an operator needs, Prometheus metrics, probes.
describe('http-proxy: logs, metrics and probes', { skip }, () => {
  let lab: ProxyLab;
  let proxy: RunningProxy;
  const client = '10.128.0.10';
  const base = { name: 'egress-http-proxy', client };
  before(async () => {
    lab = await ProxyLab.create('obs');
    proxy = await lab.startProxy({ EGRESS_HTTP_PROXY_DESTINATION: '!denied.test\nallowed.test\n*' });
  });
  after(async () => {
    await lab?.destroy();
  });

  /** Sends `request` on a new connection; returns the response and the request's one log line. */
  async function exchange(request: string) {
    const logged = proxy.requestLogs().length;
    const response = await lab.raw(request);
    const line = await proxy.requestLog(logged);
    await sleep(50);
    assert.equal(proxy.requestLogs().length, logged + 1, 'exactly one line');
    return { response, line: stable(line) };
  }

  test('an allowed HTTP request: one line with every field, bytes counted both ways', async () => {
    const body = 'z'.repeat(1000);
    const { response, line } = await exchange(
      `POST http://allowed.test/upload HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.equal(response.status, 200);
    assert.deepEqual(line, {
      ...base,
      kind: 'http',
      method: 'POST',
      host: 'allowed.test',
      port: 80,
      address: '203.0.113.25',
      rule: 2,
      reason: "allowed by rule 2 'allowed.test'",
      decision: 'allow',
      status: 200,
      bytes_in: 1000,
      bytes_out: Buffer.byteLength(response.body),
      msg: 'request',
    });
  });

  test('a chunked request and a chunked response: the bytes are counted, not taken from Content-Length', async () => {
    const { response, line } = await exchange(
      'POST http://www.allowed.test:8080/big?bytes=100000 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    );
    assert.equal(response.status, 200);
    assert.equal(response.body.length, 100_000);
    assert.deepEqual(line, {
      ...base,
      kind: 'http',
      method: 'POST',
      host: 'www.allowed.test:8080',
      port: 8080,
      address: '203.0.113.25',
      reason: "allowed by the final '*'",
      decision: 'allow',
      status: 200,
      bytes_in: 5,
      bytes_out: 100_000,
      msg: 'request',
    });
  });

  test('a denied HTTP request: the rule that denied it, no address', async () => {
    const { response, line } = await exchange(getRequest('http://denied.test/'));
    assert.equal(response.status, 403);
    assert.deepEqual(line, {
      ...base,
      kind: 'http',
      method: 'GET',
      host: 'denied.test',
      port: 80,
      rule: 1,
      reason: "denied by rule 1 '!denied.test'",
      decision: 'deny',
      status: 403,
      bytes_in: 0,
      bytes_out: 0,
      error: "denied by rule 1 '!denied.test'",
      msg: 'request',
    });
  });

  test('an invalid request and a name that does not resolve', async () => {
    const invalid = await exchange(getRequest('http://[denied.test]/'));
    assert.equal(invalid.response.status, 400);
    assert.deepEqual(invalid.line, {
      ...base,
      kind: 'http',
      method: 'GET',
      decision: 'invalid',
      status: 400,
      bytes_in: 0,
      bytes_out: 0,
      error: 'brackets are only for IPv6 addresses',
      msg: 'request',
    });
    const unresolved = await exchange(getRequest('http://nothing.test/'));
    assert.equal(unresolved.response.status, 502);
    assert.deepEqual(unresolved.line, {
      ...base,
      kind: 'http',
      method: 'GET',
      host: 'nothing.test',
      port: 80,
      decision: 'unresolved',
      status: 502,
      bytes_in: 0,
      bytes_out: 0,
      error: "cannot resolve 'nothing.test': ENOTFOUND",
      msg: 'request',
    });
  });

  test('a tunnel: one line when it closes, with the bytes each way', async () => {
    const logged = proxy.requestLogs().length;
    const conn = await lab.connect();
    try {
      conn.write(connectRequest('allowed.test:7'));
      await conn.readUntil('\r\n\r\n');
      conn.write('x'.repeat(100));
      await conn.read(100);
      assert.equal(proxy.requestLogs().length, logged, 'no line while the tunnel is open');
      conn.end();
      assert.equal(await conn.closed(3000), 'EOF 100\n');
    } finally {
      conn.destroy();
    }
    assert.deepEqual(stable(await proxy.requestLog(logged)), {
      ...base,
      kind: 'connect',
      method: 'CONNECT',
      host: 'allowed.test:7',
      port: 7,
      address: '203.0.113.25',
      rule: 2,
      reason: "allowed by rule 2 'allowed.test'",
      decision: 'allow',
      status: 200,
      bytes_in: 100,
      bytes_out: 108,
      msg: 'tunnel',
    });
  });

  test('a denied tunnel', async () => {
    const { response, line } = await exchange(connectRequest('denied.test:443'));
    assert.equal(response.status, 403);
    assert.deepEqual(line, {
      ...base,
      kind: 'connect',
      method: 'CONNECT',
      host: 'denied.test:443',
      port: 443,
      rule: 1,
      reason: "denied by rule 1 '!denied.test'",
      decision: 'deny',
      status: 403,
      bytes_in: 0,
      bytes_out: 0,
      error: "denied by rule 1 '!denied.test'",
      msg: 'tunnel',
    });
  });

  test('a client that goes away in the middle of a response: one line, with what was sent', async () => {
    const logged = proxy.requestLogs().length;
    const conn = await lab.connect();
    conn.write(getRequest('http://allowed.test/drip?ms=3000'));
    await conn.readUntil('first\n');
    conn.destroy();
    const line = stable(await proxy.requestLog(logged));
    assert.deepEqual(
      [line.status, line.decision, line.bytes_out, line.error],
      [200, 'allow', 6, 'the client closed the connection before the response was complete'],
    );
  });

  test('/healthz and /readyz answer on the admin port; other paths and methods do not', async () => {
    assert.deepEqual(await lab.admin('/healthz'), { status: 200, body: 'ok\n' });
    assert.deepEqual(await lab.admin('/readyz'), { status: 200, body: 'ready\n' });
    assert.deepEqual(await lab.admin('/nothing'), { status: 404, body: 'not found\n' });
  });

  test('/metrics counts requests by kind, decision and status, bytes, tunnels and rules', async () => {
    const { status, body } = await lab.admin('/metrics');
    assert.equal(status, 200);
    const value = (series: string) => {
      const match = new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(body);
      return match ? Number(match[1]) : undefined;
    };
    assert.equal(value('egress_http_proxy_requests_total{kind="http",decision="allow",status="200"}'), 3);
    assert.equal(value('egress_http_proxy_requests_total{kind="http",decision="deny",status="403"}'), 1);
    assert.equal(value('egress_http_proxy_requests_total{kind="http",decision="invalid",status="400"}'), 1);
    assert.equal(
      value('egress_http_proxy_requests_total{kind="http",decision="unresolved",status="502"}'),
      1,
    );
    assert.equal(value('egress_http_proxy_requests_total{kind="connect",decision="allow",status="200"}'), 1);
    assert.equal(value('egress_http_proxy_requests_total{kind="connect",decision="deny",status="403"}'), 1);
    assert.equal(value('egress_http_proxy_bytes_total{direction="to_upstream"}'), 1000 + 5 + 100);
    assert.ok((value('egress_http_proxy_bytes_total{direction="to_client"}') ?? 0) > 100_000 + 108);
    assert.equal(value('egress_http_proxy_open_tunnels'), 0);
    assert.equal(value('egress_http_proxy_policy_rules'), 2);
    assert.match(body, /^process_cpu_seconds_total /m, "Node's process metrics too");
  });
});
