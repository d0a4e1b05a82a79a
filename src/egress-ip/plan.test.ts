import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ClusterState, HostSubnetObject, NetNamespaceObject, PodObject } from '../cluster/types.js';
import { parseCanonicalCidr } from '../firewall/ip-range.js';
import { assignEgressIps, type CandidateNode } from './assign.js';
import { planEgressIps } from './plan.js';

const net = (text: string) => {
  const parsed = parseCanonicalCidr(text);
  if (!parsed.ok) throw new Error(text);
  return parsed.range;
};
const CLUSTER = [net('10.128.0.0/14'), net('fd01::/48')];

function hostSubnet(n: number, extra: Partial<HostSubnetObject> = {}): HostSubnetObject {
  return {
    name: `node${n}`,
    host: `node${n}`,
    hostIP: `192.168.50.1${n}`,
    subnet: `10.128.${n}.0/24`,
    egressIPs: [],
    egressCIDRs: [],
    ...extra,
  };
}
function netNamespace(name: string, egressIPs: unknown[], netid = 100): NetNamespaceObject {
  return { name, netname: name, netid, egressIPs };
}
function pod(namespace: string, name: string, node: number, ip: string): PodObject {
  return { namespace, name, nodeName: `node${node}`, hostNetwork: false, phase: 'Running', ips: [ip] };
}
function state(subnets: HostSubnetObject[], netnss: NetNamespaceObject[], pods: PodObject[]): ClusterState {
  return {
    namespaces: new Map(netnss.map((n) => [n.name, { name: n.name }])),
    pods: new Map(pods.map((p) => [`${p.namespace}/${p.name}`, p])),
    egressNetworkPolicies: new Map(),
    netNamespaces: new Map(netnss.map((n) => [n.name, n])),
    hostSubnets: new Map(subnets.map((s) => [s.name, s])),
    problems: [],
  };
}
const PODS = [
  pod('blue', 'b1', 1, '10.128.1.2'),
  pod('blue', 'b2', 2, '10.128.2.2'),
  pod('blue', 'b3', 3, '10.128.3.2'),
  pod('red', 'r1', 1, '10.128.1.3'),
];

