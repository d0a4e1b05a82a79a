import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CONTRACT_EXAMPLE, DUAL_ENV, mustParse } from '../destination-parser/_testing.js';
import { planRouter } from '../destination-parser/plan.js';
import { buildRuleset } from '../nat/ruleset.js';
import { lastLine, runCli } from './_cli-testing.js';
import { describeNetwork } from './plan.js';

const ENV = {
  EGRESS_SOURCE: '1.2.3.4',
  EGRESS_GATEWAY: '1.2.3.1',
  EGRESS_DESTINATION: CONTRACT_EXAMPLE,
};

describe('egress-router plan', () => {
  test('plan prints the network steps as comments, then the nft table', () => {
    assert.deepEqual(runCli(['plan'], ENV), {
      status: 0,
      stderr: '',
      stdout: `# egress-router plan: mode legacy, pod interface eth0, egress interface macvlan0
# address 1.2.3.4/32 on macvlan0, macvlan0 up
# route 1.2.3.1/32 dev macvlan0
# route default via 1.2.3.1 dev macvlan0 (replacing the default route)
# sysctl net.ipv4.ip_forward = 1
# announce 1.2.3.4 on macvlan0 (gratuitous ARP, now and about 2 s later)
# nftables: replace table inet egress_router atomically with:
table inet egress_router {
	map dnat4_tcp_addr {
		type inet_service : ipv4_addr
		elements = { 80 : 10.4.5.6, 8080 : 10.7.8.9 }
	}

	map dnat4_tcp_port {
		type inet_service : inet_service
		elements = { 80 : 80, 8080 : 80 }
	}

	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "eth0" meta nfproto ipv4 meta l4proto tcp dnat ip to tcp dport map @dnat4_tcp_addr : tcp dport map @dnat4_tcp_port
		iifname "eth0" meta nfproto ipv4 dnat ip to 10.1.2.3
	}

	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "macvlan0" meta nfproto ipv4 snat ip to 1.2.3.4
	}
}
`,
    });
  });

  test('plan --json prints the exact nft JSON transaction of buildRuleset()', () => {
    const run = runCli(['plan', '--json'], ENV);
    assert.equal(run.status, 0);
    assert.equal(run.stderr, '');
    const expected = buildRuleset(planRouter(mustParse(ENV)).nat);
    assert.equal(run.stdout, `${JSON.stringify(expected, null, 1)}\n`);
    assert.deepEqual(JSON.parse(run.stdout), expected);
  });

  test('plan --json for a dual-stack environment matches buildRuleset()', () => {
    const env = {
      ...DUAL_ENV,
      EGRESS_ROUTER_MODE: 'init',
      EGRESS_DESTINATION: '53 udp 2001:db8::53\n10.1.2.3',
    };
    const run = runCli(['plan', '--json'], env);
    assert.equal(run.status, 0);
    assert.deepEqual(JSON.parse(run.stdout), buildRuleset(planRouter(mustParse(env)).nat));
  });

  test('plan describes both families of a dual-stack environment', () => {
    const env = {
      ...DUAL_ENV,
      EGRESS_ROUTER_MODE: 'init',
      EGRESS_DESTINATION: '53 udp 2001:db8::53\n10.1.2.3',
    };
    const run = runCli(['plan'], env);
    assert.equal(run.status, 0);
    const comments = run.stdout.split('\n').filter((line) => line.startsWith('# '));
    assert.deepEqual(comments, [
      '# egress-router plan: mode init, pod interface eth0, egress interface macvlan0',
      '# address 192.168.12.99/24 on macvlan0, macvlan0 up',
      '# address 2001:db8:12::99/64 on macvlan0, macvlan0 up',
      '# route 192.168.12.1/32 dev macvlan0',
      '# route default via 192.168.12.1 dev macvlan0 (replacing the default route)',
      '# route 2001:db8:12::1/128 dev macvlan0',
      '# route default via 2001:db8:12::1 dev macvlan0 (replacing the default route)',
      '# sysctl net.ipv4.ip_forward = 1',
      '# sysctl net.ipv6.conf.all.forwarding = 1',
      '# announce 192.168.12.99 on macvlan0 (gratuitous ARP, now and about 2 s later)',
      '# announce 2001:db8:12::99 on macvlan0 (unsolicited neighbour advertisement, now and about 2 s later)',
      '# nftables: replace table inet egress_router atomically with:',
    ]);
  });

  const errors: [string, Record<string, string>, string][] = [
    ['an invalid source', { ...ENV, EGRESS_SOURCE: '300.1.2.3' }, 'EGRESS_SOURCE unspecified or invalid'],
    ['an unknown mode', { ...ENV, EGRESS_ROUTER_MODE: 'bogus' }, "Unrecognized EGRESS_ROUTER_MODE 'bogus'"],
    [
      'an invalid list',
      { ...ENV, EGRESS_DESTINATION: '80 tcp 10.4.5.6\n0 tcp 10.4.5.6' },
      'Invalid port: 0, must be in the range 1 to 65535',
    ],
  ];
  for (const [name, env, message] of errors) {
    for (const args of [['plan'], ['plan', '--json']]) {
      test(`${args.join(' ')} refuses ${name}: exit 1, the first problem on stderr, nothing on stdout`, () => {
        const run = runCli(args, env);
        assert.equal(run.status, 1);
        assert.equal(run.stdout, '');
        assert.equal(lastLine(run.stderr), message);
      });
    }
  }
});

test('describeNetwork() says nothing of forwarding in the proxy modes', () => {
  const plan = planRouter(mustParse({ ...ENV, EGRESS_ROUTER_MODE: 'http-proxy' }));
  assert.ok(!describeNetwork(plan).some((line) => line.startsWith('sysctl')));
});
