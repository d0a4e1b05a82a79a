/**
 * `npm run demo:node` (also the second half of `npm run demo`): builds a simulated cluster in
 * network namespaces (two nodes on an underlay bridge, pods of two namespaces, a gateway to the
 * outside, outside servers that answer with the source address they see, dnsmasq), runs the node
 * agent on each node from a directory of manifests, applies the seed's example EgressNetworkPolicy,
 * shows what gets through and what does not, `egress-router node status`, an admin rule in
 * OPENSHIFT-ADMIN-OUTPUT-RULES, then removes everything. Needs root.
 */
import { type ClusterLab, createClusterLab } from '../src/lab/cluster-lab.js';
import { eventually, labAgents } from '../src/lab/node-agents.js';

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('npm run demo:node: needs root (it builds network namespaces); run it as root\n');
    return 1;
  }
  say(
    'Building a simulated cluster: 2 nodes, pods of namespaces "shop" and "batch", a gateway, outside servers, DNS',
  );
  const lab = await createClusterLab({
    prefix: `dnode${process.pid % 100000}`,
    nodes: 2,
    pods: [
      { name: 'shop-web', namespace: 'shop', node: 1 },
      { name: 'shop-worker', namespace: 'shop', node: 2 },
      { name: 'batch-job', namespace: 'batch', node: 1 },
    ],
  });
  try {
    return await demo(lab);
  } finally {
    await lab.destroy();
    say('Cluster removed.');
  }
}

async function demo(lab: ClusterLab): Promise<number> {
  const a = lab.addresses;
  const [o25, o26, o27] = a.outside4 as [string, string, string];
  await lab.ip('out', ['addr', 'add', '1.2.3.4/32', 'dev', lab.interfaces.outEth0]);
  await lab.ip('gw', ['route', 'add', '1.2.3.0/24', 'dev', lab.interfaces.gwOutside]);
  await lab.startEcho({ tcp: [80] });
  await lab.startDnsmasq({ listen: o25, ttl: 5, records: { 'www.foo.com': [o26, a.outside6[1]!] } });
  for (const node of [1, 2]) await lab.setNodeResolvers(node, [o25]);
  say(
    `Outside servers: 1.2.3.4, ${o26} (www.foo.com), ${o27}; nodes ${a.nodes.map((n) => `${n.name} ${n.node4}`).join(', ')}`,
  );

  const agents = labAgents(lab);
  try {
    await Promise.all([1, 2].map((node) => agents.start(node)));
    say(
      'The node agent runs on each node: egress-router node --source dir:<manifests> (NODE_NAME=node1, node2)',
    );
    await show(lab, 'Before any policy');

    const policy = {
      kind: 'EgressNetworkPolicy',
      apiVersion: 'v1',
      metadata: { name: 'default', namespace: 'shop' },
      spec: {
        egress: [
          { type: 'Allow', to: { cidrSelector: '1.2.3.0/24' } },
          { type: 'Allow', to: { dnsName: 'www.foo.com' } },
          { type: 'Deny', to: { cidrSelector: '0.0.0.0/0' } },
        ],
      },
    };
    say("The cluster admin adds the seed's example policy to namespace shop:");
    process.stdout.write(`${JSON.stringify(policy, null, 2)}\n`);
    agents.write('shop-policy.json', JSON.stringify(policy));
    await eventually(
      async () => ((await lab.tcpRequest(lab.pod('shop-web').netns, o27, 80, 800)).ok ? undefined : true),
      10_000,
    );
    await show(lab, 'With the policy (batch has none, pod-to-pod traffic is never filtered)');

    say('egress-router node status, on node1:');
    process.stdout.write((await agents.cli(1, ['status'])).stdout);

    say(
      'An admin rule in OPENSHIFT-ADMIN-OUTPUT-RULES on node1 (it survives every reload): drop port 80 to 1.2.3.4',
    );
    await lab.exec(1, 'nft', [
      'add',
      'rule',
      'inet',
      'egress_router_node',
      'OPENSHIFT-ADMIN-OUTPUT-RULES',
      'ip',
      'daddr',
      '1.2.3.4',
      'tcp',
      'dport',
      '80',
      'drop',
    ]);
    await show(lab, 'With the admin rule on node1');

    say("A policy with a mistake fails closed for its namespace only, with the API server's message:");
    agents.write(
      'batch-policy.yaml',
      'kind: EgressNetworkPolicy\napiVersion: network.openshift.io/v1\nmetadata: {name: p, namespace: batch}\nspec:\n  egress:\n  - {type: Allow, to: {cidrSelector: 1.2.3.4/24}}\n',
    );
    const closed = await eventually(async () => {
      const status = await agents.status(1);
      return status.namespaces.find((n) => n.namespace === 'batch' && n.state === 'failed-closed');
    }, 10_000);
    process.stdout.write(`  batch: ${closed?.state}: ${closed?.errors?.[0]}\n`);
    await show(lab, 'With the broken batch policy');
    return 0;
  } finally {
    await agents.close();
  }
}

async function show(lab: ClusterLab, title: string): Promise<void> {
  const a = lab.addresses;
  const targets = [
    ['1.2.3.4', '1.2.3.4'],
    [a.outside4[1]!, 'www.foo.com'],
    [a.outside4[2]!, 'another address'],
  ] as const;
  say(`${title}:`);
  for (const pod of ['shop-web', 'shop-worker', 'batch-job']) {
    const p = lab.pod(pod);
    const cells: string[] = [];
    for (const [host, label] of targets) {
      const result = await lab.tcpRequest(p.netns, host, 80, 800);
      cells.push(`${label}: ${result.ok ? `ok (seen from ${result.reply.peer})` : 'DENIED'}`);
    }
    process.stdout.write(`  ${pod.padEnd(12)} (${p.namespace}, ${p.nodeName})  ${cells.join('  ')}\n`);
  }
}

function say(line: string): void {
  process.stdout.write(`\n== ${line}\n`);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`demo failed: ${error.stack ?? error.message}\n`);
    process.exitCode = 1;
  },
);
