import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  connectRequest,
  echoHeaders,
  getRequest,
  HOSTS_ONLY_ADDRESS,
  HOSTS_ONLY_NAME,
  ProxyLab,
  type RunningProxy,
  skipReason,
} from './_proxy-lab.js';
import type { HttpEcho } from './_servers.js';

const skip = skipReason();

// Every way to name a denied destination so that the name a rule sees differs from the host the
// proxy would reach: case, dots, suffixes, resolution, brackets, userinfo, backslashes, two ports,
// and a Host header that disagrees with the request target.
describe('http-proxy: name bypass attempts', { skip }, () => {
  let lab: ProxyLab;
  let proxy: RunningProxy;
  const RULE_DOMAIN = "denied by rule 1 '!*.example.test'";
  const RULE_NAME = "denied by rule 2 '!denied.test'";
  const RULE_27 = "denied by rule 3 '!203.0.113.27'";
  before(async () => {
    lab = await ProxyLab.create('nam');
    proxy = await lab.startProxy({
      EGRESS_HTTP_PROXY_DESTINATION: '!*.example.test\n!denied.test\n!203.0.113.27\n*\n',
    });
  });
  after(async () => {
    await lab?.destroy();
  });

  async function send(request: string) {
    const logged = proxy.requestLogs().length;
    const response = await lab.raw(request);
    return { response, line: await proxy.requestLog(logged) };
  }

  const denied: [string, string, string][] = [
    ['a name under the denied domain', 'www.example.test', RULE_DOMAIN],
    ['the denied domain itself', 'example.test', RULE_DOMAIN],
    ['a name deep under the denied domain', 'deep.www.example.test', RULE_DOMAIN],
    ['upper case', 'WWW.EXAMPLE.TEST', RULE_DOMAIN],
    ['mixed case and a trailing dot', 'Www.Example.Test.', RULE_DOMAIN],
    ['a trailing dot', 'example.test.', RULE_DOMAIN],
    ['a name under the denied domain that does not resolve', 'nx.example.test', RULE_DOMAIN],
    ['a denied name in upper case', 'DENIED.TEST', RULE_NAME],
    ['a denied name with a trailing dot', 'denied.test.', RULE_NAME],
    ['a name that resolves into a denied address', 'into-denied.test', RULE_27],
    ['a name with one allowed and one denied address', 'both.test', RULE_27],
  ];
  for (const [what, host, reason] of denied) {
    test(`${what} (${host}) is denied, HTTP and CONNECT`, async () => {
      for (const request of [getRequest(`http://${host}/`), connectRequest(`${host}:443`)]) {
        const { response, line } = await send(request);
        assert.equal(response.status, 403, `${JSON.stringify(request)}: ${response.body}`);
        assert.equal(response.body, `egress-router: ${reason}\n`);
        assert.equal(line.decision, 'deny');
        assert.equal(line.address, undefined);
      }
    });
  }

  test('resolv.conf search domains never expand a name past a deny rule (deep -> deep.www.example.test)', async () => {
    for (const request of [getRequest('http://deep/'), connectRequest('deep:443')]) {
      const { response, line } = await send(request);
      assert.equal(response.status, 502, `${JSON.stringify(request)}: ${response.body}`);
      assert.match(response.body, /cannot resolve 'deep'/);
      assert.equal(line.address, undefined);
    }
  });

  test('a name from the hosts file (hostAliases) resolves, exactly', async () => {
    const { response, line } = await send(getRequest(`http://${HOSTS_ONLY_NAME}/`));
    assert.equal(response.status, 200, response.body);
    assert.equal(line.address, HOSTS_ONLY_ADDRESS);
  });

  test('a name that only ends with the denied domain (notexample.test) is not under it', async () => {
    const { response, line } = await send(getRequest('http://notexample.test/'));
    assert.equal(response.status, 200);
    assert.equal(line.reason, "allowed by the final '*'");
  });

  test('a name is resolved once per request, and the address checked is the address connected to', async () => {
    const before = lab.queries('allowed.test');
    const { response, line } = await send(getRequest('http://allowed.test/'));
    assert.equal(response.status, 200);
    assert.equal((JSON.parse(response.body) as HttpEcho).local, '203.0.113.25');
    assert.equal(line.address, '203.0.113.25');
    assert.equal(lab.queries('allowed.test'), before + 1, 'one A query');
  });

  // Refused when the head is read (backslashes and non-ASCII bytes are not URL characters), or by the
  // proxy's strict target parser; the reason in the body.
  const PARSER = 'malformed request target';
  const malformed: [string, string, string][] = [
    [
      'userinfo naming an allowed host before a denied one',
      getRequest('http://allowed.test@denied.test/'),
      'userinfo is not allowed in the request target',
    ],
    [
      'userinfo with a password',
      getRequest('http://allowed.test:80@denied.test/'),
      'userinfo is not allowed in the request target',
    ],
    ['a backslash before userinfo', getRequest('http://allowed.test\\@denied.test/'), PARSER],
    ['a backslash the other way round', getRequest('http://denied.test\\@allowed.test/'), PARSER],
    ['a backslash as a separator', getRequest('http://allowed.test\\.denied.test/'), PARSER],
    ['a full-width dot', getRequest('http://denied\u3002test/', 'x'), PARSER],
    ['a bracketed name', getRequest('http://[denied.test]/'), 'brackets are only for IPv6 addresses'],
    [
      'a bracketed name under a denied domain',
      getRequest('http://[www.example.test]/'),
      'brackets are only for IPv6 addresses',
    ],
    [
      'two ports',
      getRequest('http://denied.test:80:80/'),
      'more than one port, or an IPv6 address without brackets',
    ],
    ['a percent-encoded dot', getRequest('http://denied%2etest/'), 'invalid character in the host'],
    [
      'CONNECT to a bracketed name',
      connectRequest('[denied.test]:443'),
      'brackets are only for IPv6 addresses',
    ],
    [
      'CONNECT with userinfo',
      connectRequest('allowed.test@denied.test:443'),
      'userinfo is not allowed in the request target',
    ],
    ['CONNECT with a backslash', connectRequest('allowed.test\\@denied.test:443'), PARSER],
    [
      'CONNECT with two ports',
      connectRequest('denied.test:443:443'),
      'more than one port, or an IPv6 address without brackets',
    ],
    [
      'CONNECT with a path after an allowed name',
      connectRequest('allowed.test/.denied.test:443'),
      'invalid character in the host',
    ],
    ['CONNECT without a port', connectRequest('denied.test'), 'the port is missing'],
  ];
  for (const [what, request, reason] of malformed) {
    test(`${what} is refused as a bad request (400), never forwarded`, async () => {
      const logged = proxy.requestLogs().length;
      const conn = await lab.connect();
      let response: Awaited<ReturnType<typeof conn.readResponse>>;
      try {
        conn.write(Buffer.from(request, 'utf8'));
        response = await conn.readResponse();
      } finally {
        conn.destroy();
      }
      const line = await proxy.requestLog(logged);
      assert.equal(response.status, 400, `${JSON.stringify(request)}: ${response.body}`);
      assert.equal(response.body, `egress-router: ${reason}\n`);
      assert.equal(line.error, reason);
      assert.equal(line.decision, 'invalid');
      assert.equal(line.address, undefined);
    });
  }

  test('a Host header that differs from the request target: the target decides, and Host is rewritten to it', async () => {
    const allowed = await send(getRequest('http://allowed.test/', 'denied.test'));
    assert.equal(allowed.response.status, 200);
    const echo = JSON.parse(allowed.response.body) as HttpEcho;
    assert.equal(echo.local, '203.0.113.25', "allowed.test's address, not denied.test's");
    assert.equal(echoHeaders(echo).host, 'allowed.test');

    const deniedTarget = await send(getRequest('http://denied.test/', 'allowed.test'));
    assert.equal(deniedTarget.response.status, 403);
    assert.equal(deniedTarget.response.body, `egress-router: ${RULE_NAME}\n`);

    const connect = await send(
      connectRequest('denied.test:443').replace('Host: denied.test:443', 'Host: allowed.test:443'),
    );
    assert.equal(connect.response.status, 403);
  });

  test('a request in origin form is not a proxy request, whatever its Host (400)', async () => {
    const { response } = await send('GET / HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n');
    assert.equal(response.status, 400);
    assert.equal(
      response.body,
      'egress-router: not a proxy request: the request target is not an absolute http:// URI\n',
    );
  });

  describe('without a final *: a name is allowed only through its allowed addresses', () => {
    let narrow: RunningProxy;
    before(async () => {
      narrow = await lab.startProxy({
        EGRESS_HTTP_PROXY_DESTINATION: '203.0.113.25\n203.0.113.26\n',
        EGRESS_HTTP_PROXY_PORT: '8081',
        EGRESS_HTTP_PROXY_ADMIN_PORT: '0',
      });
    });
    after(async () => {
      await narrow?.stop();
    });

    test('a name with an allowed address and one no rule matches: only the allowed one is ever used', async () => {
      for (let i = 0; i < 5; i++) {
        const echo = await lab.curl(['http://both.test/'], { proxy: 'http://10.128.0.2:8081' });
        assert.equal(echo.status, 200);
        assert.equal((JSON.parse(echo.body) as HttpEcho).local, '203.0.113.25');
      }
    });

    test('a name of both families with only its IPv4 address allowed is reached over IPv4 only', async () => {
      for (let i = 0; i < 3; i++) {
        const echo = await lab.curl(['http://dual.test/'], { proxy: 'http://10.128.0.2:8081' });
        assert.equal(echo.status, 200);
        assert.equal((JSON.parse(echo.body) as HttpEcho).local, '203.0.113.26');
        const tunnel = await lab.curl(['-p', 'http://dual.test/'], { proxy: 'http://10.128.0.2:8081' });
        assert.equal(tunnel.connectStatus, 200);
        assert.equal((JSON.parse(tunnel.body) as HttpEcho).local, '203.0.113.26');
      }
    });
  });
});
