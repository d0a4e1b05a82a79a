/**
 * Issue 12's datapath cost: throughput and new-connection rate of a pod whose namespace leaves
 * through an egress IP on another node (the VXLAN overlay, then SNAT there), and on its own node,
 * against a pod of a namespace without one (direct, the node's own masquerade). Goal: at least 0.9x.
 *
 * A 3-node cluster lab, the node agents from NetNamespace and HostSubnet manifests (manual mode: the
 * egress IP on node 2). Pods on node 1: `bl1` (blue, its IP on node 2) and `re1` (red, none); `bl2`
 * (blue) on node 2. Rounds interleave the cases (order rotated and reversed): a batch of sequential
 * connections (`_datapath-connect.ts`, each to an outside address of its own), then iperf3.
 *
 * `node dist/bench/egress-datapath.js [--quick]`
 */
import { fileURLToPath } from 'node:url';
import { hostSubnetManifests, netNamespaceManifest } from '../src/lab/egress-manifests.js';
import { labAgents } from '../src/lab/node-agents.js';
import { fmt, type GoalSummary, leanEnv, median, ratio, stats, table } from './_common.js';
import type { ConnectBatch } from './_datapath-connect.js';
import { type ClusterBenchContext, runClusterBench } from './_datapath-run.js';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 2 : 8;
const CONNECTIONS = QUICK ? 100 : 300;
const WARMUP = 20;
const IPERF_SECONDS = QUICK ? 1 : 2;
const GOAL = 0.9;
const CLIENT = fileURLToPath(new URL('./_datapath-connect.js', import.meta.url));
const MANY = { prefix: '100.64.0.0/16', base: 0x64400000 };

interface Case {
  readonly key: string;
  readonly label: string;
  readonly pod: string;
}
const CASES: readonly Case[] = [
  { key: 'direct', label: 'no egress IP: the node address (masquerade on node 1)', pod: 're1' },
  { key: 'remote', label: 'egress IP on another node (VXLAN to node 2, SNAT there)', pod: 'bl1' },
  { key: 'local', label: 'egress IP on its own node (SNAT on node 2)', pod: 'bl2' },
];

