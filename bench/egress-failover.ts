/**
 * Issue 12's failover time: from an egress node's death (its agent stopped and its link cut) to the
 * first successful new connection from the namespace through the new node, over at least 10 runs
 * (goal: median under 2 s; openshift-sdn's master probed every 5 s and waited for 3 failures).
 *
 * A 3-node cluster lab; node 2 and node 3 offer 192.168.50.96/28 (egressCIDRs), namespace `blue`
 * asks for one IP in it, its pod on node 1 connects to an outside server. Each run: the node that
 * holds the IP is stopped and cut; the pod tries a new connection every 50 ms (300 ms timeout)
 * until one arrives from the egress IP; then the dead node comes back and the next run kills the
 * other one.
 *
 * `node dist/bench/egress-failover.js [--quick]`
 */
import { hostSubnetManifests, netNamespaceManifest } from '../src/lab/egress-manifests.js';
import { eventually, labAgents } from '../src/lab/node-agents.js';
import { fmt, type GoalSummary, median, stats, table } from './_common.js';
import { type ClusterBenchContext, runClusterBench } from './_datapath-run.js';

const QUICK = process.argv.includes('--quick');
const RUNS = QUICK ? 3 : 12;
const GOAL_MS = 2_000;
const ATTEMPT_EVERY_MS = 50;

async function body(ctx: ClusterBenchContext) {
  const { lab, log } = ctx;
  const e4 = lab.addresses.egressCandidates4[10] as string;
  const outside = lab.addresses.outside4[0] as string;
  await lab.startEcho({ tcp: [80] });
  const agents = labAgents(lab);
  ctx.defer(() => agents.close());
  agents.write(
    'hostsubnets.yaml',
    hostSubnetManifests(lab, { egressCIDRs: (node) => (node === 1 ? [] : ['192.168.50.96/28']) }),
  );
  agents.write('netnamespaces.yaml', netNamespaceManifest('blue', 10, [e4]));
  for (const node of [1, 2, 3]) await agents.start(node);
  const pod = lab.pod('bl1').netns;
  const leaves = async (timeoutMs = 300) => {
    const result = await lab.tcpRequest(pod, outside, 80, timeoutMs);
    return result.ok && result.reply.peer === e4;
  };
  const holder = async () => {
    for (const node of [2, 3]) {
      const shown = (await lab.exec(node, 'ip', ['-4', 'addr', 'show', 'dev', 'eth0'])).stdout;
      if (shown.includes(`${e4}/`)) return node;
    }
    return undefined;
  };
  if ((await eventually(async () => ((await leaves(1_000)) ? true : undefined), 10_000)) !== true) {
    throw new Error('the egress IP never worked before the first run');
  }
  const samples: number[] = [];
  const attempts: number[] = [];
  let flaps = 0;
  for (let run = 1; run <= RUNS; run++) {
    const host = await holder();
    if (host === undefined) throw new Error(`run ${run}: no node holds ${e4}`);
    await agents.stop(host);
    await lab.cutNode(host);
    const cutAt = performance.now();
    let tries = 0;
    for (;;) {
      tries++;
      const started = performance.now();
      if (await leaves()) break;
      if (performance.now() - cutAt > 20_000) throw new Error(`run ${run}: no failover within 20 s`);
      const wait = ATTEMPT_EVERY_MS - (performance.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const took = performance.now() - cutAt;
    samples.push(Math.round(took));
    attempts.push(tries);
    log(`run ${run}: node ${host} died, new connections through the other after ${Math.round(took)} ms`);
    await lab.restoreNode(host);
    await agents.start(host);
    // Let the returning node hear the others (it must not take the IP back).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    if ((await holder()) === host) flaps++;
  }
  const s = stats(samples);
  const goals: GoalSummary[] = [
    {
      goal: 'issue 12: failover, node death to the first new connection through the new node',
      target: `median < ${GOAL_MS} ms`,
      measured: `median ${fmt(s.median, 0)} ms, worst ${fmt(Math.max(...samples), 0)} ms over ${samples.length} runs`,
      peer: 'openshift-sdn 3.11: probes every 5 s, offline after 3 failures (tens of seconds; not runnable here)',
      met: s.median < GOAL_MS,
    },
  ];
  const markdown = `
**Goal (issue 12):** after an egress node dies, the namespace's new connections leave through another
node in under ${GOAL_MS / 1000} s (median over at least 10 runs).

**How:** a 3-node cluster lab; node 2 and node 3 offer \`192.168.50.96/28\` (HostSubnet egressCIDRs),
NetNamespace \`blue\` asks for \`${e4}\`, and its pod on node 1 connects to an outside server. Each of
${RUNS} runs stops the agent of the node holding the IP (SIGTERM, its rules stay) and cuts its link
(\`cutNode\`: its switch port down), then has the pod open a new connection every ${ATTEMPT_EVERY_MS} ms
(300 ms timeout) until one arrives from the egress IP. The time runs from the cut to that connection's
answer. The dead node then comes back (link, then agent) and the next run kills the other. What the
time is made of: the others declare the node down after 3 missed probes (every 200 ms, 200 ms
timeout: 0.4-0.6 s), reconcile, add the address and announce it (gratuitous ARP), and the gateway
takes the new owner.

${table(
  ['runs', 'min ms', 'median ms', 'p90 ms', 'worst ms', 'attempts (median)'],
  [
    [
      String(s.n),
      fmt(s.min, 0),
      `**${fmt(s.median, 0)}**`,
      fmt(s.p90, 0),
      fmt(Math.max(...samples), 0),
      fmt(median(attempts), 0),
    ],
  ],
)}

- Median ${fmt(s.median, 0)} ms: **${goals[0]?.met ? 'met' : 'missed'}**. Per run (ms): ${samples.join(', ')}.
- Flapping: after ${flaps} of ${RUNS} returns the IP was back on the returning node 1.5 s later (0 is the goal: the longest holder keeps it).
`;
  return { markdown, goals, raw: { runs: RUNS, ms: samples, attempts, flaps } };
}

await runClusterBench(
  {
    name: 'egress-failover',
    prefixStem: 'bef',
    title: 'Egress IPs: failover time',
    limitMs: 240_000,
    lab: { nodes: 3, pods: [{ name: 'bl1', namespace: 'blue', node: 1 }] },
  },
  body,
);
