/**
 * Static egress IPs in manual mode (issue 12), through `egress-router node` on each node of the
 * cluster lab, from NetNamespace and HostSubnet manifests (`--source dir:`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ClusterLab, createClusterLab } from '../../src/lab/cluster-lab.js';
import { hostSubnetManifests, netNamespaceManifest } from '../../src/lab/egress-manifests.js';
import { eventually, type LabAgents, labAgents } from '../../src/lab/node-agents.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : false;

describe('egress IPs, manual mode, through the node agent', { skip }, () => {
  let lab: ClusterLab;
  let agents: LabAgents;
  let e4: string;
  let e6: string;
  let spare4: string;

  /** HostSubnets with these egress IPs per node (1-based). */
  const hostSubnets = (egress: Record<number, readonly string[]>) =>
    hostSubnetManifests(lab, { egressIPs: (node) => egress[node] ?? [] });
  const netNamespace = netNamespaceManifest;

  before(async () => {
    lab = await createClusterLab({
      prefix: `eip${process.pid % 100000}`,
      pods: [
        { name: 'bl1', namespace: 'blue', node: 1 },
        { name: 'bl2', namespace: 'blue', node: 2 },
        { name: 'bl3', namespace: 'blue', node: 3 },
        { name: 're1', namespace: 'red', node: 1 },
        { name: 'gr1', namespace: 'green', node: 1 },
        { name: 'vi1', namespace: 'violet', node: 1 },
      ],
    });
    [e4, spare4] = lab.addresses.egressCandidates4 as [string, string];
    e6 = lab.addresses.egressCandidates6[0] as string;
    await lab.startEcho({ tcp: [80] });
    agents = labAgents(lab);
    agents.write('hostsubnets.yaml', hostSubnets({ 2: [e4, e6] }));
    agents.write(
      'netnamespaces.yaml',
      [
        netNamespace('blue', 10, [e4]),
        netNamespace('red', 11, []),
        netNamespace('green', 12, [spare4]),
        netNamespace('violet', 13, [e6]),
      ].join('\n---\n'),
    );
    for (const node of [1, 2, 3]) await agents.start(node);
  });
  after(async () => {
    await agents?.close();
    await lab?.destroy();
  });

  const source = async (pod: string, host = lab.addresses.outside4[0] as string) => {
    const result = await lab.tcpRequest(lab.pod(pod).netns, host, 80, 1_500);
    return result.ok ? result.reply.peer : false;
  };
  const until = async (check: () => Promise<boolean>, timeoutMs = 10_000) =>
    (await eventually(async () => ((await check()) ? true : undefined), timeoutMs)) === true;

  test("every pod of the namespace, on every node, leaves with the egress IP; another namespace with its node's", async () => {
    assert.equal(await source('bl1'), e4, 'from node 1, through node 2');
    assert.equal(await source('bl2'), e4, 'on the hosting node');
    assert.equal(await source('bl3'), e4, 'from node 3, through node 2');
    assert.equal(await source('re1'), lab.addresses.nodes[0]?.node4);
  });

  test('IPv6: the same fields, the same path', async () => {
    assert.equal(await source('vi1', lab.addresses.outside6[0]), e6);
  });

  test('an egress IP no node hosts: dropped, and the status says so', async () => {
    assert.equal(await source('gr1'), false);
    const status = (await agents.cli(1, ['status'])).stdout;
    assert.match(
      status,
      new RegExp(`green: ${spare4.replace(/\./g, '\\.')} DROPPED: no node hosts egress IP`),
    );
    assert.match(status, new RegExp(`blue: ${e4.replace(/\./g, '\\.')} on node2 \\(`));
    const scrape =
      "fetch('http://127.0.0.1:9093/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))";
    const metrics = (await lab.exec(2, process.execPath, ['-e', scrape])).stdout;
    assert.match(metrics, /egress_router_node_egress_ip_namespaces\{state="dropped"\} 1/);
    assert.match(metrics, /egress_router_node_egress_ips_hosted\{mode="manual"\} 2/);
  });

  test('two HostSubnets claiming one IP: neither hosts it, the status names both; resolved, it flows again', async () => {
    agents.write('hostsubnets.yaml', hostSubnets({ 2: [e4, e6], 3: [e4] }));
    assert.ok(await until(async () => (await source('bl1')) === false), 'dropped while claimed twice');
    const status = (await agents.cli(1, ['status'])).stdout;
    assert.match(status, /Multiple nodes \(192\.168\.50\.12, 192\.168\.50\.13\) claiming EgressIP/);
    agents.write('hostsubnets.yaml', hostSubnets({ 2: [e4, e6] }));
    assert.ok(await until(async () => (await source('bl1')) === e4));
  });

  test('moving the IP moves the traffic: the old node lets the address go, the gateway learns the new owner', async () => {
    agents.write('hostsubnets.yaml', hostSubnets({ 3: [e4], 2: [e6] }));
    const held = async (node: number) =>
      (await lab.exec(node, 'ip', ['-4', 'addr', 'show', 'dev', 'eth0'])).stdout.includes(`${e4}/`);
    assert.ok(await until(async () => (await held(3)) && !(await held(2))), 'the address moved');
    assert.ok(await until(async () => (await source('bl1')) === e4 && (await source('bl2')) === e4));
    const neighbours = (await lab.exec('gw', 'ip', ['neigh', 'show', e4])).stdout;
    assert.match(
      neighbours,
      new RegExp(lab.addresses.nodes[2]?.mac ?? 'none', 'i'),
      'the gateway has node 3',
    );
  });

  test('a restart of an agent changes nothing in the datapath', async () => {
    const rules = async () => (await lab.exec(1, 'ip', ['rule'])).stdout;
    const before = await rules();
    await agents.start(1);
    assert.equal(await rules(), before);
    assert.equal(await source('bl1'), e4);
  });

  test("an agent restarted after a node left removes that node's rules and routes (left by its earlier run)", async () => {
    const [, , c, d] = (lab.addresses.nodes[2]?.node4 ?? '').split('.').map(Number) as number[];
    const table3 = String(1000 + ((((c as number) & 0x0f) << 8) | (d as number)));
    const rules = async () => (await lab.exec(1, 'ip', ['rule'])).stdout;
    const routes = async (family: '-4' | '-6') =>
      (await lab.exec(1, 'ip', [family, 'route', 'show', 'table', table3])).stdout.trim();
    assert.match(await rules(), new RegExp(`lookup ${table3}`), "node 3's rule, before");
    await agents.stop(1);
    const withoutNode3 = hostSubnets({ 3: [e4], 2: [e6] })
      .split('\n---\n')
      .filter((doc) => !doc.includes('"node3"'))
      .join('\n---\n');
    agents.write('hostsubnets.yaml', withoutNode3);
    // And a rule for node 2's table with a mark no node has (as an earlier scheme might have left).
    const table2 = (await rules()).match(/lookup (1\d{3})/)?.[1] as string;
    await lab.exec(1, 'ip', [
      'rule',
      'add',
      'pref',
      table2,
      'fwmark',
      '0x1ffe0000/0x1fff0000',
      'lookup',
      table2,
    ]);
    await agents.start(1);
    assert.ok(
      await until(
        async () =>
          !(await rules()).includes(`lookup ${table3}`) &&
          (await routes('-4')) === '' &&
          (await routes('-6')) === '',
      ),
      `node 3's rules and routes gone: ${await rules()}`,
    );
    assert.match(await rules(), /lookup 1\d{3}/, "node 2's rule stays");
    assert.doesNotMatch(await rules(), /0x1ffe0000/, 'the rule with a mark no node has is gone');
    agents.write('hostsubnets.yaml', hostSubnets({ 3: [e4], 2: [e6] }));
    assert.ok(await until(async () => (await source('bl1')) === e4), 'node 3 back: through it again');
  });

  test('what someone else removes is restored at the next check: the overlay device, a rule, the egress IP address, the MTU', async () => {
    await agents.start(1, ['--verify-interval', '0.3']);
    await agents.start(3, ['--verify-interval', '0.3']);
    assert.equal(await source('bl1'), e4, 'from node 1 through node 3');
    await lab.exec(1, 'ip', ['link', 'del', 'egv']);
    assert.ok(await until(async () => (await source('bl1')) === e4, 3_000), 'the device made again');
    const rule = (await lab.exec(1, 'ip', ['rule'])).stdout.match(
      /^(\d+):\s+from all fwmark (\S+) lookup (\d+)/m,
    );
    assert.ok(rule, 'a rule to a peer');
    await lab.exec(1, 'ip', ['rule', 'del', 'pref', rule[1] as string]);
    assert.ok(
      await until(
        async () => (await lab.exec(1, 'ip', ['rule'])).stdout.includes(`lookup ${rule[3]}`),
        3_000,
      ),
      'the rule made again',
    );
    await lab.exec(3, 'ip', ['addr', 'del', `${e4}/24`, 'dev', 'eth0']);
    assert.ok(
      await until(async () => (await source('bl3')) === e4 && (await source('bl1')) === e4, 3_000),
      'the address put back on the hosting node',
    );
    // Not a removal, but the same check: the uplink's MTU changed, the overlay device follows.
    const egvMtu = async () => Number((await lab.exec(1, 'cat', ['/sys/class/net/egv/mtu'])).stdout.trim());
    assert.equal(await egvMtu(), 1450);
    await lab.exec(1, 'ip', ['link', 'set', 'dev', 'eth0', 'mtu', '1400']);
    try {
      assert.ok(
        await until(async () => (await egvMtu()) === 1350, 3_000),
        'egv follows a smaller uplink MTU',
      );
    } finally {
      await lab.exec(1, 'ip', ['link', 'set', 'dev', 'eth0', 'mtu', '1500']);
    }
    assert.ok(await until(async () => (await egvMtu()) === 1450, 3_000), 'and back');
    assert.equal(await source('bl1'), e4);
    await agents.start(1);
    await agents.start(3);
  });

  test('node remove deletes the table and the overlay device', async () => {
    await agents.stop(3);
    const result = await agents.cli(3, ['remove']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /removed the egress IP overlay device egv/);
    const links = (await lab.exec(3, 'ip', ['link', 'show'])).stdout;
    assert.doesNotMatch(links, /egv/);
  });
});

