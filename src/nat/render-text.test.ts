import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CONTRACT_EXAMPLE, DUAL_ENV, IPV4_ENV, mustParse } from '../destination-parser/_testing.js';
import type { RouterEnv } from '../destination-parser/config.js';
import { planRouter } from '../destination-parser/plan.js';
import { renderRuleset } from './render-text.js';

function render(env: RouterEnv): string {
  return renderRuleset(planRouter(mustParse(env)).nat);
}

describe('renderRuleset()', () => {
  test('renderRuleset() renders the CONTRACT example as nft text', () => {
    assert.equal(
      render({ ...IPV4_ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE }),
      `table inet egress_router {
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
    );
  });

  test('renderRuleset() renders IPv6 maps, the refuse chain and quoted interface names', () => {
    assert.equal(
      render({
        ...DUAL_ENV,
        EGRESS_DESTINATION: '443 udp 2001:db8::5 8443\n10.1.2.3',
        EGRESS_ROUTER_POD_INTERFACE: 'net1',
        EGRESS_ROUTER_EGRESS_INTERFACE: 'ens3.100',
      }),
      `table inet egress_router {
	map dnat6_udp_addr {
		type inet_service : ipv6_addr
		elements = { 443 : 2001:db8::5 }
	}

	map dnat6_udp_port {
		type inet_service : inet_service
		elements = { 443 : 8443 }
	}

	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "net1" meta nfproto ipv6 meta l4proto udp dnat ip6 to udp dport map @dnat6_udp_addr : udp dport map @dnat6_udp_port
		iifname "net1" meta nfproto ipv4 dnat ip to 10.1.2.3
	}

	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "ens3.100" meta nfproto ipv4 snat ip to 192.168.12.99
		oifname "ens3.100" meta nfproto ipv6 snat ip6 to 2001:db8:12::99
	}

	chain input {
		type filter hook input priority filter; policy accept;
		ct state established,related accept
		iifname "net1" meta nfproto ipv6 meta l4proto tcp reject with tcp reset
		iifname "net1" meta nfproto ipv6 meta l4proto udp reject with icmpx port-unreachable
	}
}
`,
    );
  });

  test('renderRuleset() in a proxy mode renders the SNAT only', () => {
    assert.equal(
      render({ ...IPV4_ENV, EGRESS_ROUTER_MODE: 'dns-proxy' }),
      `table inet egress_router {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
	}

	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "macvlan0" meta nfproto ipv4 snat ip to 1.2.3.4
	}
}
`,
    );
  });
});
