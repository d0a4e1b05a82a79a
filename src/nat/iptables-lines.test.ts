import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CONTRACT_EXAMPLE,
  CONTRACT_EXAMPLE_RULES,
  DUAL_ENV,
  IPV4_ENV,
  mustParse,
  readTestdata,
} from '../destination-parser/_testing.js';
import type { RouterEnv } from '../destination-parser/config.js';
import { iptablesLines } from './iptables-lines.js';

/** The unit-test output for an environment, as the old image printed it: one rule per line. */
function output(env: RouterEnv): string {
  return `${iptablesLines(mustParse(env)).join('\n')}\n`;
}

describe('iptablesLines()', () => {
  test('iptablesLines() prints the CONTRACT example byte for byte', () => {
    assert.equal(output({ ...IPV4_ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE }), CONTRACT_EXAMPLE_RULES);
  });

  const cases: [string, RouterEnv, string[]][] = [
    [
      'a fallback only',
      { ...IPV4_ENV, EGRESS_DESTINATION: '10.1.2.3\n' },
      [
        '-A PREROUTING -i eth0 -j DNAT --to-destination 10.1.2.3',
        '-A POSTROUTING -j SNAT --to-source 1.2.3.4',
      ],
    ],
    [
      'a source with a prefix, SNATed to the bare address',
      { ...IPV4_ENV, EGRESS_SOURCE: '1.2.3.4/24', EGRESS_DESTINATION: '10.1.2.3' },
      [
        '-A PREROUTING -i eth0 -j DNAT --to-destination 10.1.2.3',
        '-A POSTROUTING -j SNAT --to-source 1.2.3.4',
      ],
    ],
    [
      'a UDP mapping',
      { ...IPV4_ENV, EGRESS_DESTINATION: '53 udp 10.0.0.53' },
      [
        '-A PREROUTING -i eth0 -p udp --dport 53 -j DNAT --to-destination 10.0.0.53',
        '-A POSTROUTING -j SNAT --to-source 1.2.3.4',
      ],
    ],
    [
      'a remote port equal to the local one, written as the old image did',
      { ...IPV4_ENV, EGRESS_DESTINATION: '8080 tcp 10.7.8.9 8080' },
      [
        '-A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination 10.7.8.9:8080',
        '-A POSTROUTING -j SNAT --to-source 1.2.3.4',
      ],
    ],
    [
      'ports written with leading zeros, as numbers',
      { ...IPV4_ENV, EGRESS_DESTINATION: '080 tcp 10.7.8.9 0443' },
      [
        '-A PREROUTING -i eth0 -p tcp --dport 80 -j DNAT --to-destination 10.7.8.9:443',
        '-A POSTROUTING -j SNAT --to-source 1.2.3.4',
      ],
    ],
    [
      'a list of comments only: the SNAT line',
      { ...IPV4_ENV, EGRESS_DESTINATION: '# none\n' },
      ['-A POSTROUTING -j SNAT --to-source 1.2.3.4'],
    ],
    [
      'IPv6 entries as ip6tables lines, [address]:port, list order kept',
      {
        ...DUAL_ENV,
        EGRESS_DESTINATION:
          '443 tcp 2001:DB8::5 8443\n80 tcp 10.4.5.6\n53 udp 2001:db8::53\n10.1.2.3\n2001:db8::1',
      },
      [
        '-A PREROUTING -i eth0 -p tcp --dport 443 -j DNAT --to-destination [2001:db8::5]:8443',
        '-A PREROUTING -i eth0 -p tcp --dport 80 -j DNAT --to-destination 10.4.5.6',
        '-A PREROUTING -i eth0 -p udp --dport 53 -j DNAT --to-destination 2001:db8::53',
        '-A PREROUTING -i eth0 -j DNAT --to-destination 10.1.2.3',
        '-A PREROUTING -i eth0 -j DNAT --to-destination 2001:db8::1',
        '-A POSTROUTING -j SNAT --to-source 192.168.12.99',
        '-A POSTROUTING -j SNAT --to-source 2001:db8:12::99',
      ],
    ],
    [
      'the configured pod interface',
      { ...IPV4_ENV, EGRESS_DESTINATION: '80 tcp 10.4.5.6', EGRESS_ROUTER_POD_INTERFACE: 'net1' },
      [
        '-A PREROUTING -i net1 -p tcp --dport 80 -j DNAT --to-destination 10.4.5.6',
        '-A POSTROUTING -j SNAT --to-source 1.2.3.4',
      ],
    ],
  ];
  for (const [name, env, expected] of cases) {
    test(`iptablesLines() prints ${name}`, () => {
      assert.deepEqual(iptablesLines(mustParse(env)), expected);
    });
  }

  test("iptablesLines() prints the seed's ConfigMap example", () => {
    assert.equal(
      output({
        ...IPV4_ENV,
        EGRESS_SOURCE: '192.168.12.99/24',
        EGRESS_GATEWAY: '192.168.12.1',
        EGRESS_DESTINATION: readTestdata('seed-configmap.txt'),
      }),
      '-A PREROUTING -i eth0 -p tcp --dport 80 -j DNAT --to-destination 203.0.113.25\n' +
        '-A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination 203.0.113.26:80\n' +
        '-A PREROUTING -i eth0 -p tcp --dport 8443 -j DNAT --to-destination 203.0.113.26:443\n' +
        '-A PREROUTING -i eth0 -j DNAT --to-destination 203.0.113.27\n' +
        '-A POSTROUTING -j SNAT --to-source 192.168.12.99\n',
    );
  });
});
