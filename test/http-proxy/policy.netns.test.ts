import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { availableCpus } from '../../src/runtime/cpus.js';
import { BIN, ProxyLab, type RunningProxy, SOURCE4, SOURCE6, skipReason } from './_proxy-lab.js';

const skip = skipReason();
const PATH = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';

/** The lab's echo answer to a tunnel: where it arrived and who it came from. */
function tunnelEcho(body: string): { local: string; peer: string } {
  return JSON.parse(body) as { local: string; peer: string };
}

// The policy CONTRACT describes, every line form, in a real pod: the proxy in the pod namespace
// (set up by the router in http-proxy mode), clients in the client namespace, names from dnsmasq.
describe('http-proxy policy in network namespaces', { skip }, () => {
  let lab: ProxyLab;
  before(async () => {
    lab = await ProxyLab.create('pol');
  });
  after(async () => {
    await lab?.destroy();
  });

  describe('every line form, first match wins, the rest denied', () => {
    let proxy: RunningProxy;
    before(async () => {
      proxy = await lab.startProxy({
        EGRESS_HTTP_PROXY_DESTINATION: [
          '# every line form; the first rule that matches decides',
          '!blocked.example.test', //  1 a denied name, before the domain that allows it
          '*.example.test', //         2 a domain
          'allowed.test', //           3 a name
          '!203.0.113.27', //          4 a denied address, before the range that allows it
          '203.0.113.26/31', //        5 an IPv4 range
          '!2001:db8:113::27', //      6 a denied IPv6 address
          '2001:db8:113::/120', //     7 an IPv6 range
        ].join('\n'),
      });
    });
    after(async () => {
      await proxy?.stop();
    });

    const http: [string, string, number, string][] = [
      ['a name under an allowed domain', 'http://www.example.test/', 200, 'allowed by rule 2'],
      ['the allowed domain itself', 'http://example.test/', 200, 'allowed by rule 2'],
      ['an allowed name', 'http://allowed.test/', 200, 'allowed by rule 3'],
      ['an address in an allowed range', 'http://203.0.113.26/', 200, 'allowed by rule 5'],
      ['an IPv6 address in an allowed range', 'http://[2001:db8:113::26]/', 200, 'allowed by rule 7'],
      ['a name with only an AAAA record in an allowed range', 'http://v6.test/', 200, 'allowed by rule 7'],
      ['a name with an address of each family, both allowed', 'http://dual.test/', 200, 'allowed by rule'],
      [
        'a denied name before the domain that allows it',
        'http://blocked.example.test/',
        403,
        "denied by rule 1 '!blocked.example.test'",
      ],
      [
        'a denied address before the range that allows it',
        'http://203.0.113.27/',
        403,
        "denied by rule 4 '!203.0.113.27'",
      ],
      [
        'a name that resolves to a denied address',
        'http://into-denied.test/',
        403,
        "denied by rule 4 '!203.0.113.27'",
      ],
      ['a denied IPv6 address', 'http://[2001:db8:113::27]/', 403, "denied by rule 6 '!2001:db8:113::27'"],
      ['an address no rule allows', 'http://192.168.1.1/', 403, 'no rule allows this destination'],
      ['a name no rule allows', 'http://private.test/', 403, 'no rule allows this destination'],
      [
        'the address of an allowed name (no reverse DNS)',
        'http://203.0.113.25/',
        403,
        'no rule allows this destination',
      ],
    ];
    for (const [what, url, status, reason] of http) {
      test(`HTTP: ${what} (${url}) is ${status}`, async () => {
        const logged = proxy.requestLogs().length;
        const result = await lab.curl([url]);
        assert.equal(result.status, status, result.body + result.stderr);
        if (status === 403) {
          assert.equal(result.body, `egress-router: ${reason}\n`);
        } else {
          const echo = JSON.parse(result.body) as { peer: string; local: string };
          assert.equal(
            echo.peer,
            echo.local.includes(':') ? SOURCE6 : SOURCE4,
            'leaves from the egress source',
          );
        }
        const line = await proxy.requestLog(logged);
        assert.equal(line.status, status);
        assert.match(String(line.reason), new RegExp(`^${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      });
    }

    test('HTTP: a name with only an AAAA record is reached over IPv6 from the IPv6 egress source', async () => {
      const echo = await lab.curlEcho(['http://v6.test/']);
      assert.equal(echo.local, '2001:db8:113::25');
      assert.equal(echo.peer, SOURCE6);
    });

    test('a denied name is denied without being resolved', async () => {
      const before = lab.queries('blocked.example.test');
      assert.equal((await lab.curl(['http://blocked.example.test/'])).status, 403);
      assert.equal(lab.queries('blocked.example.test'), before);
    });

    test('a name that does not resolve is 502', async () => {
      const result = await lab.curl(['http://nothing.test/']);
      assert.equal(result.status, 502);
      assert.match(result.body, /^egress-router: cannot resolve 'nothing\.test': ENOTFOUND\n$/);
    });

    const tunnels: [string, string, number, string | undefined][] = [
      ['an allowed name', 'allowed.test:443', 200, '203.0.113.25:443'],
      ['a name under an allowed domain', 'www.example.test:443', 200, '203.0.113.25:443'],
      ['an address in an allowed range', '203.0.113.26:443', 200, '203.0.113.26:443'],
      ['an IPv6 address in an allowed range', '[2001:db8:113::26]:443', 200, '[2001:db8:113::26]:443'],
      ['a denied name', 'blocked.example.test:443', 403, undefined],
      ['a denied address', '203.0.113.27:443', 403, undefined],
      ['a name that resolves to a denied address', 'into-denied.test:443', 403, undefined],
      ['the address of an allowed name (no reverse DNS)', '203.0.113.25:443', 403, undefined],
    ];
    for (const [what, authority, status, local] of tunnels) {
      test(`CONNECT: ${what} (${authority}) is ${status}`, async () => {
        const conn = await lab.connect();
        try {
          conn.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
          if (status === 200) {
            assert.equal(await conn.readUntil('\r\n\r\n'), 'HTTP/1.1 200 Connection established\r\n\r\n');
            const echo = tunnelEcho((await conn.closed(5000)) ?? '');
            assert.equal(echo.local, local);
            assert.equal(echo.peer, local!.startsWith('[') ? SOURCE6 : SOURCE4);
          } else {
            const response = await conn.readResponse();
            assert.equal(response.status, status);
            assert.match(response.body, /^egress-router: (denied by rule|no rule allows)/);
          }
        } finally {
          conn.destroy();
        }
      });
    }
  });

  describe('a final * allows the rest; deny rules before it still deny', () => {
    let proxy: RunningProxy;
    before(async () => {
      proxy = await lab.startProxy({
        EGRESS_HTTP_PROXY_DESTINATION: '!denied.test\n!203.0.113.27\n!2001:db8:113::/120\n*\n',
      });
    });
    after(async () => {
      await proxy?.stop();
    });

    const cases: [string, string, number, string][] = [
      ['a name no rule decided', 'http://allowed.test/', 200, "allowed by the final '*'"],
      ['an address no rule decided', 'http://203.0.113.25/', 200, "allowed by the final '*'"],
      ['a denied name', 'http://denied.test/', 403, "denied by rule 1 '!denied.test'"],
      [
        'the address of a denied name (no reverse DNS)',
        'http://203.0.113.26/',
        200,
        "allowed by the final '*'",
      ],
      ['a denied address', 'http://203.0.113.27/', 403, "denied by rule 2 '!203.0.113.27'"],
      [
        'an IPv6 address in a denied range',
        'http://[2001:db8:113::25]/',
        403,
        "denied by rule 3 '!2001:db8:113::/120'",
      ],
      [
        'a name of both families, one in a denied range',
        'http://dual.test/',
        403,
        "denied by rule 3 '!2001:db8:113::/120'",
      ],
    ];
    for (const [what, url, status, reason] of cases) {
      test(`${what} (${url}) is ${status}`, async () => {
        const logged = proxy.requestLogs().length;
        const result = await lab.curl([url]);
        assert.equal(result.status, status, result.body + result.stderr);
        if (status === 403) assert.equal(result.body, `egress-router: ${reason}\n`);
        assert.equal((await proxy.requestLog(logged)).reason, reason);
      });
    }
  });

  describe('a policy of comments only denies everything', () => {
    test('every request is 403: no rule allows it', async () => {
      const proxy = await lab.startProxy({ EGRESS_HTTP_PROXY_DESTINATION: '# nothing is allowed\n' });
      try {
        for (const url of ['http://allowed.test/', 'http://203.0.113.25/', 'http://[2001:db8:113::25]/']) {
          const result = await lab.curl([url]);
          assert.equal(result.status, 403, url);
          assert.equal(result.body, 'egress-router: no rule allows this destination\n');
        }
      } finally {
        await proxy.stop();
      }
    });
  });

  test('no reverse DNS: the proxy never asked for a PTR record', () => {
    assert.equal(lab.ptrQueries(), 0);
  });

  describe('the CLI: exact error texts, --check', () => {
    async function cli(env: Record<string, string>, args: string[] = []) {
      return lab.lab.exec('pod', process.execPath, [BIN, 'http-proxy', ...args], {
        env: { PATH, ...env },
        check: false,
      });
    }

    const errors: [string, Record<string, string>, string][] = [
      ['no policy', {}, 'No EGRESS_HTTP_PROXY_DESTINATION specified'],
      [
        'an empty policy',
        { EGRESS_HTTP_PROXY_DESTINATION: '' },
        'No EGRESS_HTTP_PROXY_DESTINATION specified',
      ],
      [
        'a rule after *',
        { EGRESS_HTTP_PROXY_DESTINATION: '*\nexample.com' },
        'Wildcard must be last rule, if present',
      ],
      ['a bad destination', { EGRESS_HTTP_PROXY_DESTINATION: 'foo bar' }, "Bad destination 'foo bar'"],
      [
        'a bad denied destination (printed without its !)',
        { EGRESS_HTTP_PROXY_DESTINATION: 'ok.example\n!foo bar' },
        "Bad destination 'foo bar'",
      ],
      [
        'an invalid address (validated for real)',
        { EGRESS_HTTP_PROXY_DESTINATION: '300.1.2.3' },
        "Bad destination '300.1.2.3'",
      ],
      [
        'an unreadable file',
        { EGRESS_HTTP_PROXY_DESTINATION_FILE: '/nonexistent/destination' },
        "No EGRESS_HTTP_PROXY_DESTINATION specified: cannot read EGRESS_HTTP_PROXY_DESTINATION_FILE '/nonexistent/destination': ENOENT",
      ],
      [
        'a bad setting',
        { EGRESS_HTTP_PROXY_DESTINATION: '*', EGRESS_HTTP_PROXY_PORT: '99999' },
        "EGRESS_HTTP_PROXY_PORT '99999' is invalid, must be a whole number from 1 to 65535",
      ],
    ];
    for (const [what, env, message] of errors) {
      test(`${what}: "${message}" as the last line on stderr, exit 1`, async () => {
        const result = await cli(env);
        assert.equal(result.code, 1, result.stderr);
        assert.equal(result.stderr.trimEnd().split('\n').at(-1), message);
        assert.equal(result.stdout, '');
      });
    }

    test('--check prints the compiled rules in order, then the worker count, and exits 0', async () => {
      const result = await cli(
        {
          EGRESS_HTTP_PROXY_DESTINATION:
            '# ours\n!*.Bad.Example.com\n*.example.com\n192.168.1.7/24\nfe80::/10\n*',
        },
        ['--check'],
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stdout,
        [
          '    1  deny   domain   *.bad.example.com  (line 2)',
          '    2  allow  domain   *.example.com  (line 3)',
          '    3  allow  address  192.168.1.0/24  (line 4)',
          '    4  allow  address  fe80::/10  (line 5)',
          '    *  allow  rest     everything no rule decided  (line 6)',
          `workers ${availableCpus()} (one per CPU)`,
          '',
        ].join('\n'),
      );
      assert.equal(result.stderr, '');
    });

    test('--check lists every error with its line, the first last, and exits 1', async () => {
      const result = await cli({ EGRESS_HTTP_PROXY_DESTINATION: 'ok.example\nfoo bar\n*\n!300.1.2.3' }, [
        '--check',
      ]);
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        [
          "EGRESS_HTTP_PROXY_DESTINATION:2: Bad destination 'foo bar'",
          'EGRESS_HTTP_PROXY_DESTINATION:4: Wildcard must be last rule, if present',
          "Bad destination 'foo bar'",
          '',
        ].join('\n'),
      );
      assert.equal(result.stdout, '');
    });
  });
});
