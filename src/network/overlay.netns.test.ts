import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createClusterLab } from '../lab/cluster-lab.js';
import { addNetns, cleanup, fixtureValue, inNetns, netnsUnavailable, runFixture } from './_netns-harness.js';
import { macBytes } from './overlay.js';
import { createVxlanRequest, ruleRequest, tunnelRouteRequest } from './overlay-requests.js';

describe('overlay requests', () => {
  test('a VXLAN device in collect-metadata mode: kind, MAC, port big-endian, no learning', () => {
    const request = createVxlanRequest({ name: 'egv', mac: macBytes('02:65:67:00:00:0b'), port: 4790 });
    const bytes = Buffer.from(request.payload);
    assert.ok(bytes.includes(Buffer.from('vxlan\0')));
    assert.ok(bytes.includes(Buffer.from([0x02, 0x65, 0x67, 0, 0, 0x0b])));
    assert.ok(bytes.includes(Buffer.from([6, 0, 15, 0, 0x12, 0xb6])), 'IFLA_VXLAN_PORT 4790');
  });

  test('a rule carries its table in the header too when it fits, and always in FRA_TABLE', () => {
    const small = ruleRequest('add', { family: 2, priority: 100, table: 200 });
    assert.equal(small.payload[4], 200);
    const large = ruleRequest('add', { family: 2, priority: 100, table: 1000, fwmark: { mark: 1, mask: 1 } });
    assert.equal(large.payload[4], 0);
    assert.equal(large.payload[7], 1, 'FR_ACT_TO_TBL');
  });

  test('a tunnel route is onlink, to IPv4 remotes only', () => {
    const route = {
      family: 2,
      table: 1000,
      ifindex: 3,
      via: Buffer.from([169, 254, 0, 2]),
      remote: Buffer.from([1, 2, 3, 4]),
      id: 1,
    };
    const request = tunnelRouteRequest(route);
    assert.equal(request.payload[8], 4, 'RTNH_F_ONLINK');
    assert.throws(() => tunnelRouteRequest({ ...route, remote: Buffer.alloc(16) }), RangeError);
    assert.throws(() => macBytes('02:65:67:00:00'), RangeError);
  });
});

