import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ClusterLab, createClusterLab } from '../../src/lab/cluster-lab.js';
import type { DnsmasqHandle } from '../../src/lab/dnsmasq.js';
import { eventually, type LabAgents, labAgents } from '../../src/lab/node-agents.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : false;

/** The seed's example policy (6.5.1), verbatim but for the namespace. */
const SEED_POLICY = (namespace: string) =>
  JSON.stringify({
    kind: 'EgressNetworkPolicy',
    apiVersion: 'v1',
    metadata: { name: 'default', namespace },
    spec: {
      egress: [
        { type: 'Allow', to: { cidrSelector: '1.2.3.0/24' } },
        { type: 'Allow', to: { dnsName: 'www.foo.com' } },
        { type: 'Deny', to: { cidrSelector: '0.0.0.0/0' } },
      ],
    },
  });

const policy = (namespace: string, name: string, egress: unknown[]) =>
  JSON.stringify({
    kind: 'EgressNetworkPolicy',
    apiVersion: 'network.openshift.io/v1',
    metadata: { name, namespace },
    spec: { egress },
  });

const TTL = 2;

describe('egress firewall on a simulated cluster', { skip }, () => {
  let lab: ClusterLab;
  let agents: LabAgents;
  let dns: DnsmasqHandle;
  let o25: string;
  let o26: string;
  let o27: string;
  let o6: readonly string[];

  before(async () => {
    lab = await createClusterLab({
      prefix: `efw${process.pid % 100000}`,
      pods: [
        { name: 'a1', namespace: 'alpha', node: 1 },
        { name: 'a2', namespace: 'alpha', node: 2 },
        { name: 'b1', namespace: 'beta', node: 1 },
        { name: 'g1', namespace: 'gamma', node: 2 },
        { name: 'd1', namespace: 'delta', node: 1 },
        { name: 'x1', namespace: 'default', node: 3 },
        { name: 'j1', namespace: 'joined-a', node: 3 },
        { name: 'k1', namespace: 'joined-b', node: 3 },
        { name: 'm1', namespace: 'multi', node: 3 },
      ],
    });
    [o25, o26, o27] = lab.addresses.outside4 as [string, string, string];
    o6 = lab.addresses.outside6;
    // 1.2.3.4 on the outside server, routed by the gateway: the seed policy's allowed range.
    await lab.ip('out', ['addr', 'add', '1.2.3.4/32', 'dev', lab.interfaces.outEth0]);
    await lab.ip('gw', ['route', 'add', '1.2.3.0/24', 'dev', lab.interfaces.gwOutside]);
    await lab.startEcho({ tcp: [80], udp: [80] });
    // Servers in pods (pod-to-pod traffic) and on node 1 (its DNS port and another).
    await lab.startEcho({ tcp: [8080] }, { ns: lab.pod('a2').netns });
    await lab.startEcho({ tcp: [8080] }, { ns: lab.pod('b1').netns });
    await lab.startEcho({ tcp: [53, 2222], udp: [53] }, { ns: 1 });
    dns = await lab.startDnsmasq({
      listen: o25,
      ttl: TTL,
      records: {
        'www.foo.com': [o26, o6[1]!],
        'moving.example.com': [o27],
      },
    });
    for (const node of [1, 2, 3]) await lab.setNodeResolvers(node, [o25]);
    agents = labAgents(lab);
    agents.write('alpha.json', SEED_POLICY('alpha'));
    agents.write(
      'gamma.yaml',
      policy('gamma', 'moving', [
        { type: 'Allow', to: { dnsName: 'moving.example.com' } },
        { type: 'Deny', to: { cidrSelector: '0.0.0.0/0' } },
        { type: 'Deny', to: { cidrSelector: '::/0' } },
      ]),
    );
    agents.write(
      'default.yaml',
      policy('default', 'deny-all', [{ type: 'Deny', to: { cidrSelector: '0.0.0.0/0' } }]),
    );
    agents.write(
      'netnamespaces.yaml',
      ['joined-a', 'joined-b']
        .map(
          (name) =>
            `apiVersion: network.openshift.io/v1\nkind: NetNamespace\nmetadata: {name: ${name}}\nnetname: ${name}\nnetid: 4242\n`,
        )
        .join('---\n'),
    );
    agents.write(
      'joined.yaml',
      policy('joined-a', 'p', [{ type: 'Allow', to: { cidrSelector: '0.0.0.0/0' } }]),
    );
    agents.write(
      'multi.yaml',
      [
        policy('multi', 'one', [{ type: 'Allow', to: { cidrSelector: '0.0.0.0/0' } }]),
        policy('multi', 'two', []),
      ].join('\n---\n') +
        `\n---\n${policy('multi', 'three', [{ type: 'Deny', to: { cidrSelector: `${o27}/32` } }])}`,
    );
    await Promise.all([1, 2, 3].map((node) => agents.start(node)));
  });
  after(async () => {
    await agents?.close();
    await lab?.destroy();
  });

  const reaches = async (pod: string, host: string, port = 80, proto: 'tcp' | 'udp' = 'tcp') => {
    const ns = lab.pod(pod).netns;
    const result =
      proto === 'tcp'
        ? await lab.tcpRequest(ns, host, port, 1_000)
        : await lab.udpRequest(ns, host, port, 1_000);
    return result.ok ? result.reply.peer : false;
  };
  const nodeOf = (pod: string) => lab.addresses.nodes[lab.pod(pod).node - 1]!;
  const until = async (check: () => Promise<boolean>, timeoutMs = 10_000) =>
    (await eventually(async () => ((await check()) ? true : undefined), timeoutMs)) === true;

  test('the seed example policy: 1.2.3.0/24 and www.foo.com allowed (IPv4 and IPv6), every other IPv4 address denied', async () => {
    const node1 = nodeOf('a1');
    assert.equal(await reaches('a1', '1.2.3.4'), node1.node4, 'the allowed range, leaving with the node IP');
    assert.equal(await reaches('a1', o26), node1.node4, 'www.foo.com');
    assert.equal(await reaches('a1', o26, 80, 'udp'), node1.node4, 'www.foo.com, UDP');
    assert.equal(await reaches('a1', o27), false, 'denied by 0.0.0.0/0');
    assert.equal(await reaches('a1', o25), false, 'denied by 0.0.0.0/0');
    assert.equal(await reaches('a1', o6[1]!), node1.node6, "www.foo.com's AAAA");
    assert.equal(await reaches('a1', o6[2]!), node1.node6, 'IPv6: no rule matches, allowed');
    // The same policy on another node's pod of the namespace.
    assert.equal(await reaches('a2', o27), false);
    assert.equal(await reaches('a2', o26), nodeOf('a2').node4);
    const status = await agents.status(1);
    const alpha = status.namespaces.find((n) => n.namespace === 'alpha');
    assert.equal(alpha?.state, 'enforced');
    assert.equal(alpha?.pods, 1);
    assert.ok(alpha?.warnings.some((w) => w.includes('covers IPv4 only')));
    const counters = status.counters?.find((c) => c.namespace === 'alpha');
    assert.ok((counters?.rules[2]?.packets ?? 0) > 0, 'the deny rule counted the dropped packets');
    assert.ok((counters?.rules[1]?.packets ?? 0) > 0, 'the dnsName rule counted');
  });

  test('traffic to other pods is never filtered; namespaces without a policy are not', async () => {
    assert.equal(
      await reaches('a1', lab.pod('a2').ip4, 8080),
      lab.pod('a1').ip4,
      'pod to pod across nodes, own address',
    );
    assert.equal(await reaches('a1', lab.pod('b1').ip4, 8080), lab.pod('a1').ip4);
    assert.equal(await reaches('a1', lab.pod('a2').ip6, 8080), lab.pod('a1').ip6);
    assert.equal(await reaches('b1', o27), nodeOf('b1').node4);
    assert.equal(await reaches('b1', o6[2]!), nodeOf('b1').node6);
  });

  test("pods always reach their node's DNS; the node's other ports follow the policy", async () => {
    const node1 = nodeOf('a1');
    assert.equal(await reaches('a1', node1.node4, 53, 'udp'), lab.pod('a1').ip4);
    assert.equal(await reaches('a1', node1.node4, 53, 'tcp'), lab.pod('a1').ip4);
    assert.equal(
      await reaches('a1', node1.node4, 2222),
      false,
      'denied by 0.0.0.0/0 like any external address',
    );
    assert.equal(await reaches('b1', node1.node4, 2222), lab.pod('b1').ip4);
  });

  test('a record change is followed within the TTL; the old address stays allowed until its own TTL', async () => {
    assert.equal(await reaches('g1', o27), nodeOf('g1').node4);
    assert.equal(await reaches('g1', o26), false);
    assert.equal(await reaches('g1', o6[2]!), false, 'denied by ::/0');
    await dns.setRecords({ 'www.foo.com': [o26, o6[1]!], 'moving.example.com': [o26] });
    const changed = Date.now();
    assert.ok(
      await until(async () => (await reaches('g1', o26)) !== false, (TTL + 3) * 1000),
      'the new address within the TTL',
    );
    const followedMs = Date.now() - changed;
    assert.ok(followedMs < (TTL + 3) * 1000, `followed in ${followedMs} ms`);
    assert.ok(
      await until(async () => (await reaches('g1', o27)) === false, (2 * TTL + 3) * 1000),
      'the old address expires',
    );
  });

  test('the constraints: global namespace not enforced, joined namespaces and two policies fail closed, each with a status', async () => {
    assert.equal(await reaches('x1', o27), nodeOf('x1').node4, 'default: the deny-all policy is ignored');
    assert.equal(await reaches('j1', o27), false, 'joined-a, with the policy');
    assert.equal(await reaches('k1', o27), false, 'joined-b, without one: the whole netid');
    assert.equal(await reaches('m1', o26), false, 'two policies (the empty third counts as none)');
    assert.equal(await reaches('j1', lab.pod('m1').ip4, 8080).catch(() => false), false);
    const status = await agents.status(3);
    const byName = new Map(status.namespaces.map((n) => [n.namespace, n]));
    assert.equal(byName.get('default')?.state, 'not-enforced');
    assert.equal(
      byName.get('default')?.reason,
      'EgressNetworkPolicy in global network namespace is not allowed (default:deny-all); ignoring',
    );
    assert.equal(byName.get('joined-b')?.state, 'failed-closed');
    assert.equal(
      byName.get('joined-a')?.reason,
      'EgressNetworkPolicy not allowed in shared NetNamespace (joined-a, joined-b); dropping all traffic',
    );
    assert.equal(
      byName.get('multi')?.reason,
      'multiple EgressNetworkPolicies in same network namespace (multi:one, multi:three) is not allowed; dropping all traffic',
    );
  });

  test('a bad policy fails closed for its namespace only, with the API messages; fixing it opens it again', async () => {
    assert.equal(await reaches('d1', o27), nodeOf('d1').node4);
    agents.write(
      'delta.yaml',
      policy('delta', 'bad', [{ type: 'Alow', to: { cidrSelector: '10.0.0.1/24' } }]),
    );
    assert.ok(await until(async () => (await reaches('d1', o27)) === false), 'delta failed closed');
    const status = await agents.status(1);
    const delta = status.namespaces.find((n) => n.namespace === 'delta');
    assert.equal(delta?.state, 'failed-closed');
    assert.deepEqual(delta?.errors, [
      'spec.egress[0].type: Invalid value: "Alow": invalid policy type',
      'spec.egress[0].to.cidrSelector: Invalid value: "10.0.0.1/24": CIDR network specification "10.0.0.1/24" is not in canonical form (should be 10.0.0.0/24 or 10.0.0.1/32?)',
    ]);
    assert.equal(await reaches('b1', o27), nodeOf('b1').node4, 'other namespaces unaffected');
    assert.equal(await reaches('a1', o26), nodeOf('a1').node4, 'other policies still enforced');
    assert.equal(
      await reaches('d1', lab.pod('b1').ip4, 8080),
      lab.pod('d1').ip4,
      'its pod-to-pod traffic unaffected',
    );
    agents.write(
      'delta.yaml',
      policy('delta', 'bad', [{ type: 'Allow', to: { cidrSelector: '10.0.0.0/24' } }]),
    );
    assert.ok(await until(async () => (await reaches('d1', o27)) !== false), 'fixed: allowed again');
    agents.remove('delta.yaml');
  });

  test('the admin chain: created empty, applied after the firewall allowed, surviving reloads and a restart', async () => {
    const chain = ['list', 'chain', 'inet', 'egress_router_node', 'OPENSHIFT-ADMIN-OUTPUT-RULES'];
    const listed = await lab.exec(1, 'nft', chain);
    assert.doesNotMatch(
      listed.stdout.replace(/chain OPENSHIFT-ADMIN-OUTPUT-RULES \{\s*\}/, ''),
      /drop|accept|counter/,
    );
    await lab.exec(1, 'nft', [
      'add',
      'rule',
      'inet',
      'egress_router_node',
      'OPENSHIFT-ADMIN-OUTPUT-RULES',
      'ip',
      'daddr',
      o27,
      'tcp',
      'dport',
      '80',
      'counter',
      'drop',
    ]);
    assert.equal(await reaches('b1', o27), false, "the admin's rule applies to a namespace without a policy");
    assert.equal(await reaches('b1', o26), nodeOf('b1').node4);
    // A reload: a policy change for beta (its namespace gets a chain) and back.
    agents.write('beta.yaml', policy('beta', 'p', [{ type: 'Deny', to: { cidrSelector: `${o25}/32` } }]));
    assert.ok(await until(async () => (await reaches('b1', o25)) === false));
    assert.equal(await reaches('b1', o27), false, 'the admin rule survived the reload');
    // A restart: SIGTERM leaves every rule in place (the datapath does not open), a new agent keeps the admin chain.
    await agents.stop(1);
    assert.equal(await reaches('b1', o25), false, 'while the agent is down the firewall still holds');
    assert.equal(await reaches('a1', o27), false);
    await agents.start(1);
    assert.equal(await reaches('b1', o27), false, 'the admin rule survived the restart');
    assert.equal(await reaches('b1', o25), false);
    const after = await lab.exec(1, 'nft', chain);
    assert.match(after.stdout, /tcp dport 80 counter packets [1-9]\d* bytes \d+ drop/);
    agents.remove('beta.yaml');
    assert.ok(await until(async () => (await reaches('b1', o25)) !== false));
  });

  test('allowed pairs are remembered, and forgotten at every change: a new Deny stops a pair just allowed', async () => {
    const cached = async () => {
      const sets = (await lab.exec(1, 'nft', ['-j', 'list', 'sets', 'inet'])).stdout;
      const allowed = (JSON.parse(sets).nftables as { set?: { name: string; elem?: unknown[] } }[]).find(
        (e) => e.set?.name.startsWith('allowed4.'),
      );
      return JSON.stringify(allowed?.set?.elem ?? []).includes(`"${o25}"`);
    };
    assert.equal(await reaches('b1', o25), nodeOf('b1').node4);
    assert.equal(await reaches('b1', o25), nodeOf('b1').node4, 'the second connection, from the cache');
    assert.ok(await cached(), 'b1 -> o25 is in @allowed4');
    agents.write('beta.yaml', policy('beta', 'p', [{ type: 'Deny', to: { cidrSelector: `${o25}/32` } }]));
    assert.ok(
      await until(async () => (await reaches('b1', o25)) === false),
      'the Deny holds for the cached pair',
    );
    assert.equal(await cached(), false, 'the change flushed the cache');
    assert.equal(await reaches('b1', o26), nodeOf('b1').node4, 'other destinations still pass');
    agents.remove('beta.yaml');
    assert.ok(await until(async () => (await reaches('b1', o25)) !== false));
    for (const node of [2, 3]) {
      const listed = async () =>
        (await lab.exec(node, 'nft', ['list', 'table', 'inet', 'egress_router_node'])).stdout;
      assert.ok(await until(async () => !(await listed()).includes('ns-beta')), `node ${node} followed`);
    }
  });

  test('a re-run is idempotent: restarting an agent leaves the same table', async () => {
    // A restart makes every set anew under its next generation's name (fw4-<namespace>.2): the
    // same rules and elements, the counters from zero.
    // nft lists sets and chains in the order they were made: compared as a sorted list of blocks.
    const table = async () =>
      (await lab.exec(2, 'nft', ['list', 'table', 'inet', 'egress_router_node'])).stdout
        .replace(/packets \d+ bytes \d+/g, '')
        .replace(/([a-z0-9-]+)\.\d+\b/g, '$1.N')
        .split('\n\n')
        .map((block) => block.replace(/^table inet egress_router_node \{\n|\n\}\n$/g, ''))
        // What the caches of allowed pairs hold is the traffic's, not the table's.
        .map((block) =>
          /^\tset allowed/.test(block) ? block.replace(/\n\t\telements = [^}]*\}/, '') : block,
        )
        .sort();
    const before = await table();
    await agents.start(2);
    assert.deepEqual(await table(), before);
    assert.ok(
      before.some((block) => /set allowed4\.N \{[^}]*flags dynamic,timeout/.test(block)),
      'the cache is dynamic',
    );
  });

  test("what someone else removes is restored at once (the ruleset's generation changed): the table deleted, a chain flushed", async () => {
    await agents.start(1);
    const nft = (args: string[]) => lab.exec(1, 'nft', args, { check: false });
    const forwardRules = async () =>
      (await nft(['list', 'chain', 'inet', 'egress_router_node', 'forward'])).stdout
        .split('\n')
        .filter((line) => /^\t\t\S/.test(line)).length;
    const applied = await forwardRules();
    assert.ok(applied > 0);
    assert.equal(await reaches('a1', o27), false, 'denied');
    // As `systemctl restart nftables` does to it (its config starts with `flush ruleset`).
    await nft(['delete', 'table', 'inet', 'egress_router_node']);
    // Well within the 10 s of the periodic check: the generation read every 250 ms brings it.
    assert.ok(
      await until(
        async () => (await forwardRules()) === applied && (await reaches('a1', o27)) === false,
        3_000,
      ),
      'the table is back, the pod denied again',
    );
    await nft(['flush', 'chain', 'inet', 'egress_router_node', 'forward']);
    assert.ok(await until(async () => (await forwardRules()) === applied, 3_000), 'the chain refilled');
    assert.equal(await reaches('a1', o27), false);
    assert.equal(await reaches('a1', '1.2.3.4'), nodeOf('a1').node4, 'what is allowed still is');
    const scrape =
      "fetch('http://127.0.0.1:9093/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))";
    const metrics = (await lab.exec(1, process.execPath, ['-e', scrape])).stdout;
    assert.match(metrics, /egress_router_node_restores_total [2-9]/);
    const status = (await agents.cli(1, ['status'])).stdout;
    assert.match(status, /rules restored [2-9] times, last \S+: chain forward has 0 rules, \d+ applied/);
    // A saved copy loaded back in one transaction (as `systemctl restart nftables` with a saved
    // ruleset): the same names and counts, but a table made again, whatever it holds.
    const saved = join(mkdtempSync(join(tmpdir(), 'egress-saved-')), 'saved.nft');
    const copy = (await nft(['list', 'table', 'inet', 'egress_router_node'])).stdout;
    writeFileSync(saved, `delete table inet egress_router_node\n${copy}`);
    try {
      await nft(['-f', saved]);
      assert.ok(
        await until(
          async () => /was deleted and made again/.test((await agents.cli(1, ['status'])).stdout),
          3_000,
        ),
        'seen as made again',
      );
    } finally {
      rmSync(dirname(saved), { recursive: true, force: true });
    }
    assert.equal(await reaches('a1', o27), false);
  });

  test('bad options: one line, exit 1, nothing changed', async () => {
    const before = (await lab.exec(3, 'nft', ['list', 'table', 'inet', 'egress_router_node'])).stdout;
    const result = await agents.cli(3, [
      '--node-name',
      'node3',
      '--cluster-network',
      '10.128.0.1/14',
      '--source',
      `dir:${agents.dir}`,
    ]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      "node: --cluster-network '10.128.0.1/14' is invalid: not a network address (did you mean 10.128.0.0/14?)\n",
    );
    const missing = await agents.cli(3, [
      '--node-name',
      'node3',
      '--source',
      'dir:/nonexistent/egress',
      '--admin-port',
      '0',
    ]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
    assert.match(missing.stderr, /cannot read '\/nonexistent\/egress'/);
    assert.equal((await lab.exec(3, 'nft', ['list', 'table', 'inet', 'egress_router_node'])).stdout, before);
  });

  test('node remove deletes the table (the documented way to remove the rules)', async () => {
    await agents.stop(3);
    const removed = await agents.cli(3, ['remove']);
    assert.equal(removed.code, 0, removed.stderr);
    const listed = await lab.exec(3, 'nft', ['list', 'tables'], { check: false });
    assert.doesNotMatch(listed.stdout, /egress_router_node/);
    assert.match(listed.stdout, /lab_sdn/, 'other tables untouched');
    assert.equal(await reaches('j1', o27), nodeOf('j1').node4, 'no firewall: open');
  });
});