describe('planEgressIps: manual mode', () => {
  const s = state(
    [hostSubnet(1), hostSubnet(2, { egressIPs: ['192.168.50.100'] }), hostSubnet(3)],
    [netNamespace('blue', ['192.168.50.100']), netNamespace('red', [])],
    PODS,
  );

  test('the hosting node SNATs every pod of the namespace, on any node, to the egress IP', () => {
    const plan = planEgressIps({ state: s, nodeName: 'node2', clusterNetworks: CLUSTER });
    assert.deepEqual(plan.hosted, [
      { ip: '192.168.50.100', namespace: 'blue', sources: ['10.128.1.2', '10.128.2.2', '10.128.3.2'] },
    ]);
    assert.deepEqual([...plan.remote], []);
    assert.deepEqual(plan.statuses, [
      {
        namespace: 'blue',
        warnings: [],
        ip: '192.168.50.100',
        state: 'hosted',
        node: 'node2',
        hostIP: '192.168.50.12',
        mode: 'manual',
      },
    ]);
  });

  test('another node sends its pods of the namespace to the hosting node; other namespaces are untouched', () => {
    const plan = planEgressIps({ state: s, nodeName: 'node1', clusterNetworks: CLUSTER });
    assert.deepEqual(plan.hosted, []);
    assert.deepEqual([...plan.remote], [['10.128.1.2', '192.168.50.12']]);
    assert.deepEqual([...plan.dropped], []);
  });

  test('the first egress IP is used, the others ignored with the seed warning', () => {
    const plan = planEgressIps({
      state: state(
        [hostSubnet(2, { egressIPs: ['192.168.50.100', '192.168.50.101'] })],
        [netNamespace('blue', ['192.168.50.100', '192.168.50.101'])],
        PODS,
      ),
      nodeName: 'node2',
      clusterNetworks: CLUSTER,
    });
    assert.equal(plan.statuses[0]?.ip, '192.168.50.100');
    assert.deepEqual(plan.statuses[0]?.warnings, [
      'Ignoring extra EgressIPs (192.168.50.101) in NetNamespace "blue"',
    ]);
  });

  const dropped = (subnets: HostSubnetObject[], netnss: NetNamespaceObject[]) => {
    const plan = planEgressIps({
      state: state(subnets, netnss, PODS),
      nodeName: 'node1',
      clusterNetworks: CLUSTER,
    });
    return { plan, reasons: plan.statuses.map((st) => `${st.namespace}: ${st.state}: ${st.reason ?? ''}`) };
  };

  test('an IP no node hosts: the namespace is dropped, its pods here listed', () => {
    const { plan, reasons } = dropped(
      [hostSubnet(1), hostSubnet(2)],
      [netNamespace('blue', ['192.168.50.100'])],
    );
    assert.deepEqual(reasons, [
      'blue: dropped: no node hosts egress IP 192.168.50.100: no HostSubnet lists it in egressIPs and none offers it in egressCIDRs; dropping all external traffic',
    ]);
    assert.deepEqual([...plan.dropped], ['10.128.1.2']);
    assert.deepEqual([...plan.remote], []);
  });

  test('two HostSubnets claiming one IP: neither hosts it, the status names both', () => {
    const { plan, reasons } = dropped(
      [hostSubnet(1, { egressIPs: ['192.168.50.100'] }), hostSubnet(2, { egressIPs: ['192.168.50.100'] })],
      [netNamespace('blue', ['192.168.50.100'])],
    );
    assert.deepEqual(reasons, [
      'blue: dropped: Multiple nodes (192.168.50.11, 192.168.50.12) claiming EgressIP 192.168.50.100; dropping all external traffic',
    ]);
    assert.deepEqual(plan.hosted, []);
  });

  test('two namespaces with one IP, a node IP, an invalid IP: dropped, each with why', () => {
    const { reasons } = dropped(
      [hostSubnet(1), hostSubnet(2, { egressIPs: ['192.168.50.100'] })],
      [
        netNamespace('blue', ['192.168.50.100']),
        netNamespace('green', ['192.168.50.100'], 101),
        netNamespace('red', ['192.168.50.11'], 102),
        netNamespace('zed', ['not-an-ip'], 103),
      ],
    );
    assert.deepEqual(reasons, [
      'blue: dropped: Multiple namespaces (blue, green) claiming EgressIP 192.168.50.100; dropping all external traffic',
      'green: dropped: Multiple namespaces (blue, green) claiming EgressIP 192.168.50.100; dropping all external traffic',
      'red: dropped: desired egress IP 192.168.50.11 is the node IP; dropping all external traffic',
      'zed: dropped: egressIPs[0]: Invalid value: "not-an-ip": invalid IP address; dropping all external traffic',
    ]);
  });

  test("a HostSubnet's bad entries are problems, its good ones still hosted", () => {
    const plan = planEgressIps({
      state: state(
        [hostSubnet(2, { egressIPs: ['192.168.50.100', 'x'], egressCIDRs: ['192.168.50.1/24'] })],
        [netNamespace('blue', ['192.168.50.100'])],
        PODS,
      ),
      nodeName: 'node2',
      clusterNetworks: CLUSTER,
    });
    assert.deepEqual(plan.problems, [
      'HostSubnet node2: egressIPs[1]: Invalid value: "x": invalid IP address',
      'HostSubnet node2: egressCIDRs[0]: Invalid value: "192.168.50.1/24": not in canonical form (should be 192.168.50.0/24)',
    ]);
    assert.equal(plan.hosted.length, 1);
  });

  test('IPv6: the same fields, the same semantics', () => {
    const v6pods = [pod('blue', 'b1', 1, 'fd01:0:0:1::2'), pod('blue', 'b2', 2, 'fd01:0:0:2::2')];
    const s6 = state(
      [hostSubnet(2, { egressIPs: ['fd00:50::100'] })],
      [netNamespace('blue', ['fd00:50::100'])],
      v6pods,
    );
    assert.deepEqual(planEgressIps({ state: s6, nodeName: 'node2', clusterNetworks: CLUSTER }).hosted, [
      { ip: 'fd00:50::100', namespace: 'blue', sources: ['fd01:0:0:1::2', 'fd01:0:0:2::2'] },
    ]);
    assert.deepEqual(
      [...planEgressIps({ state: s6, nodeName: 'node1', clusterNetworks: CLUSTER }).remote],
      [['fd01:0:0:1::2', '192.168.50.12']],
    );
  });
});