describe('egress IPs, automatic mode (egressCIDRs), through the node agent', { skip }, () => {
  let lab: ClusterLab;
  let agents: LabAgents;
  let e4: string;

  before(async () => {
    lab = await createClusterLab({
      prefix: `eia${process.pid % 100000}`,
      pods: [
        { name: 'bl1', namespace: 'blue', node: 1 },
        { name: 'bl3', namespace: 'blue', node: 3 },
      ],
    });
    e4 = lab.addresses.egressCandidates4[10] as string;
    await lab.startEcho({ tcp: [80] });
    agents = labAgents(lab);
    agents.write(
      'hostsubnets.yaml',
      hostSubnetManifests(lab, { egressCIDRs: (node) => (node === 1 ? [] : ['192.168.50.96/28']) }),
    );
    agents.write('netnamespaces.yaml', netNamespaceManifest('blue', 10, [e4]));
    for (const node of [1, 2, 3]) await agents.start(node);
  });
  after(async () => {
    await agents?.close();
    await lab?.destroy();
  });

  const source = async (pod: string) => {
    const result = await lab.tcpRequest(lab.pod(pod).netns, lab.addresses.outside4[0] as string, 80, 1_000);
    return result.ok ? result.reply.peer : false;
  };
  const holds = async (node: number) =>
    (await lab.exec(node, 'ip', ['-4', 'addr', 'show', 'dev', 'eth0'])).stdout.includes(`${e4}/`);
  const gatewayHas = async (node: number) =>
    (await lab.exec('gw', 'ip', ['neigh', 'show', e4])).stdout
      .toLowerCase()
      .includes(lab.addresses.nodes[node - 1]?.mac ?? '-');

  test('the IP goes to one node whose range holds it; every pod leaves with it', async () => {
    assert.ok(await until(async () => (await source('bl1')) === e4));
    assert.equal(await source('bl3'), e4);
    assert.equal((await holds(2)) !== (await holds(3)), true, 'exactly one of the two hosts it');
    assert.match((await agents.cli(1, ['status'])).stdout, /blue: \S+ on node[23] \(\S+, automatic\)/);
  });

  test('its node dies (agent stopped, link cut): the IP moves, the gateway follows; it comes back: no flapping', async () => {
    const host = (await holds(2)) ? 2 : 3;
    const other = host === 2 ? 3 : 2;
    await agents.stop(host);
    await lab.cutNode(host);
    const cutAt = Date.now();
    assert.ok(await until(async () => (await source('bl1')) === e4 && (await holds(other)), 10_000), 'moved');
    const took = Date.now() - cutAt;
    assert.ok(await gatewayHas(other), 'the gateway has the new owner');
    await lab.restoreNode(host);
    await agents.start(host);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(await holds(host), false, `node ${host} let the address go (failover took ${took} ms)`);
    assert.equal(await holds(other), true);
    assert.ok(await gatewayHas(other));
    assert.equal(await source('bl1'), e4);
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  return (await eventually(async () => ((await check()) ? true : undefined), timeoutMs)) === true;
}
