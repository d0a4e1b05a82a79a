import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { readClusterObject } from '../cluster/objects.js';
import { type ClusterLab, createClusterLab, ETC_NETNS } from './cluster-lab.js';
import type { RequestResult } from './echo-protocol.js';
import { listNamespaces } from './lab.js';

const SKIP = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : false;
const PORT = 7010;
const PREFIX = `ect${process.pid}`;

/** True while the process exists and is not a zombie waiting for its parent. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function peer(result: RequestResult): string {
  assert.ok(result.ok, `no echo: ${result.ok ? '' : `${result.failure} ${result.message}`}`);
  return result.reply.peer;
}

async function labNamespacesLeft(): Promise<string[]> {
  return (await listNamespaces()).filter((name) => name.startsWith(`${PREFIX}-`));
}

function etcNetnsLeft(): string[] {
  return existsSync(ETC_NETNS) ? readdirSync(ETC_NETNS).filter((name) => name.startsWith(`${PREFIX}-`)) : [];
}

describe('cluster lab', { skip: SKIP, timeout: 90_000 }, () => {
  let lab: ClusterLab;
  const pids: number[] = [];

  before(async () => {
    lab = await createClusterLab({
      prefix: PREFIX,
      pods: [
        { name: 'a1', namespace: 'alpha', node: 1 },
        { name: 'b1', namespace: 'beta', node: 2 },
        { name: 'a2', namespace: 'alpha', node: 1 },
      ],
    });
    for (const ns of ['out', 'b1', 1] as const) pids.push((await lab.startEcho([PORT], { ns })).pid);
  });

  after(async () => {
    await lab?.destroy();
  });

  it('names its namespaces <prefix>-<role> and numbers pods in their node subnet', async () => {
    assert.deepEqual(
      (await labNamespacesLeft()).sort(),
      [`${PREFIX}-gw`, `${PREFIX}-n1`, `${PREFIX}-n2`, `${PREFIX}-n3`, `${PREFIX}-out`]
        .concat([`${PREFIX}-p1`, `${PREFIX}-p2`, `${PREFIX}-p3`, `${PREFIX}-sw`])
        .sort(),
    );
    assert.deepEqual(
      lab.pods().map((pod) => [pod.name, pod.netns, pod.nodeName, pod.ip4, pod.ip6]),
      [
        ['a1', `${PREFIX}-p1`, 'node1', '10.128.0.10', 'fd01:0:0:1::10'],
        ['b1', `${PREFIX}-p2`, 'node2', '10.128.2.10', 'fd01:0:0:2::10'],
        ['a2', `${PREFIX}-p3`, 'node1', '10.128.0.11', 'fd01:0:0:1::11'],
      ],
    );
    assert.deepEqual(lab.nodeNames, ['node1', 'node2', 'node3']);
    assert.deepEqual(
      [
        lab.netns(2),
        lab.netns('n3'),
        lab.netns('p2'),
        lab.netns('b1'),
        lab.netns('gw'),
        lab.netns(`${PREFIX}-sw`),
      ],
      [`${PREFIX}-n2`, `${PREFIX}-n3`, `${PREFIX}-p2`, `${PREFIX}-p2`, `${PREFIX}-gw`, `${PREFIX}-sw`],
    );
    assert.throws(() => lab.netns(4), RangeError);
    assert.throws(() => lab.netns('er1-pod'), /no namespace 'er1-pod'/);
    const forward = await lab.exec(2, 'sysctl', [
      '-n',
      'net.ipv4.ip_forward',
      'net.ipv6.conf.all.forwarding',
    ]);
    assert.equal(forward.stdout, '1\n1\n');
    const podForward = await lab.exec('a1', 'sysctl', ['-n', 'net.ipv4.ip_forward']);
    assert.equal(podForward.stdout, '0\n');
  });

  it('pods on different nodes reach each other by pod IP with their own addresses (no NAT)', async () => {
    const a1 = lab.pod('a1');
    const b1 = lab.pod('b1');
    assert.equal(peer(await lab.tcpRequest('a1', b1.ip4, PORT)), a1.ip4);
    assert.equal(peer(await lab.tcpRequest('a1', b1.ip6, PORT)), a1.ip6);
    assert.equal(peer(await lab.udpRequest('a2', b1.ip4, PORT)), lab.pod('a2').ip4);
    assert.equal(peer(await lab.udpRequest('a2', b1.ip6, PORT)), lab.pod('a2').ip6);
  });

  it("a pod reaches the outside from its node's address (the SDN masquerade), IPv4 and IPv6", async () => {
    const [node1, node2] = lab.addresses.nodes;
    const [out4] = lab.addresses.outside4;
    const [out6] = lab.addresses.outside6;
    assert.equal(peer(await lab.tcpRequest('a1', out4!, PORT)), node1!.node4);
    assert.equal(peer(await lab.tcpRequest('a1', out6!, PORT)), node1!.node6);
    assert.equal(peer(await lab.udpRequest('b1', out4!, PORT)), node2!.node4);
    assert.equal(peer(await lab.udpRequest('b1', out6!, PORT)), node2!.node6);
  });

  it('an SNAT at priority srcnat in the node wins over the masquerade at srcnat + 10', async () => {
    const egressIP = lab.addresses.egressCandidates4[0]!;
    const table = 'lab_test_snat';
    await lab.ip(1, ['address', 'add', `${egressIP}/24`, 'dev', 'eth0']);
    await lab.exec(1, 'nft', ['-f', '-'], {
      input: `table ip ${table} {\n chain postrouting {\n  type nat hook postrouting priority srcnat; policy accept;\n  ip saddr ${lab.pod('a1').ip4} oifname "eth0" snat to ${egressIP}\n }\n}\n`,
    });
    try {
      assert.equal(peer(await lab.tcpRequest('a1', lab.addresses.outside4[0]!, PORT)), egressIP);
      assert.equal(
        peer(await lab.tcpRequest('a2', lab.addresses.outside4[0]!, PORT)),
        lab.addresses.nodes[0]!.node4,
      );
    } finally {
      await lab.exec(1, 'nft', ['delete', 'table', 'ip', table]);
      await lab.ip(1, ['address', 'del', `${egressIP}/24`, 'dev', 'eth0']);
    }
  });

  it('the gateway has no route to a pod, so a pod without the masquerade gets no answer', async () => {
    const b1 = lab.pod('b1');
    for (const address of [b1.ip4, b1.ip6]) {
      const result = await lab.tcpRequest('gw', address, PORT, 1_000);
      assert.equal(result.ok ? 'ok' : result.failure, 'unreachable', address);
    }
    const routes = await lab.ip('gw', ['-j', 'route', 'show', 'table', 'all']);
    assert.doesNotMatch(routes.stdout, /"10\.128\.|"fd01:/);
    await lab.setSdnMasquerade(2, false);
    try {
      const result = await lab.tcpRequest('b1', lab.addresses.outside4[0]!, PORT, 1_000);
      assert.equal(result.ok ? result.reply.peer : result.failure, 'timeout');
    } finally {
      await lab.setSdnMasquerade(2, true);
    }
    assert.equal(
      peer(await lab.tcpRequest('b1', lab.addresses.outside4[0]!, PORT)),
      lab.addresses.nodes[1]!.node4,
    );
  });

  it('dnsmasq answers a record with the TTL set, and setRecords changes the answer', async () => {
    const server4 = lab.addresses.outside4[2]!;
    const server6 = lab.addresses.outside6[2]!;
    const dns = await lab.startDnsmasq({
      listen: [server4, server6],
      records: { 'www.foo.com': ['203.0.113.30', '2001:db8:113::30'] },
      ttl: 42,
    });
    pids.push(dns.process.pid);
    const a = await lab.dnsQuery('a1', 'www.foo.com', { server: server4 });
    assert.deepEqual(a, { ok: true, answers: [{ address: '203.0.113.30', ttl: 42 }], servers: [server4] });
    const aaaa = await lab.dnsQuery(2, 'www.foo.com', { server: server6, type: 'AAAA' });
    assert.deepEqual(aaaa.ok && aaaa.answers, [{ address: '2001:db8:113::30', ttl: 42 }]);
    const missing = await lab.dnsQuery(2, 'nope.foo.com', { server: server4 });
    assert.equal(missing.ok ? 'answered' : missing.code, 'ENOTFOUND');

    await dns.setRecords({ 'www.foo.com': ['203.0.113.31'], 'api.foo.com': ['203.0.113.32'] });
    const changed = await lab.dnsQuery('a1', 'www.foo.com', { server: server4 });
    assert.deepEqual(changed.ok && changed.answers, [{ address: '203.0.113.31', ttl: 42 }]);
    const added = await lab.dnsQuery('a1', 'api.foo.com', { server: server4 });
    assert.deepEqual(added.ok && added.answers, [{ address: '203.0.113.32', ttl: 42 }]);
    const gone = await lab.dnsQuery('a1', 'www.foo.com', { server: server6, type: 'AAAA' });
    assert.equal(gone.ok ? 'answered' : gone.code, 'ENODATA');
    // The pod's query left through its node's masquerade.
    const fromPod = dns.queries().find((query) => query.name === 'api.foo.com');
    assert.deepEqual(fromPod, { type: 'A', name: 'api.foo.com', from: lab.addresses.nodes[0]!.node4 });
  });

  it('a process in a node namespace reads the lab resolv.conf as /etc/resolv.conf', async () => {
    const server = lab.addresses.outside4[2]!;
    await lab.setNodeResolvers(3, [server]);
    const seen = await lab.exec(3, 'cat', ['/etc/resolv.conf']);
    assert.match(seen.stdout, new RegExp(`^nameserver ${server.replaceAll('.', '\\.')}$`, 'm'));
    const answer = await lab.dnsQuery(3, 'api.foo.com');
    assert.deepEqual(answer, {
      ok: true,
      answers: [{ address: '203.0.113.32', ttl: 42 }],
      servers: [server],
    });
    assert.ok(existsSync(`${ETC_NETNS}/${lab.ns.nodes[2]}/resolv.conf`));
  });

  it('cutNode makes a node unreachable and restoreNode brings it back', async () => {
    const node1 = lab.addresses.nodes[0]!;
    const b1 = lab.pod('b1');
    assert.equal(peer(await lab.tcpRequest('gw', node1.node4, PORT)), lab.addresses.gateway4);
    const before = (await lab.neighbours('gw')).find((entry) => entry.address === node1.node4);
    assert.equal(before?.lladdr, node1.mac);
    await lab.cutNode(1);
    for (const [from, to] of [
      ['gw', node1.node4],
      ['gw', node1.node6],
      ['a1', b1.ip4],
    ] as const) {
      const result = await lab.tcpRequest(from, to, PORT, 1_000);
      assert.ok(!result.ok, `${from} still reaches ${to}`);
      assert.match(result.failure, /^(timeout|unreachable)$/);
    }
    await lab.restoreNode(1);
    assert.equal(peer(await lab.tcpRequest('gw', node1.node4, PORT, 5_000)), lab.addresses.gateway4);
    assert.equal(peer(await lab.tcpRequest('a1', b1.ip6, PORT, 5_000)), lab.pod('a1').ip6);
  });

  it('addPod and removePod change a running lab, and podManifests describes its pods', async () => {
    const c1 = await lab.addPod({ name: 'c1', namespace: 'gamma', node: 3 });
    assert.deepEqual([c1.ip4, c1.ip6, c1.netns], ['10.128.4.10', 'fd01:0:0:3::10', `${PREFIX}-p4`]);
    const echo = await lab.startEcho([PORT], { ns: 'c1' });
    assert.equal(peer(await lab.tcpRequest('a1', c1.ip4, PORT)), lab.pod('a1').ip4);
    await assert.rejects(lab.addPod({ name: 'c1', namespace: 'gamma', node: 1 }), /exists already/);
    await assert.rejects(lab.addPod({ name: 'n1', namespace: 'gamma', node: 1 }), TypeError);

    const objects = parseAllDocuments(lab.podManifests()).map((document) => {
      const result = readClusterObject(document.toJS());
      assert.ok(result.ok && result.object !== undefined);
      return result.object;
    });
    assert.deepEqual(
      objects.map((object) => object.key),
      ['alpha', 'beta', 'gamma', 'alpha/a1', 'beta/b1', 'alpha/a2', 'gamma/c1'],
    );
    const pod = objects.find((object) => object.key === 'gamma/c1');
    assert.deepEqual(pod?.kind === 'Pod' && [pod.object.nodeName, pod.object.ips], [
      'node3',
      [c1.ip4, c1.ip6],
    ]);

    await lab.removePod('c1');
    assert.equal(echo.running(), false);
    assert.ok(!(await labNamespacesLeft()).includes(c1.netns));
    assert.doesNotMatch(lab.podManifests(), /c1|gamma/);
    assert.throws(() => lab.pod('c1'), /no pod 'c1'/);
    assert.throws(() => lab.netns('c1'), /no namespace 'c1'/);
  });

  it('refuses a second lab with the same prefix and leaves the first alone', async () => {
    await assert.rejects(createClusterLab({ prefix: PREFIX }), /already exists/);
    assert.equal((await labNamespacesLeft()).length, 9);
  });

  it('destroy() leaves no namespace, process or /etc/netns entry, and can be called again', async () => {
    assert.ok(etcNetnsLeft().length > 0);
    const running = lab.processes().length;
    assert.ok(running >= 4, `${running} processes`);
    await lab.destroy();
    await lab.destroy();
    assert.deepEqual(await labNamespacesLeft(), []);
    assert.deepEqual(etcNetnsLeft(), []);
    assert.deepEqual(
      pids.filter((pid) => alive(pid)),
      [],
    );
    assert.deepEqual(lab.processes(), []);
    await assert.rejects(lab.spawnIn('out', 'true'), /after destroy/);
  });
});

describe('createClusterLab() set-up failures', { skip: SKIP, timeout: 30_000 }, () => {
  it('removes everything it made when a step fails, and names the failure', async () => {
    const prefix = `ecf${process.pid}`;
    const failAt = `${prefix}-n2 link add cbr0`;
    await assert.rejects(
      createClusterLab({
        prefix,
        nodes: 2,
        log: (line) => {
          if (line.includes(failAt)) throw new Error(`stopped at ${failAt}`);
        },
      }),
      new RegExp(`stopped at ${failAt}`),
    );
    assert.deepEqual(
      (await listNamespaces()).filter((name) => name.startsWith(`${prefix}-`)),
      [],
    );
  });

  it('refuses bad options before it makes anything', async () => {
    await assert.rejects(createClusterLab({ prefix: '1bad' }), /bad prefix '1bad'/);
    await assert.rejects(createClusterLab({ nodes: 17 }), RangeError);
    await assert.rejects(
      createClusterLab({ pods: [{ name: 'a1', namespace: 'alpha', node: 4 }] }),
      /pod 'a1' on node 4: the nodes are 1 to 3/,
    );
    const twice = { name: 'a1', namespace: 'alpha', node: 1 };
    await assert.rejects(createClusterLab({ pods: [twice, twice] }), /two pods named 'a1'/);
  });
});
