import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClusterState, HostSubnetObject } from '../cluster/types.js';
import { planOverlay } from './overlay-plan.js';
import { buildEgressIpRules, MARK_MASK, markOf } from './ruleset.js';

const subnet = (name: string, hostIP: string): HostSubnetObject => ({
  name,
  host: name,
  hostIP,
  subnet: '10.128.0.0/23',
  egressIPs: [],
  egressCIDRs: [],
});
const state = (subnets: HostSubnetObject[]): ClusterState => ({
  namespaces: new Map(),
  pods: new Map(),
  egressNetworkPolicies: new Map(),
  netNamespaces: new Map(),
  hostSubnets: new Map(subnets.map((s) => [s.name, s])),
  problems: [],
});

describe('planOverlay', () => {
  test("each node's identity comes from the low 12 bits of its address: the same on every node", () => {
    const s = state([subnet('node1', '192.168.50.11'), subnet('node2', '192.168.50.12')]);
    const one = planOverlay(s, 'node1');
    const two = planOverlay(s, 'node2');
    assert.deepEqual(one.self, two.peers[0]);
    assert.deepEqual(one.self, {
      name: 'node1',
      hostIP: '192.168.50.11',
      index: 0x20b,
      mac: '02:65:67:00:02:0b',
      via4: '169.254.2.11',
      via6: 'fe80::6567:20b',
      table: 1000 + 0x20b,
      mark: 0x120b0000,
    });
    assert.equal((one.self?.mark ?? 0) & ~MARK_MASK, 0, 'the mark stays under the mask');
  });

  test('nodes sharing an index, an IPv6 or unusable node address: left out, each with why', () => {
    const plan = planOverlay(
      state([
        subnet('a', '10.0.16.5'),
        subnet('b', '10.0.32.5'),
        subnet('c', 'fd00::1'),
        subnet('d', '10.0.16.0'),
        subnet('e', '10.0.0.7'),
      ]),
      'e',
    );
    assert.equal(plan.self?.name, 'e');
    assert.deepEqual(plan.peers, []);
    assert.deepEqual(plan.problems, [
      'HostSubnet c: hostIP "fd00::1" is not an IPv4 address: the overlay needs one',
      'HostSubnet d: hostIP 10.0.16.0 ends in .0 of its /20: no overlay index',
      'nodes a (10.0.16.5), b (10.0.32.5) share overlay index 5 (the low 12 bits of their address): left out',
    ]);
  });

  test('markOf refuses what does not fit the mask', () => {
    assert.throws(() => markOf(0), RangeError);
    assert.throws(() => markOf(0x1000), RangeError);
  });
});

describe('buildEgressIpRules', () => {
  test('marks for remote hosts, SNAT by source, drops and the hosted IPs, per family', () => {
    const { sets, chains } = buildEgressIpRules(
      {
        statuses: [],
        problems: [],
        hosted: [{ ip: '192.168.50.100', namespace: 'blue', sources: ['10.128.0.2', 'fd01::2'] }],
        remote: new Map([['10.128.0.9', '192.168.50.12']]),
        dropped: new Set(['10.128.0.7', 'fd01::7']),
        automatic: [],
      },
      new Map([['192.168.50.12', markOf(12)]]),
      { cluster: (f) => `cluster${f}`, internal: (f) => `internal${f}` },
    );
    assert.deepEqual(
      [...(sets.get('egress-route4')?.elements.values() ?? [])].map((e) => [e.key, e.verdict]),
      [['10.128.0.9', { jump: { target: 'egress-to-c' } }]],
    );
    assert.deepEqual(
      chains.get('egress-to-c')?.rules,
      [
        [
          {
            mangle: {
              key: { meta: { key: 'mark' } },
              value: { '|': [{ '&': [{ meta: { key: 'mark' } }, 0xe000ffff] }, 0x100c0000] },
            },
          },
        ],
      ],
      "the node's mark is ORed in under the mask: the mark's other bits are kept",
    );
    assert.deepEqual([...(sets.get('egress-snat4')?.elements.keys() ?? [])], ['10.128.0.2']);
    assert.deepEqual(
      [...(sets.get('egress-snat6')?.elements.keys() ?? [])],
      [],
      'an IPv4 egress IP SNATs IPv4 sources only',
    );
    assert.deepEqual([...(sets.get('egress-dropped6')?.elements.keys() ?? [])], ['fd01::7']);
    assert.deepEqual([...(sets.get('egress-ips4')?.elements.keys() ?? [])], ['192.168.50.100']);
    assert.deepEqual(
      [...chains].map(
        ([name, chain]) => `${name} ${chain.base?.type} ${chain.base?.hook} ${chain.base?.prio}`,
      ),
      [
        'egress-pre filter prerouting -150',
        'egress-post nat postrouting 100',
        'egress-forward filter forward 0',
        'egress-input filter input 0',
        'egress-to-c undefined undefined undefined',
      ],
    );
  });
});
