import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import {
  clusterLabAddresses,
  clusterNamespaces,
  clusterNodeAddresses,
  isRoleName,
  LAST_POD_HOST,
  MAX_CLUSTER_NODES,
  podAddresses,
  podHostVeth,
  podNamespace,
  switchNodePort,
} from './cluster-addresses.js';

describe('clusterLabAddresses()', () => {
  it('gives node i .(10+i) on the node network and the /23 at 10.128.2(i-1).0', () => {
    const a = clusterLabAddresses();
    assert.equal(a.nodes.length, 3);
    assert.deepEqual(a.nodes[1], {
      index: 2,
      name: 'node2',
      node4: '192.168.50.12',
      node6: 'fd00:50::12',
      mac: '02:ec:50:00:00:12',
      podSubnet4: '10.128.2.0/23',
      podSubnet6: 'fd01:0:0:2::/64',
      podGateway4: '10.128.2.1',
      podGateway6: 'fd01:0:0:2::1',
    });
    assert.equal(a.gateway4, '192.168.50.1');
    assert.equal(a.gateway6, 'fd00:50::1');
    assert.equal(a.clusterNetwork4, '10.128.0.0/14');
    assert.equal(a.clusterNetwork6, 'fd01::/48');
    assert.equal(a.serviceNetwork6, 'fd02::/112');
    assert.deepEqual(a.outside4, ['203.0.113.25', '203.0.113.26', '203.0.113.27']);
    assert.deepEqual(clusterLabAddresses(1, 2).outside6.at(-1), '2001:db8:113::29');
  });

  it('keeps the egress candidates off every assigned node network address', () => {
    const a = clusterLabAddresses(MAX_CLUSTER_NODES);
    const taken = new Set([a.gateway4, a.gateway6, ...a.nodes.flatMap((n) => [n.node4, n.node6])]);
    for (const candidate of [...a.egressCandidates4, ...a.egressCandidates6]) {
      assert.ok(!taken.has(candidate), candidate);
      assert.ok(isIPv4(candidate) || isIPv6(candidate), candidate);
    }
    const macs = new Set([a.gatewayMac, ...a.nodes.map((n) => n.mac)]);
    assert.equal(macs.size, MAX_CLUSTER_NODES + 1);
  });

  it('throws RangeError for a node count or extra outside count out of range', () => {
    assert.throws(() => clusterLabAddresses(0), RangeError);
    assert.throws(() => clusterLabAddresses(MAX_CLUSTER_NODES + 1), RangeError);
    assert.throws(() => clusterLabAddresses(3, -1), RangeError);
    assert.throws(() => clusterNodeAddresses(1.5), /node must be an integer from 1 to 16: 1.5/);
  });
});

describe('podAddresses()', () => {
  it('numbers pods from .10 / ::10 in the node subnet and crosses into the /23 upper half', () => {
    assert.deepEqual(podAddresses(1, 10), { ip4: '10.128.0.10', ip6: 'fd01:0:0:1::10' });
    assert.deepEqual(podAddresses(3, 11), { ip4: '10.128.4.11', ip6: 'fd01:0:0:3::11' });
    assert.deepEqual(podAddresses(2, 256), { ip4: '10.128.3.0', ip6: 'fd01:0:0:2::256' });
    assert.deepEqual(podAddresses(2, LAST_POD_HOST), { ip4: '10.128.3.254', ip6: 'fd01:0:0:2::510' });
    assert.throws(() => podAddresses(1, 9), RangeError);
    assert.throws(() => podAddresses(1, LAST_POD_HOST + 1), RangeError);
  });

  it('gives every pod of every node a distinct, valid address', () => {
    const seen = new Set<string>();
    for (let node = 1; node <= 4; node++) {
      for (let host = 10; host <= LAST_POD_HOST; host += 37) {
        const { ip4, ip6 } = podAddresses(node, host);
        assert.ok(isIPv4(ip4) && isIPv6(ip6), `${ip4} ${ip6}`);
        assert.ok(!seen.has(ip4) && !seen.has(ip6));
        seen.add(ip4).add(ip6);
      }
    }
  });
});

describe('cluster lab names', () => {
  it('names namespaces <prefix>-<role> and links within the 15-character limit', () => {
    assert.deepEqual(clusterNamespaces('ec42', 2), {
      sw: 'ec42-sw',
      gw: 'ec42-gw',
      out: 'ec42-out',
      nodes: ['ec42-n1', 'ec42-n2'],
    });
    assert.equal(podNamespace('ec42', 7), 'ec42-p7');
    assert.equal(switchNodePort(16), 'sw-n16');
    assert.ok(podHostVeth(999_999_999).length <= 15);
  });

  it('isRoleName() refuses pod names that would be taken for a namespace role', () => {
    for (const name of ['sw', 'gw', 'out', 'n1', 'n12', 'p3']) assert.equal(isRoleName(name), true, name);
    for (const name of ['a1', 'nginx', 'n1a', 'gw2', 'out-1']) assert.equal(isRoleName(name), false, name);
  });
});