describe('the overlay in network namespaces', { skip: netnsUnavailable() }, () => {
  after(cleanup);

  test('device, neighbour, rules, table route and address removal: made, listed by ip, idempotent', () => {
    const ns = addNetns('ovl');
    const vxlan = { name: 'egv', mac: '02:65:67:00:00:0b', port: 4790 };
    assert.deepEqual(fixtureValue(ns, 'ensure-vxlan', vxlan), { created: true });
    assert.deepEqual(fixtureValue(ns, 'ensure-vxlan', vxlan), { created: false });
    assert.match(
      inNetns(ns, 'ip', '-d', 'link', 'show', 'egv'),
      /02:65:67:00:00:0b[\s\S]*vxlan external[\s\S]*dstport 4790/,
    );
    fixtureValue(ns, 'replace-neighbour', {
      ifname: 'egv',
      address: '169.254.0.12',
      mac: '02:65:67:00:00:0c',
    });
    fixtureValue(ns, 'replace-neighbour', {
      ifname: 'egv',
      address: 'fe80::6567:c',
      mac: '02:65:67:00:00:0c',
    });
    assert.match(
      inNetns(ns, 'ip', 'neigh', 'show', 'dev', 'egv'),
      /169\.254\.0\.12 lladdr 02:65:67:00:00:0c PERMANENT/,
    );
    const rule = { family: 4, priority: 1001, table: 1012, fwmark: { mark: 0x10000, mask: 0xff0000 } };
    assert.equal(fixtureValue(ns, 'ensure-rule', rule), true);
    assert.equal(fixtureValue(ns, 'ensure-rule', rule), false);
    fixtureValue(ns, 'ensure-rule', { family: 4, priority: 1000, table: 254, to: '192.168.50.0/24' });
    const rules = inNetns(ns, 'ip', 'rule', 'show');
    assert.match(rules, /1000:\s+from all to 192\.168\.50\.0\/24 lookup main/);
    assert.match(rules, /1001:\s+from all fwmark 0x10000\/0xff0000 lookup 1012/);
    const listed = fixtureValue(ns, 'list-rules', { family: 4 }) as unknown[];
    assert.deepEqual(
      listed.filter((r) => [1000, 1001].includes((r as { priority: number }).priority)),
      [
        { priority: 1000, table: 254 },
        { priority: 1001, table: 1012, fwmark: { mark: 0x10000, mask: 0xff0000 } },
      ],
      'listed as the kernel holds them',
    );
    const route = {
      family: 4,
      table: 1012,
      ifname: 'egv',
      via: '169.254.0.12',
      remote: '192.168.50.12',
      id: 1,
    };
    fixtureValue(ns, 'replace-tunnel-route', route);
    fixtureValue(ns, 'replace-tunnel-route', route);
    fixtureValue(ns, 'replace-tunnel-route', { ...route, family: 6, via: 'fe80::6567:c' });
    assert.match(
      inNetns(ns, 'ip', 'route', 'show', 'table', '1012'),
      /default\s+encap ip id 1 src 0\.0\.0\.0 dst 192\.168\.50\.12 .*via 169\.254\.0\.12 dev egv .*onlink/,
    );
    assert.match(
      inNetns(ns, 'ip', '-6', 'route', 'show', 'table', '1012'),
      /default\s+encap ip id 1 .*dst 192\.168\.50\.12 .*via fe80::6567:c dev egv/,
    );
    assert.equal(fixtureValue(ns, 'delete-tunnel-route', route), true);
    assert.equal(fixtureValue(ns, 'delete-tunnel-route', route), false);
    assert.equal(fixtureValue(ns, 'delete-rule', rule), true);
    assert.equal(fixtureValue(ns, 'delete-rule', rule), false);
    inNetns(ns, 'ip', 'addr', 'add', '192.0.2.7/24', 'dev', 'egv');
    assert.equal(fixtureValue(ns, 'remove-address', { ifname: 'egv', cidr: '192.0.2.7/24' }), true);
    assert.equal(fixtureValue(ns, 'remove-address', { ifname: 'egv', cidr: '192.0.2.7/24' }), false);
    assert.equal(
      runFixture(ns, 'replace-neighbour', {
        ifname: 'nope',
        address: '169.254.0.1',
        mac: '02:00:00:00:00:01',
      }).ok,
      false,
    );
  });

  test('on the cluster lab: a pod on node 1 leaves from an egress IP on node 2, through the overlay', async () => {
    const lab = await createClusterLab({
      prefix: `ovl${process.pid % 100000}`,
      nodes: 2,
      pods: [{ name: 'bl1', namespace: 'blue', node: 1 }],
    });
    try {
      await lab.startEcho({ tcp: [80] });
      const [n1, n2] = lab.addresses.nodes as unknown as [{ node4: string }, { node4: string }];
      const pod = lab.pod('bl1').ip4;
      const egressIp = lab.addresses.egressCandidates4[0] as string;
      const outside = lab.addresses.outside4[0] as string;
      const fixture = (node: number, op: string, input: unknown) => fixtureValue(lab.netns(node), op, input);
      for (const node of [1, 2]) {
        fixture(node, 'ensure-vxlan', { name: 'egv', mac: `02:65:67:00:00:0${node}`, port: 4790 });
        // Loose reverse-path filtering needs an address on the device (else the kernel drops at once).
        fixture(node, 'ensure-address', { ifname: 'egv', cidr: `169.254.0.${node}/32` });
        await lab.sysctl(node, 'net.ipv4.conf.egv.rp_filter', 2);
      }
      fixture(1, 'replace-neighbour', { ifname: 'egv', address: '169.254.0.2', mac: '02:65:67:00:00:02' });
      fixture(1, 'ensure-rule', { family: 4, priority: 1000, table: 254, to: '192.168.50.0/24' });
      fixture(1, 'ensure-rule', {
        family: 4,
        priority: 1001,
        table: 1002,
        fwmark: { mark: 0x10, mask: 0xff },
      });
      fixture(1, 'replace-tunnel-route', {
        family: 4,
        table: 1002,
        ifname: 'egv',
        via: '169.254.0.2',
        remote: n2.node4,
        id: 1,
      });
      // What the agent's table will do (src/egress-ip): mark on node 1, SNAT on node 2.
      await lab.exec(1, 'nft', [
        `add table inet t; add chain inet t pre { type filter hook prerouting priority mangle; }; add rule inet t pre ip saddr ${pod} ip daddr != 10.128.0.0/14 meta mark set 0x10`,
      ]);
      await lab.exec(2, 'ip', ['addr', 'add', `${egressIp}/24`, 'dev', 'eth0']);
      await lab.exec(2, 'nft', [
        `add table inet t; add chain inet t post { type nat hook postrouting priority srcnat; }; add rule inet t post ip saddr ${pod} ip daddr != 10.128.0.0/14 snat ip to ${egressIp}`,
      ]);
      const reached = await lab.tcpRequest(lab.pod('bl1').netns, outside, 80);
      assert.equal(reached.ok ? reached.reply.peer : reached, egressIp, `not ${n1.node4}: through node 2`);
    } finally {
      await lab.destroy();
    }
  });
});
