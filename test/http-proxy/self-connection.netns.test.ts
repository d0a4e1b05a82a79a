import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectRequest, getRequest, ProxyLab, type RunningProxy, skipReason } from './_proxy-lab.js';

const skip = skipReason();

// The proxy never connects to itself, whatever the policy: not to its own addresses (pod network,
// egress source, loopback, unspecified) in any spelling, not to its own ports, not through a name.
describe('http-proxy: self-connection attempts', { skip }, () => {
  let lab: ProxyLab;
  let proxy: RunningProxy;
  before(async () => {
    lab = await ProxyLab.create('slf');
    proxy = await lab.startProxy({ EGRESS_HTTP_PROXY_DESTINATION: '*' });
  });
  after(async () => {
    await lab?.destroy();
  });

  const SELF = 'egress-router: the proxy does not connect to itself\n';
  const targets: [string, string][] = [
    ['its pod address, the proxy port', '10.128.0.2:8080'],
    ['its pod address, the admin port', '10.128.0.2:9090'],
    ['its pod address, another port', '10.128.0.2:22'],
    ['its pod address in decimal', '176160770:8080'],
    ['its pod address, IPv4-mapped', '[::ffff:10.128.0.2]:8080'],
    ['its IPv6 pod address', '[fd00:128::2]:8080'],
    ['its egress source address', '192.168.12.99:8080'],
    ['its IPv6 egress source address', '[2001:db8:12::99]:9090'],
    ['loopback', '127.0.0.1:8080'],
    ['loopback, short', '127.1:9090'],
    ['loopback in decimal', '2130706433:8080'],
    ['loopback in hex', '0x7f000001:8080'],
    ['another loopback address', '127.0.0.2:8080'],
    ['IPv6 loopback', '[::1]:8080'],
    ['loopback, IPv4-mapped', '[::ffff:127.0.0.1]:8080'],
    ['the unspecified address', '0.0.0.0:8080'],
    ['the unspecified address, short', '0:8080'],
    ['the IPv6 unspecified address', '[::]:8080'],
    ['a name for its pod address', 'self.test:8080'],
    ['a name for its egress source address', 'egress-self.test:8080'],
    ['a name for loopback', 'loopback.test:9090'],
    ['localhost', 'localhost:8080'],
  ];
  for (const [what, authority] of targets) {
    test(`${what} (${authority}): 403, HTTP and CONNECT`, async () => {
      for (const request of [getRequest(`http://${authority}/metrics`), connectRequest(authority)]) {
        const logged = proxy.requestLogs().length;
        const response = await lab.raw(request);
        assert.equal(response.status, 403, `${JSON.stringify(request)}: ${response.body}`);
        assert.equal(response.body, SELF);
        const line = await proxy.requestLog(logged);
        assert.equal(line.decision, 'deny');
        assert.equal(line.address, undefined);
      }
    });
  }

  test('control: the same policy lets other destinations through', async () => {
    const response = await lab.raw(getRequest('http://203.0.113.25/'));
    assert.equal(response.status, 200);
  });

  test('every request the proxy saw came from the client: it never connected to itself', async () => {
    await proxy.requestLog(targets.length * 2);
    const clients = new Set(proxy.requestLogs().map((line) => line.client));
    assert.deepEqual([...clients], [lab.lab.addresses.client4]);
  });
});
