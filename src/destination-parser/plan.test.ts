import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CONTRACT_EXAMPLE, DUAL_ENV, IPV4_ENV, mustParse } from './_testing.js';
import { planRouter } from './plan.js';

describe('planRouter()', () => {
  test('planRouter() plans the CONTRACT example: address, gateway route, default route, NAT', () => {
    const config = mustParse({
      ...IPV4_ENV,
      EGRESS_ROUTER_MODE: 'init',
      EGRESS_DESTINATION: CONTRACT_EXAMPLE,
    });
    const [m80, m8080, fallback] = config.destinations;
    assert.equal(m80?.kind, 'mapping');
    assert.equal(fallback?.kind, 'fallback');
    assert.deepEqual(planRouter(config), {
      mode: 'init',
      podInterface: 'eth0',
      egressInterface: 'macvlan0',
      addresses: [{ address: '1.2.3.4', family: 4, prefix: 32 }],
      routes: [
        { family: 4, destination: { address: '1.2.3.1', family: 4, prefix: 32 }, device: 'macvlan0' },
        {
          family: 4,
          destination: { address: '0.0.0.0', family: 4, prefix: 0 },
          gateway: '1.2.3.1',
          device: 'macvlan0',
        },
      ],
      forwarding: [4],
      announce: [{ address: '1.2.3.4', family: 4 }],
      nat: {
        podInterface: 'eth0',
        egressInterface: 'macvlan0',
        mappings: [m80, m8080],
        fallbacks: [fallback],
        names: [],
        snat: [{ address: '1.2.3.4', family: 4 }],
        refuse: [],
      },
    });
  });

  test('planRouter() refuses other ports when there is no fallback', () => {
    const config = mustParse({ ...IPV4_ENV, EGRESS_DESTINATION: '80 tcp 10.4.5.6' });
    assert.deepEqual(planRouter(config).nat.refuse, [4]);
  });

  test('planRouter() installs the source with its prefix and SNATs to the bare address', () => {
    const plan = planRouter(
      mustParse({ ...IPV4_ENV, EGRESS_SOURCE: '1.2.3.4/24', EGRESS_DESTINATION: CONTRACT_EXAMPLE }),
    );
    assert.deepEqual(plan.addresses, [{ address: '1.2.3.4', family: 4, prefix: 24 }]);
    assert.deepEqual(plan.nat.snat, [{ address: '1.2.3.4', family: 4 }]);
    assert.deepEqual(plan.announce, [{ address: '1.2.3.4', family: 4 }]);
  });

  test('planRouter() plans each family of a dual-stack source, IPv4 first', () => {
    const config = mustParse({
      ...DUAL_ENV,
      EGRESS_DESTINATION: '80 tcp 10.4.5.6\n443 tcp 2001:db8::5 8443\n53 udp 2001:db8::53\n2001:db8::1',
    });
    const plan = planRouter(config);
    assert.deepEqual(plan.addresses, [
      { address: '192.168.12.99', family: 4, prefix: 24 },
      { address: '2001:db8:12::99', family: 6, prefix: 64 },
    ]);
    assert.deepEqual(
      plan.routes.map((route) => [route.destination.address, route.destination.prefix, route.gateway]),
      [
        ['192.168.12.1', 32, undefined],
        ['0.0.0.0', 0, '192.168.12.1'],
        ['2001:db8:12::1', 128, undefined],
        ['::', 0, '2001:db8:12::1'],
      ],
    );
    assert.deepEqual(plan.forwarding, [4, 6]);
    assert.deepEqual(plan.nat.snat, [
      { address: '192.168.12.99', family: 4 },
      { address: '2001:db8:12::99', family: 6 },
    ]);
    assert.deepEqual(
      plan.nat.mappings.map((m) => m.line),
      [1, 2, 3],
    );
    assert.deepEqual(
      plan.nat.fallbacks.map((f) => f.destination.address),
      ['2001:db8::1'],
    );
    // IPv6 has a fallback, IPv4 has not: only IPv4's other ports are refused.
    assert.deepEqual(plan.nat.refuse, [4]);
  });

  for (const mode of ['http-proxy', 'dns-proxy'] as const) {
    test(`planRouter() in ${mode} mode sets up the network but no redirect, refusal or forwarding`, () => {
      const plan = planRouter(mustParse({ ...IPV4_ENV, EGRESS_ROUTER_MODE: mode }));
      assert.equal(plan.mode, mode);
      assert.equal(plan.routes.length, 2);
      assert.deepEqual(plan.forwarding, []);
      assert.deepEqual(plan.nat.mappings, []);
      assert.deepEqual(plan.nat.fallbacks, []);
      assert.deepEqual(plan.nat.refuse, []);
      assert.deepEqual(plan.nat.snat, [{ address: '1.2.3.4', family: 4 }]);
    });
  }

  test('planRouter() uses the configured interfaces', () => {
    const plan = planRouter(
      mustParse({
        ...IPV4_ENV,
        EGRESS_DESTINATION: CONTRACT_EXAMPLE,
        EGRESS_ROUTER_POD_INTERFACE: 'net1',
        EGRESS_ROUTER_EGRESS_INTERFACE: 'ens3',
      }),
    );
    assert.equal(plan.nat.podInterface, 'net1');
    assert.equal(plan.nat.egressInterface, 'ens3');
    assert.ok(plan.routes.every((route) => route.device === 'ens3'));
  });
});
