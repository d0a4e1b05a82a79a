/**
 * Issue #11's per-packet cost: new-connection rate and throughput from a pod whose namespace has a
 * 10,000-rule EgressNetworkPolicy, against a 1-rule policy (goal: at least 0.95×), against the same
 * rules as a linear nft chain (with and without accepting established traffic first), and against
 * no policy at all (the floor).
 *
 * One cluster lab node, five pods on it (one per case, each in its own namespace), the node agent
 * enforcing the two policies, the benchmark's own table `inet bench_linear` holding the linear
 * chains; everything set up once, then rounds in which every case runs once (order rotating and
 * reversing): a batch of sequential connections, each to an outside address of its own (a new
 * source-destination pair, which misses the agent's cache of allowed pairs), then an iperf3 run
 * to one outside server (a long flow: the cache hit). The
 * report is `_datapath-report.ts`; the rules, the linear chains and the probes `_datapath-linear.ts`.
 *
 * `node dist/bench/node-firewall-datapath.js [--quick]`
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bigIntToIp, ipToBigInt } from '../src/firewall/ip-range.js';
import type { ClusterLab } from '../src/lab/cluster-lab.js';
import { eventually, labAgents } from '../src/lab/node-agents.js';
import { leanEnv } from './_common.js';
import type { ConnectBatch } from './_datapath-connect.js';
import { cidrRules, deepProbes, LINEAR_TABLE, linearTable, policyManifest } from './_datapath-linear.js';
import { type CaseKey, type CaseSamples, type DatapathCase, datapathReport } from './_datapath-report.js';
import { type ClusterBenchContext, runClusterBench } from './_datapath-run.js';
import { random, randomCidrRules } from './_firewall-policies.js';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 2 : 12;
const CONNECTIONS = QUICK ? 100 : 400;
const WARMUP = QUICK ? 10 : 20;
const IPERF_SECONDS = QUICK ? 1 : 2;
const RULES = 10_000;
const SEED = 11;
const GOAL = 0.95;
const ECHO_PORT = 80;
const IPERF_PORT = 5201;
/** The outside network, the lab's addresses, the cluster and service networks: no rule touches them. */
const AVOID = ['203.0.113.0/24', '100.64.0.0/16', '192.168.0.0/16', '10.128.0.0/14', '172.30.0.0/16'];
/**
 * The outside server answers on every address of this prefix (a local route): each connection of
 * the batches goes to an address of its own, a new source-destination pair for the agent.
 */
const MANY = { prefix: '100.64.0.0/16', first: '100.64.0.1', last: '100.64.255.254' };
const ONE_RULE = [{ type: 'Deny', cidr: '198.51.100.0/24' }] as const;
/** An address the 1-rule policy denies (on the outside server for the preflight). */
const ONE_RULE_PROBE = '198.51.100.1';
const CLIENT = fileURLToPath(new URL('./_datapath-connect.js', import.meta.url));
const AGENT_TABLE = ['inet', 'egress_router_node'];

const CASES: readonly DatapathCase[] = [
  { key: 'none', pod: 'pod-none', namespace: 'bench-none', what: 'no policy (the floor)' },
  { key: 'policy-1', pod: 'pod-one', namespace: 'bench-one', what: 'the agent, a 1-rule policy' },
  { key: 'policy-10k', pod: 'pod-10k', namespace: 'bench-10k', what: 'the agent, a 10,000-rule policy' },
  {
    key: 'linear-10k',
    pod: 'pod-lin',
    namespace: 'bench-lin',
    what: 'no policy; the 10,000 rules as a linear nft chain',
  },
  {
    key: 'linear-10k-ct',
    pod: 'pod-linct',
    namespace: 'bench-linct',
    what: 'the same linear chain, `ct state established,related accept` first',
  },
];

interface NamespaceStatus {
  readonly namespace: string;
  readonly state: string;
  readonly rules?: number;
}

interface Counter {
  readonly packets: number;
  readonly bytes: number;
}

/** The "no rule matched" counters: the agent's per namespace, the linear chains' final rules. */
async function unmatchedCounters(
  lab: ClusterLab,
  agents: ReturnType<typeof labAgents>,
): Promise<Partial<Record<CaseKey, Counter>>> {
  const status = await agents.status(1);
  const agentCount = (namespace: string) =>
    (status.counters?.find((c) => c.namespace === namespace)?.unmatched as Counter | undefined) ?? {
      packets: 0,
      bytes: 0,
    };
  const chainCount = async (chain: string) => {
    const out = await lab.exec(
      1,
      'nft',
      ['-j', 'list', 'chain', LINEAR_TABLE.family, LINEAR_TABLE.name, chain],
      {
        timeoutMs: 30_000,
      },
    );
    const items = (JSON.parse(out.stdout) as { nftables: { rule?: { expr: { counter?: Counter }[] } }[] })
      .nftables;
    const last = items.filter((item) => item.rule !== undefined).at(-1);
    return last?.rule?.expr.find((e) => e.counter !== undefined)?.counter ?? { packets: 0, bytes: 0 };
  };
  return {
    'policy-1': agentCount('bench-one'),
    'policy-10k': agentCount('bench-10k'),
    'linear-10k': await chainCount('lin'),
    'linear-10k-ct': await chainCount('lin_ct'),
  };
}

