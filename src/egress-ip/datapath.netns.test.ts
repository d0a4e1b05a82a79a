/**
 * The egress IP datapath on the cluster lab, each node's part built from its plan: the overlay
 * (src/network/overlay.ts) and the agent table's egress rules (buildEgressIpRules), applied with the
 * agent's transaction path. The agent does not drive it yet (docs/egress-ips.md): this test does
 * what its reconcile will.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ClusterState } from '../cluster/types.js';
import { parseCanonicalCidr } from '../firewall/ip-range.js';
import { type ClusterLab, createClusterLab } from '../lab/cluster-lab.js';
import { fixtureValue } from '../network/_netns-harness.js';
import { planEgressIps } from './plan.js';
import { markOf } from './ruleset.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : false;
const APPLY = fileURLToPath(new URL('./_apply-fixture.js', import.meta.url));
const CLUSTER = '10.128.0.0/14';
const SERVICES = '172.30.0.0/16';

describe('egress IPs on the cluster lab (manual mode, the datapath)', { skip }, () => {
  let lab: ClusterLab;
  let egressIp: string;
  let outside: string;

  before(async () => {
    lab = await createClusterLab({
      prefix: `egi${process.pid % 100000}`,
      nodes: 3,
      pods: [
        { name: 'bl1', namespace: 'blue', node: 1 },
        { name: 'bl2', namespace: 'blue', node: 2 },
        { name: 'bl3', namespace: 'blue', node: 3 },
        { name: 're1', namespace: 'red', node: 1 },
        { name: 'gr1', namespace: 'green', node: 1 },
      ],
    });
    egressIp = lab.addresses.egressCandidates4[0] as string;
    outside = lab.addresses.outside4[0] as string;
    await lab.startEcho({ tcp: [80] });
    const nodes = lab.addresses.nodes;
    const state: ClusterState = {
      namespaces: new Map(),
      pods: new Map(
        lab.pods().map((p) => [
          `${p.namespace}/${p.name}`,
          {
            namespace: p.namespace,
            name: p.name,
            nodeName: `node${p.node}`,
            hostNetwork: false,
            phase: 'Running',
            ips: [p.ip4],
          },
        ]),
      ),
      egressNetworkPolicies: new Map(),
      netNamespaces: new Map([
        ['blue', { name: 'blue', netname: 'blue', netid: 10, egressIPs: [egressIp] }],
        [
          'green',
          { name: 'green', netname: 'green', netid: 11, egressIPs: [lab.addresses.egressCandidates4[1]] },
        ],
      ]),
      hostSubnets: new Map(
        nodes.map((n, i) => [
          `node${i + 1}`,
          {
            name: `node${i + 1}`,
            host: `node${i + 1}`,
            hostIP: n.node4,
            subnet: n.podSubnet4,
            egressIPs: i === 1 ? [egressIp] : [],
            egressCIDRs: [],
          },
        ]),
      ),
      problems: [],
    };
    const marks = nodes.map((n, i) => [n.node4, markOf(i + 1)] as [string, number]);
    const cluster = parseCanonicalCidr(CLUSTER);
    if (!cluster.ok) throw new Error(CLUSTER);
    for (const i of nodes.keys()) {
      const n = i + 1;
      const plan = planEgressIps({ state, nodeName: `node${n}`, clusterNetworks: [cluster.range] });
      const fixture = (op: string, input: unknown) => fixtureValue(lab.netns(n), op, input);
      // The overlay: this node's device and address, a route and neighbour per other node.
      fixture('ensure-vxlan', { name: 'egv', mac: `02:65:67:00:00:0${n}`, port: 4790 });
      fixture('ensure-address', { ifname: 'egv', cidr: `169.254.0.${n}/32` });
      await lab.sysctl(n, 'net.ipv4.conf.egv.rp_filter', 2);
      fixture('ensure-rule', { family: 4, priority: 1000, table: 254, to: '192.168.50.0/24' });
      for (const [j, other] of nodes.entries()) {
        if (j === i) continue;
        const table = 1000 + j + 1;
        fixture('replace-neighbour', {
          ifname: 'egv',
          address: `169.254.0.${j + 1}`,
          mac: `02:65:67:00:00:0${j + 1}`,
        });
        fixture('ensure-rule', {
          family: 4,
          priority: table,
          table,
          fwmark: { mark: markOf(j + 1), mask: 0x1fff0000 },
        });
        fixture('replace-tunnel-route', {
          family: 4,
          table,
          ifname: 'egv',
          via: `169.254.0.${j + 1}`,
          remote: other.node4,
          id: 1,
        });
      }
      for (const hosted of plan.hosted)
        await lab.exec(n, 'ip', ['addr', 'add', `${hosted.ip}/24`, 'dev', 'eth0']);
      const applied = spawnSync(
        'ip',
        [
          'netns',
          'exec',
          lab.netns(n),
          process.execPath,
          APPLY,
          JSON.stringify({
            clusterNetworks: [CLUSTER],
            serviceNetworks: [SERVICES],
            remote: [...plan.remote],
            hosted: plan.hosted,
            dropped: [...plan.dropped],
            marks,
          }),
        ],
        { encoding: 'utf8' },
      );
      assert.equal(applied.stdout.trim(), '{"ok":true}', `node ${n}: ${applied.stdout}${applied.stderr}`);
    }
  });
  after(async () => {
    await lab?.destroy();
  });

  const source = async (pod: string) => {
    const result = await lab.tcpRequest(lab.pod(pod).netns, outside, 80, 1_500);
    return result.ok ? result.reply.peer : false;
  };

  test("every pod of the namespace, on every node, leaves with the egress IP; another namespace with its node's", async () => {
    assert.equal(await source('bl1'), egressIp, 'from node 1, through node 2');
    assert.equal(await source('bl2'), egressIp, 'on the hosting node');
    assert.equal(await source('bl3'), egressIp, 'from node 3, through node 2');
    assert.equal(await source('re1'), lab.addresses.nodes[0]?.node4, 'no egress IP: its node');
  });

  test("the mark's other bits (kube-proxy's, a CNI's) are kept: ours are ORed in under the mask", async () => {
    const bl1 = lab.pod('bl1').ip4;
    // Another component marks the pod's packets before us (raw), and counts what it sees after us.
    const other = [
      'add table inet other',
      'add chain inet other raw { type filter hook prerouting priority raw ; }',
      `add rule inet other raw ip saddr ${bl1} meta mark set 0x4000`,
      'add chain inet other after { type filter hook prerouting priority -140 ; }',
      `add rule inet other after ip saddr ${bl1} meta mark 0x10024000 counter`,
    ];
    for (const command of other) await lab.exec(1, 'nft', command.split(' '));
    try {
      assert.equal(await source('bl1'), egressIp, 'still routed to node 2 with the other bit set');
      const listed = (await lab.exec(1, 'nft', ['list', 'chain', 'inet', 'other', 'after'])).stdout;
      const packets = Number(/counter packets (\d+)/.exec(listed)?.[1] ?? 0);
      assert.ok(packets > 0, `node 2's mark with 0x4000 kept: ${listed}`);
    } finally {
      await lab.exec(1, 'nft', ['delete', 'table', 'inet', 'other']);
    }
  });

  test('a namespace whose egress IP no node hosts is dropped', async () => {
    assert.equal(await source('gr1'), false);
  });

  test('no new connection from outside to the egress IP; the node IP still answers', async () => {
    await lab.startEcho({ tcp: [8081] }, { ns: 2 });
    const node2 = lab.addresses.nodes[1]?.node4 as string;
    assert.equal((await lab.tcpRequest('out', node2, 8081, 1_000)).ok, true);
    const inbound = await lab.tcpRequest('out', egressIp, 8081, 1_000);
    assert.equal(inbound.ok ? 'connected' : inbound.failure, 'refused', 'rejected, as openshift-sdn did');
  });
});
