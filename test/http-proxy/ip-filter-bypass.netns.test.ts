import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  connectRequest,
  getRequest,
  NAT64_PRIVATE,
  PRIVATE4,
  ProxyLab,
  type RunningProxy,
  skipReason,
} from './_proxy-lab.js';

const skip = skipReason();

// Every way to write a denied address that a URL parser or a resolver reads as that address. The
// denied addresses are real servers in the lab (192.168.1.1 and its NAT64 form answer HTTP), so a
// proxy that let one of these through would get a 200, not an error.
describe('http-proxy: IP filter bypass attempts', { skip }, () => {
  let lab: ProxyLab;
  let proxy: RunningProxy;
  const RULE_PRIVATE = "denied by rule 1 '!192.168.1.0/24'";
  const RULE_27 = "denied by rule 2 '!203.0.113.27'";
  const RULE_27_V6 = "denied by rule 3 '!2001:db8:113::27'";
  before(async () => {
    lab = await ProxyLab.create('ipf');
    proxy = await lab.startProxy({
      EGRESS_HTTP_PROXY_DESTINATION: `!192.168.1.0/24\n!203.0.113.27\n!2001:db8:113::27\n*\n`,
    });
  });
  after(async () => {
    await lab?.destroy();
  });

  test('control: the denied addresses answer when asked directly from the pod, and the proxy lets the rest through', async () => {
    for (const url of [`http://${PRIVATE4}/`, `http://[${NAT64_PRIVATE}]/`, 'http://203.0.113.27/']) {
      const direct = await lab.lab.exec(
        'pod',
        'curl',
        ['-sS', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', url],
        {
          check: false,
        },
      );
      assert.equal(direct.stdout, '200', `${url} answers directly: ${direct.stderr}`);
    }
    const logged = proxy.requestLogs().length;
    const through = await lab.raw(getRequest('http://203.0.113.25/'));
    assert.equal(through.status, 200);
    assert.equal((await proxy.requestLog(logged)).address, '203.0.113.25');
  });

  /** Sends a request; expects 403 for `reason`, and a log line showing no connection was made. */
  async function assertDenied(request: string, reason: string): Promise<void> {
    const logged = proxy.requestLogs().length;
    const response = await lab.raw(request);
    assert.equal(response.status, 403, `${JSON.stringify(request)}: ${response.statusLine} ${response.body}`);
    assert.equal(response.body, `egress-router: ${reason}\n`);
    const line = await proxy.requestLog(logged);
    assert.equal(line.decision, 'deny');
    assert.equal(line.address, undefined, 'no address was connected to');
  }

  const spellings: [string, string, string][] = [
    ['dotted quad', '192.168.1.1', RULE_PRIVATE],
    ['dotted quad with a trailing dot', '192.168.1.1.', RULE_PRIVATE],
    ['decimal', '3232235777', RULE_PRIVATE],
    ['hex', '0xc0a80101', RULE_PRIVATE],
    ['hex in capitals', '0XC0A80101', RULE_PRIVATE],
    ['hex per byte', '0xc0.0xa8.0x1.0x1', RULE_PRIVATE],
    ['octal', '0300.0250.1.1', RULE_PRIVATE],
    ['octal with extra zeros', '00300.000250.01.01', RULE_PRIVATE],
    ['short a.b.c', '192.168.257', RULE_PRIVATE],
    ['short a.b', '192.11010305', RULE_PRIVATE],
    ['IPv4-mapped IPv6', '[::ffff:192.168.1.1]', RULE_PRIVATE],
    ['hex IPv4-mapped IPv6', '[::ffff:c0a8:101]', RULE_PRIVATE],
    ['hex IPv4-mapped IPv6, long form', '[0:0:0:0:0:FFFF:C0A8:0101]', RULE_PRIVATE],
    ['NAT64', '[64:ff9b::c0a8:101]', RULE_PRIVATE],
    ['NAT64, dotted', '[64:ff9b::192.168.1.1]', RULE_PRIVATE],
    ['IPv4-compatible IPv6', '[::c0a8:101]', RULE_PRIVATE],
    ['another address of the denied range, in hex', '0xc0a801fe', RULE_PRIVATE],
    ['a denied single address, IPv4-mapped', '[::ffff:203.0.113.27]', RULE_27],
    ['a denied single address, decimal', '3405803803', RULE_27],
    ['a denied IPv6 address, not compressed', '[2001:db8:113:0:0:0:0:27]', RULE_27_V6],
    ['a denied IPv6 address, capitals and leading zeros', '[2001:DB8:113::0027]', RULE_27_V6],
  ];
  for (const [what, host, reason] of spellings) {
    test(`HTTP to ${what} (${host}) is denied`, async () => {
      await assertDenied(getRequest(`http://${host}/`), reason);
    });
    test(`CONNECT to ${what} (${host}) is denied`, async () => {
      await assertDenied(connectRequest(`${host}:80`), reason);
    });
  }

  const names: [string, string, string][] = [
    ['a name whose A record is in the denied range', 'private.test', RULE_PRIVATE],
    ['a name whose AAAA record is the IPv4-mapped form', 'mapped.test', RULE_PRIVATE],
    ['a name whose AAAA record is the NAT64 form', 'nat64.test', RULE_PRIVATE],
  ];
  for (const [what, name, reason] of names) {
    test(`${what} (${name}) is denied, HTTP and CONNECT`, async () => {
      await assertDenied(getRequest(`http://${name}/`), reason);
      await assertDenied(connectRequest(`${name}:80`), reason);
    });
  }

  test('the address checked is the address connected to: an allowed spelling reaches that address', async () => {
    for (const host of ['0xcb007119', '3405803801', '203.0.113.25']) {
      const logged = proxy.requestLogs().length;
      const response = await lab.raw(getRequest(`http://${host}/`));
      assert.equal(response.status, 200, host);
      const echo = JSON.parse(response.body) as { local: string; headers: string[] };
      assert.equal(echo.local, '203.0.113.25');
      assert.ok(
        echo.headers.some((h) => h.toLowerCase() === 'host: 203.0.113.25'),
        'Host is the canonical address',
      );
      assert.equal((await proxy.requestLog(logged)).address, '203.0.113.25');
    }
  });
});