async function body(ctx: ClusterBenchContext) {
  const { lab, log, defer } = ctx;
  const nodeAddress = lab.addresses.nodes[0]!.node4;
  const server = lab.addresses.outside4[0]!;
  const rules = cidrRules(randomCidrRules(RULES, random(SEED), AVOID, 0));
  const probes = deepProbes(rules);

  await lab.ip('out', ['route', 'add', 'local', MANY.prefix, 'dev', 'lo']);
  await lab.ip('gw', ['route', 'add', MANY.prefix, 'via', server, 'dev', lab.interfaces.gwOutside]);
  // Probe addresses on the outside server, routed there by the gateway.
  for (const address of [ONE_RULE_PROBE, probes.allow.address, probes.deny.address]) {
    await lab.ip('out', ['address', 'add', `${address}/32`, 'dev', lab.interfaces.outEth0]);
    await lab.ip('gw', ['route', 'add', `${address}/32`, 'dev', lab.interfaces.gwOutside]);
  }
  await lab.startEcho({ tcp: [ECHO_PORT] });
  const iperfServer = await lab.spawnIn('out', 'iperf3', ['-s', '-p', String(IPERF_PORT), '--forceflush'], {
    env: leanEnv(),
  });
  await iperfServer.waitFor(/Server listening/, { timeoutMs: 5_000 });

  log(`the agent on node 1, policies of 1 and ${RULES} rules`);
  const agents = labAgents(lab);
  defer(() => agents.close());
  agents.write('bench-one.json', policyManifest('bench-one', ONE_RULE));
  agents.write('bench-10k.json', policyManifest('bench-10k', rules));
  const agentStarted = Date.now();
  await agents.start(1);
  const enforced = await eventually(async () => {
    const status = await agents.status(1);
    const ns = new Map((status.namespaces as readonly NamespaceStatus[]).map((n) => [n.namespace, n]));
    const ok =
      status.lastReconcile?.ok === true &&
      ns.get('bench-one')?.state === 'enforced' &&
      ns.get('bench-one')?.rules === 1 &&
      ns.get('bench-10k')?.state === 'enforced' &&
      ns.get('bench-10k')?.rules === RULES;
    return ok ? Date.now() - agentStarted : undefined;
  }, 90_000);
  if (enforced === undefined) {
    throw new Error(`the agent did not enforce both policies: ${JSON.stringify(await agents.status(1))}`);
  }
  // The maps' names in the kernel carry a generation (`fw4-bench-10k.<n>`): the whole table is listed.
  const table = await lab.exec(1, 'nft', ['-j', 'list', 'table', ...AGENT_TABLE], { timeoutMs: 30_000 });
  const mapElements =
    (JSON.parse(table.stdout) as { nftables: { map?: { name: string; elem?: unknown[] } }[] }).nftables.find(
      (item) => item.map?.name.split('.')[0] === 'fw4-bench-10k',
    )?.map?.elem?.length ?? 0;
  if (mapElements === 0) throw new Error("no map fw4-bench-10k with elements in the agent's table");

  log('the linear chains');
  const pod = (key: CaseKey) => lab.pod(CASES.find((c) => c.key === key)!.pod);
  defer(async () => {
    await lab.exec(1, 'nft', ['delete', 'table', LINEAR_TABLE.family, LINEAR_TABLE.name], { check: false });
  });
  const linear = linearTable(rules, [
    { pod: pod('linear-10k').ip4, chain: 'lin', acceptEstablished: false },
    { pod: pod('linear-10k-ct').ip4, chain: 'lin_ct', acceptEstablished: true },
  ]);
  // A file, not `-f -`: nft opens /dev/stdin by path, which fails on the socket pairs Node uses for a
  // child's standard input (src/nat/apply.ts).
  const linearFile = join(ctx.work, 'bench-linear.json');
  writeFileSync(linearFile, JSON.stringify(linear));
  const loadStarted = performance.now();
  await lab.exec(1, 'nft', ['-j', '-f', linearFile], { timeoutMs: 120_000 });
  const linearLoadMs = performance.now() - loadStarted;

  // Preflight: every pod reaches the server through node 1, and each filter does what it says.
  const reaches = async (name: string, host: string) => {
    const result = await lab.tcpRequest(name, host, ECHO_PORT, 1_000);
    return result.ok ? result.reply.peer : false;
  };
  const filtered = { [probes.allow.address]: true, [probes.deny.address]: false };
  const expected: Record<CaseKey, Record<string, boolean>> = {
    none: { [ONE_RULE_PROBE]: true, [probes.allow.address]: true, [probes.deny.address]: true },
    'policy-1': { [ONE_RULE_PROBE]: false, [probes.deny.address]: true },
    'policy-10k': filtered,
    'linear-10k': filtered,
    'linear-10k-ct': filtered,
  };
  const wrong: string[] = [];
  for (const c of CASES) {
    const always = [
      [server, true],
      [MANY.last, true],
    ] as const;
    for (const [host, allowed] of [...always, ...Object.entries(expected[c.key])]) {
      const got = await reaches(c.pod, host);
      if (got !== (allowed ? nodeAddress : false))
        wrong.push(`${c.key} to ${host}: ${got}, expected ${allowed}`);
    }
  }
  if (wrong.length > 0) throw new Error(`preflight: ${wrong.join('; ')}`);
  const before = await unmatchedCounters(lab, agents);

  /** Batch `round` of every pod starts here: no pod connects to one address twice. */
  const firstOfRound = (round: number) =>
    bigIntToIp(ipToBigInt(MANY.first) + BigInt(round * (WARMUP + CONNECTIONS)), 4);
  if (ipToBigInt(firstOfRound(ROUNDS)) > ipToBigInt(MANY.last))
    throw new Error(`${MANY.prefix} is too small`);
  const connectBatch = async (c: DatapathCase, round: number): Promise<ConnectBatch> => {
    const first = firstOfRound(round);
    const args = [CLIENT, first, String(ECHO_PORT), String(CONNECTIONS), String(WARMUP), nodeAddress];
    const out = await lab.exec(c.pod, process.execPath, args, { env: leanEnv(), timeoutMs: 120_000 });
    return JSON.parse(out.stdout) as ConnectBatch;
  };
  const iperf = async (c: DatapathCase) => {
    const args = ['-c', server, '-p', String(IPERF_PORT), '-t', String(IPERF_SECONDS), '-O', '1', '-J'];
    const out = await lab.exec(c.pod, 'iperf3', args, {
      env: leanEnv(),
      timeoutMs: (IPERF_SECONDS + 20) * 1000,
      check: false,
    });
    const json = JSON.parse(out.stdout || '{}') as {
      error?: string;
      end?: { sum_sent?: { retransmits?: number }; sum_received?: { bits_per_second: number } };
    };
    if (json.error !== undefined || json.end?.sum_received === undefined) {
      throw new Error(`iperf3 from ${c.pod}: ${json.error ?? out.stderr}`);
    }
    return {
      gbps: json.end.sum_received.bits_per_second / 1e9,
      retransmits: json.end.sum_sent?.retransmits ?? 0,
    };
  };

  const samples = Object.fromEntries(
    CASES.map((c) => [c.key, { rates: [], connectUs: [], cycleUs: [], gbps: [], retransmits: [] }]),
  ) as unknown as Record<CaseKey, CaseSamples>;
  for (let round = 0; round < ROUNDS; round++) {
    // Rotated every round, and reversed every other round: each case runs at every position, and
    // both before and after each other case (a plain rotation keeps the same neighbours).
    const rotated = CASES.map((_, i) => CASES[(i + round) % CASES.length]!);
    const order = round % 2 === 0 ? rotated : rotated.reverse();
    for (const c of order) {
      const batch = await connectBatch(c, round);
      const into = samples[c.key];
      into.rates.push(Math.round((CONNECTIONS / (batch.wallMs / 1000)) * 10) / 10);
      into.connectUs.push(...batch.connectUs);
      into.cycleUs.push(...batch.cycleUs);
    }
    for (const c of order) {
      const run = await iperf(c);
      samples[c.key].gbps.push(Math.round(run.gbps * 1000) / 1000);
      samples[c.key].retransmits.push(run.retransmits);
    }
    const line = CASES.map(
      (c) => `${c.key} ${samples[c.key].rates.at(-1)}/s ${samples[c.key].gbps.at(-1)} Gbit/s`,
    );
    log(`round ${round + 1}/${ROUNDS}: ${line.join(', ')}`);
  }
  const after = await unmatchedCounters(lab, agents);
  const unmatched = Object.fromEntries(
    Object.entries(after).map(([key, value]) => {
      const was = before[key as CaseKey] ?? { packets: 0, bytes: 0 };
      return [key, { packets: value.packets - was.packets, bytes: value.bytes - was.bytes }];
    }),
  ) as Partial<Record<CaseKey, Counter>>;

  return datapathReport({
    cases: CASES,
    samples,
    rounds: ROUNDS,
    connections: CONNECTIONS,
    warmup: WARMUP,
    iperfSeconds: IPERF_SECONDS,
    goal: GOAL,
    server,
    destinations: MANY.prefix,
    nodeAddress,
    seed: SEED,
    rules: RULES,
    avoid: AVOID,
    mapElements,
    enforceMs: enforced,
    linearLoadMs,
    probes: [
      `policy-1 denies \`${ONE_RULE_PROBE}\``,
      `rule ${probes.allow.rule} allows \`${probes.allow.address}\` (\`${probes.allow.cidr}\`)`,
      `rule ${probes.deny.rule} denies \`${probes.deny.address}\` (\`${probes.deny.cidr}\`)`,
    ],
    unmatched,
  });
}

await runClusterBench(
  {
    name: 'node-firewall-datapath',
    prefixStem: 'bfd',
    title: 'Node firewall: per-packet cost of a 10,000-rule policy',
    limitMs: 330_000,
    lab: { nodes: 1, pods: CASES.map((c) => ({ name: c.pod, namespace: c.namespace, node: 1 })) },
  },
  body,
);
