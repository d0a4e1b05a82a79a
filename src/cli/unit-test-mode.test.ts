import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CONTRACT_EXAMPLE,
  CONTRACT_EXAMPLE_RULES,
  readTestdata,
  testdataPath,
} from '../destination-parser/_testing.js';
import { lastLine, runCli } from './_cli-testing.js';

/** The entrypoint in unit-test mode: print the old image's rules, touch nothing. */

const ENV = { EGRESS_SOURCE: '1.2.3.4', EGRESS_GATEWAY: '1.1.1.1', EGRESS_ROUTER_MODE: 'unit-test' };

describe('egress-router in unit-test mode', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['the CONTRACT example', { ...ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE }, CONTRACT_EXAMPLE_RULES],
    [
      'the CONTRACT example with CRLF, tabs and comments',
      {
        ...ENV,
        EGRESS_DESTINATION:
          '# routes\r\n80\ttcp 10.4.5.6\r\n\r\n8080  tcp\t10.7.8.9   80\r\n10.1.2.3\r\n# end\r\n',
      },
      CONTRACT_EXAMPLE_RULES,
    ],
    [
      'a fallback with a trailing newline',
      { ...ENV, EGRESS_DESTINATION: '10.1.2.3\n' },
      '-A PREROUTING -i eth0 -j DNAT --to-destination 10.1.2.3\n-A POSTROUTING -j SNAT --to-source 1.2.3.4\n',
    ],
    [
      'a source with a prefix',
      { ...ENV, EGRESS_SOURCE: '1.2.3.4/24', EGRESS_DESTINATION: '10.1.2.3' },
      '-A PREROUTING -i eth0 -j DNAT --to-destination 10.1.2.3\n-A POSTROUTING -j SNAT --to-source 1.2.3.4\n',
    ],
    [
      'a dual-stack list as iptables and ip6tables lines',
      {
        EGRESS_SOURCE: '192.168.12.99/24,2001:db8:12::99/64',
        EGRESS_GATEWAY: '192.168.12.1,2001:db8:12::1',
        EGRESS_ROUTER_MODE: 'unit-test',
        EGRESS_DESTINATION: '53 udp 192.0.2.53\n443 tcp 2001:db8::5 8443\n2001:db8::1',
      },
      '-A PREROUTING -i eth0 -p udp --dport 53 -j DNAT --to-destination 192.0.2.53\n' +
        '-A PREROUTING -i eth0 -p tcp --dport 443 -j DNAT --to-destination [2001:db8::5]:8443\n' +
        '-A PREROUTING -i eth0 -j DNAT --to-destination 2001:db8::1\n' +
        '-A POSTROUTING -j SNAT --to-source 192.168.12.99\n' +
        '-A POSTROUTING -j SNAT --to-source 2001:db8:12::99\n',
    ],
  ];
  for (const [name, env, expected] of cases) {
    test(`egress-router prints the rules of ${name} on stdout and nothing else`, () => {
      assert.deepEqual(runCli([], env), { status: 0, stdout: expected, stderr: '' });
    });
  }

  test("egress-router reads the seed's ConfigMap from EGRESS_DESTINATION and from EGRESS_DESTINATION_FILE alike", () => {
    const expected = {
      status: 0,
      stdout:
        '-A PREROUTING -i eth0 -p tcp --dport 80 -j DNAT --to-destination 203.0.113.25\n' +
        '-A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination 203.0.113.26:80\n' +
        '-A PREROUTING -i eth0 -p tcp --dport 8443 -j DNAT --to-destination 203.0.113.26:443\n' +
        '-A PREROUTING -i eth0 -j DNAT --to-destination 203.0.113.27\n' +
        '-A POSTROUTING -j SNAT --to-source 1.2.3.4\n',
      stderr: '',
    };
    assert.deepEqual(
      runCli([], { ...ENV, EGRESS_DESTINATION: readTestdata('seed-configmap.txt') }),
      expected,
    );
    assert.deepEqual(
      runCli([], { ...ENV, EGRESS_DESTINATION_FILE: testdataPath('seed-configmap.txt') }),
      expected,
    );
  });

  const errors: [string, Record<string, string>, string][] = [
    [
      'no source',
      { EGRESS_GATEWAY: '1.1.1.1', EGRESS_ROUTER_MODE: 'unit-test', EGRESS_DESTINATION: '10.1.2.3' },
      'EGRESS_SOURCE unspecified or invalid',
    ],
    [
      'a source that is no address',
      { ...ENV, EGRESS_SOURCE: 'not an IP address', EGRESS_DESTINATION: '10.1.2.3' },
      'EGRESS_SOURCE unspecified or invalid',
    ],
    [
      'a source over several lines',
      { ...ENV, EGRESS_SOURCE: 'not\nan\nIP\naddress', EGRESS_DESTINATION: '10.1.2.3' },
      'EGRESS_SOURCE unspecified or invalid',
    ],
    [
      'a source out of range (deviation)',
      { ...ENV, EGRESS_SOURCE: '300.1.2.3', EGRESS_DESTINATION: '10.1.2.3' },
      'EGRESS_SOURCE unspecified or invalid',
    ],
    [
      'a source /33 (deviation)',
      { ...ENV, EGRESS_SOURCE: '1.2.3.4/33', EGRESS_DESTINATION: '10.1.2.3' },
      'EGRESS_SOURCE unspecified or invalid',
    ],
    [
      'a gateway that is no address',
      { ...ENV, EGRESS_GATEWAY: 'not an IP address', EGRESS_DESTINATION: '10.1.2.3' },
      'EGRESS_GATEWAY unspecified or invalid',
    ],
    [
      'an unknown mode',
      { ...ENV, EGRESS_ROUTER_MODE: 'unit_test', EGRESS_DESTINATION: '10.1.2.3' },
      "Unrecognized EGRESS_ROUTER_MODE 'unit_test'",
    ],
    ['an empty list', { ...ENV, EGRESS_DESTINATION: '' }, 'EGRESS_DESTINATION unspecified'],
    ['no list', { ...ENV }, 'EGRESS_DESTINATION unspecified'],
    [
      'an invalid line',
      { ...ENV, EGRESS_DESTINATION: 'not an IP address' },
      "EGRESS_DESTINATION value 'not an IP address' is invalid",
    ],
    [
      'an invalid line in the middle',
      { ...ENV, EGRESS_DESTINATION: '80 tcp 10.4.5.6\ninvalid\n8080 tcp 10.7.8.9 80' },
      "EGRESS_DESTINATION value 'invalid' is invalid",
    ],
    [
      'an unknown protocol',
      { ...ENV, EGRESS_DESTINATION: '80 sctp 10.4.5.6' },
      "EGRESS_DESTINATION value '80 sctp 10.4.5.6' is invalid",
    ],
    [
      'an address out of range (deviation)',
      { ...ENV, EGRESS_DESTINATION: '80 tcp 300.1.2.3' },
      "EGRESS_DESTINATION value '80 tcp 300.1.2.3' is invalid",
    ],
    [
      'a mapping after the fallback',
      { ...ENV, EGRESS_DESTINATION: '10.1.2.3\n80 tcp 10.4.5.6' },
      'EGRESS_DESTINATION fallback IP must be the last line',
    ],
    [
      'two fallbacks',
      { ...ENV, EGRESS_DESTINATION: '10.1.2.3\n10.4.5.6' },
      'EGRESS_DESTINATION fallback IP must be the last line',
    ],
    [
      'a fallback in the middle',
      { ...ENV, EGRESS_DESTINATION: '80 tcp 10.4.5.6\n10.1.2.3\n8080 tcp 10.7.8.9 80' },
      'EGRESS_DESTINATION fallback IP must be the last line',
    ],
    [
      'a local port out of range',
      { ...ENV, EGRESS_DESTINATION: '800000 tcp 10.4.5.6' },
      'Invalid port: 800000, must be in the range 1 to 65535',
    ],
    [
      'a remote port out of range',
      { ...ENV, EGRESS_DESTINATION: '80 tcp 10.4.5.6 0' },
      'Invalid port: 0, must be in the range 1 to 65535',
    ],
    [
      'a local port used twice',
      { ...ENV, EGRESS_DESTINATION: '80 tcp 10.4.5.6\n8080 tcp 10.7.8.9 80\n80 tcp 10.7.8.9 900' },
      'EGRESS_DESTINATION localport 80 is already used, must be unique for each destination',
    ],
    [
      'an IPv6 destination without an IPv6 source',
      { ...ENV, EGRESS_DESTINATION: '80 tcp 10.4.5.6\n2001:db8::1' },
      "EGRESS_DESTINATION value '2001:db8::1' is invalid: EGRESS_SOURCE has no IPv6 address",
    ],
    [
      'both list variables',
      { ...ENV, EGRESS_DESTINATION: '10.1.2.3', EGRESS_DESTINATION_FILE: testdataPath('seed-configmap.txt') },
      'EGRESS_DESTINATION and EGRESS_DESTINATION_FILE are both set, use one',
    ],
    [
      'a list file that does not exist',
      { ...ENV, EGRESS_DESTINATION_FILE: '/nonexistent/egress-destination' },
      "EGRESS_DESTINATION unspecified: cannot read EGRESS_DESTINATION_FILE '/nonexistent/egress-destination': ENOENT",
    ],
    [
      'a broken list file: its first problem',
      { ...ENV, EGRESS_DESTINATION_FILE: testdataPath('broken-every-error.txt') },
      "EGRESS_DESTINATION value 'not an IP address' is invalid",
    ],
    // Check order: source, gateway, mode, then the list top to bottom.
    [
      'source before gateway',
      { ...ENV, EGRESS_SOURCE: 'x', EGRESS_GATEWAY: 'y', EGRESS_DESTINATION: 'z' },
      'EGRESS_SOURCE unspecified or invalid',
    ],
    [
      'gateway before mode',
      { ...ENV, EGRESS_GATEWAY: 'y', EGRESS_ROUTER_MODE: 'x', EGRESS_DESTINATION: 'z' },
      'EGRESS_GATEWAY unspecified or invalid',
    ],
    [
      'mode before the list',
      { ...ENV, EGRESS_ROUTER_MODE: 'x', EGRESS_DESTINATION: 'z' },
      "Unrecognized EGRESS_ROUTER_MODE 'x'",
    ],
    [
      'the list top to bottom',
      { ...ENV, EGRESS_DESTINATION: '0 tcp 10.4.5.6\nbogus' },
      'Invalid port: 0, must be in the range 1 to 65535',
    ],
  ];
  for (const [name, env, message] of errors) {
    test(`egress-router refuses ${name}: exit 1, the error last on stderr, nothing on stdout`, () => {
      const run = runCli([], env);
      assert.equal(lastLine(run.stderr), message);
      assert.equal(run.stdout, '');
      assert.equal(run.status, 1);
    });
  }
});