describe('planEgressIps: automatic mode (egressCIDRs)', () => {
  const offering = [
    hostSubnet(1, { egressCIDRs: ['192.168.50.96/28'] }),
    hostSubnet(2, { egressCIDRs: ['192.168.50.96/28'] }),
    hostSubnet(3),
  ];
  const s = state(
    offering,
    [netNamespace('blue', ['192.168.50.100']), netNamespace('green', ['192.168.50.101'], 101)],
    PODS,
  );

  test('IPs go to nodes whose range holds them, balanced; every node computes the same', () => {
    const views = [1, 2, 3].map((n) =>
      planEgressIps({ state: s, nodeName: `node${n}`, clusterNetworks: CLUSTER }),
    );
    for (const plan of views) {
      assert.deepEqual(
        plan.statuses.map((st) => `${st.namespace} ${st.node} ${st.mode}`),
        ['blue node1 automatic', 'green node2 automatic'],
      );
    }
    assert.deepEqual(views[0]?.automatic, ['192.168.50.100']);
    assert.deepEqual(views[1]?.automatic, ['192.168.50.101']);
  });

  test('a node that does not answer is given nothing: its IPs move', () => {
    const plan = planEgressIps({
      state: s,
      nodeName: 'node2',
      clusterNetworks: CLUSTER,
      alive: new Set(['node2', 'node3']),
      current: new Map([['192.168.50.100', ['node1']]]),
    });
    assert.deepEqual(
      plan.statuses.map((st) => `${st.namespace} ${st.node}`),
      ['blue node2', 'green node2'],
    );
  });

  test('a node that comes back takes nothing away (no flapping)', () => {
    const plan = planEgressIps({
      state: s,
      nodeName: 'node1',
      clusterNetworks: CLUSTER,
      current: new Map([
        ['192.168.50.100', ['node2']],
        ['192.168.50.101', ['node2']],
      ]),
    });
    assert.deepEqual(plan.automatic, []);
    assert.deepEqual(
      plan.statuses.map((st) => st.node),
      ['node2', 'node2'],
    );
  });
});

describe('assignEgressIps', () => {
  const cidr = net('10.0.0.0/24');
  const nodeArb = fc.record({
    name: fc.constantFrom('a', 'b', 'c', 'd'),
    alive: fc.boolean(),
    manual: fc.integer({ min: 0, max: 2 }),
    holds: fc.boolean(),
  });
  test('property: each IP on at most one node, which answers and holds it; a live holder keeps it; order does not matter', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(nodeArb, { selector: (n) => n.name, maxLength: 4 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 12 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constantFrom('a', 'b', 'c', 'd')), {
          maxLength: 6,
        }),
        (specs, hosts, holders) => {
          const nodes: CandidateNode[] = specs.map((n) => ({
            name: n.name,
            alive: n.alive,
            manual: n.manual,
            cidrs: n.holds ? [cidr] : [],
          }));
          const ips = hosts.map((h) => `10.0.0.${h}`);
          const current = new Map<string, string[]>();
          for (const [h, name] of holders)
            current.set(`10.0.0.${h}`, [...(current.get(`10.0.0.${h}`) ?? []), name]);
          const result = assignEgressIps(ips, nodes, current);
          const again = assignEgressIps([...ips].reverse(), [...nodes].reverse(), current);
          // (the order of `current`'s holders is seniority, not arbitrary: it stays)
          const byIp = new Map(again.map((a) => [a.ip, a.node]));
          for (const a of result) {
            assert.equal(byIp.get(a.ip), a.node, 'the same whatever the order');
            if (a.node === undefined) continue;
            const node = nodes.find((n) => n.name === a.node);
            assert.ok(node?.alive && node.cidrs.length > 0);
            const liveHolders = (current.get(a.ip) ?? []).filter((h) =>
              nodes.some((n) => n.name === h && n.alive && n.cidrs.length > 0),
            );
            if (liveHolders.length > 0)
              assert.equal(a.node, liveHolders[0], 'the longest live holder keeps it');
          }
        },
      ),
    );
  });

  test('balanced: the fewest IPs first, hand-listed ones counted', () => {
    const nodes = [
      { name: 'a', alive: true, manual: 2, cidrs: [cidr] },
      { name: 'b', alive: true, manual: 0, cidrs: [cidr] },
    ];
    const result = assignEgressIps(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'], nodes, new Map());
    assert.deepEqual(
      result.map((a) => a.node),
      ['b', 'b', 'a', 'b'],
    );
  });
});