async function body(ctx: ClusterBenchContext) {
  const { lab, log } = ctx;
  const e4 = lab.addresses.egressCandidates4[0] as string;
  const server = lab.addresses.outside4[0] as string;
  await lab.ip('out', ['route', 'add', 'local', MANY.prefix, 'dev', 'lo']);
  await lab.ip('gw', ['route', 'add', MANY.prefix, 'via', server, 'dev', lab.interfaces.gwOutside]);
  await lab.startEcho({ tcp: [80] });
  await lab.spawnIn('out', 'iperf3', ['-s', '-p', '5201', '--forceflush']);
  const agents = labAgents(lab);
  ctx.defer(() => agents.close());
  agents.write(
    'objects.yaml',
    `${hostSubnetManifests(lab, { egressIPs: (node) => (node === 2 ? [e4] : []) })}\n---\n${netNamespaceManifest('blue', 10, [e4])}`,
  );
  for (const node of [1, 2, 3]) await agents.start(node);
  const expected: Record<string, string> = {
    direct: lab.addresses.nodes[0]?.node4 as string,
    remote: e4,
    local: e4,
  };
  for (const c of CASES) {
    const result = await lab.tcpRequest(lab.pod(c.pod).netns, server, 80, 2_000);
    const peer = result.ok ? result.reply.peer : result.failure;
    if (peer !== expected[c.key])
      throw new Error(`preflight: ${c.pod} left as ${peer}, not ${expected[c.key]}`);
  }
  let next = 0;
  const connect = async (c: Case): Promise<ConnectBatch> => {
    const first = MANY.base + 1 + next;
    next += WARMUP + CONNECTIONS;
    const host = [24, 16, 8, 0].map((s) => (first >>> s) & 255).join('.');
    const args = [CLIENT, host, '80', String(CONNECTIONS), String(WARMUP), expected[c.key] as string];
    const out = await lab.exec(lab.pod(c.pod).netns, process.execPath, args, {
      env: leanEnv(),
      timeoutMs: 120_000,
    });
    return JSON.parse(out.stdout) as ConnectBatch;
  };
  const iperf = async (c: Case) => {
    const args = ['-c', server, '-p', '5201', '-t', String(IPERF_SECONDS), '-O', '1', '-J'];
    const out = await lab.exec(lab.pod(c.pod).netns, 'iperf3', args, {
      env: leanEnv(),
      timeoutMs: (IPERF_SECONDS + 20) * 1000,
      check: false,
    });
    const json = JSON.parse(out.stdout || '{}') as {
      error?: string;
      end?: { sum_received?: { bits_per_second: number } };
    };
    if (json.end?.sum_received === undefined)
      throw new Error(`iperf3 from ${c.pod}: ${json.error ?? out.stderr}`);
    return json.end.sum_received.bits_per_second / 1e9;
  };
  const rates: Record<string, number[]> = Object.fromEntries(CASES.map((c) => [c.key, []]));
  const gbps: Record<string, number[]> = Object.fromEntries(CASES.map((c) => [c.key, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const rotated = [...CASES.slice(round % CASES.length), ...CASES.slice(0, round % CASES.length)];
    const order = round % 2 === 0 ? rotated : [...rotated].reverse();
    for (const c of order) {
      const batch = await connect(c);
      rates[c.key]?.push((CONNECTIONS / batch.wallMs) * 1000);
      gbps[c.key]?.push(await iperf(c));
    }
    log(`round ${round + 1}/${ROUNDS}`);
  }
  const m = (values: Record<string, number[]>, key: string) => median(values[key] ?? []);
  const rows = CASES.map((c) => {
    const r = stats(rates[c.key] ?? []);
    const g = stats(gbps[c.key] ?? []);
    return [
      `**${c.key}**: ${c.label}`,
      String(r.n),
      `**${fmt(r.median, 0)}**`,
      ratio(r.median / m(rates, 'direct')),
      `**${fmt(g.median, 2)}**`,
      fmt(g.min, 2),
      ratio(g.median / m(gbps, 'direct')),
    ];
  });
  const remoteRate = m(rates, 'remote') / m(rates, 'direct');
  const remoteGbps = m(gbps, 'remote') / m(gbps, 'direct');
  const goals: GoalSummary[] = [
    {
      goal: 'issue 12: new connections/s through the egress node vs direct',
      target: `≥ ${GOAL}×`,
      measured: `${ratio(remoteRate)} (on its own node ${ratio(m(rates, 'local') / m(rates, 'direct'))})`,
      peer: `direct ${fmt(m(rates, 'direct'), 0)}/s`,
      met: remoteRate >= GOAL,
    },
    {
      goal: 'issue 12: throughput through the egress node vs direct',
      target: `≥ ${GOAL}×`,
      measured: `${ratio(remoteGbps)} (on its own node ${ratio(m(gbps, 'local') / m(gbps, 'direct'))})`,
      peer: `direct ${fmt(m(gbps, 'direct'), 2)} Gbit/s`,
      met: remoteGbps >= GOAL,
    },
  ];
  const markdown = `
**Goal (issue 12):** throughput and new-connection rate through the egress node at least ${GOAL}× those of
direct egress with the node IP.

**How:** a 3-node cluster lab with the node agents (manual mode: HostSubnet \`node2\` hosts
\`${e4}\` for NetNamespace \`blue\`). ${ROUNDS} rounds, the cases interleaved (order rotated and
reversed): ${CONNECTIONS} sequential new connections (after ${WARMUP} untimed), each to an outside
address of its own, then ${IPERF_SECONDS} s of iperf3 to one server. All three pods' traffic also
passes the firewall's forward hook (no policy) and the lab's masquerade table.

${table(['case', 'rounds', 'conn/s median', '× direct', 'Gbit/s median', 'min', '× direct'], rows)}

- New connections/s through the egress node: ${ratio(remoteRate)} (goal ≥ ${GOAL}×): **${goals[0]?.met ? 'met' : 'missed'}**.
- Throughput through the egress node: ${ratio(remoteGbps)} (goal ≥ ${GOAL}×): **${goals[1]?.met ? 'met' : 'missed'}**.
- The remote path crosses two nodes and VXLAN (50 bytes a packet; the machine's 2 cores run both
  nodes' forwarding, the pod and the server), the direct one a single node.
`;
  return { markdown, goals, raw: { rounds: ROUNDS, connections: CONNECTIONS, rates, gbps } };
}

await runClusterBench(
  {
    name: 'egress-datapath',
    prefixStem: 'bed',
    title: 'Egress IPs: datapath cost through the egress node',
    limitMs: 300_000,
    lab: {
      nodes: 3,
      pods: [
        { name: 're1', namespace: 'red', node: 1 },
        { name: 'bl1', namespace: 'blue', node: 1 },
        { name: 'bl2', namespace: 'blue', node: 2 },
      ],
    },
  },
  body,
);
