/**
 * The node firewall datapath benchmark's report, pure: the samples of every case to its Markdown
 * section, its goals and its raw numbers.
 */
import { type BenchResult, fmt, type GoalSummary, median, ratio, stats, table } from './_common.js';

/** The cases, in the order the tables show them. */
export type CaseKey = 'none' | 'policy-1' | 'policy-10k' | 'linear-10k' | 'linear-10k-ct';

/** One case: a pod on node 1 whose namespace gets the case's filtering. */
export interface DatapathCase {
  readonly key: CaseKey;
  /** The pod's name in the lab. */
  readonly pod: string;
  /** Its Kubernetes namespace. */
  readonly namespace: string;
  /** What filters its traffic in node 1, for the tables. */
  readonly what: string;
}

/** Everything measured for one case, round by round. */
export interface CaseSamples {
  /** Per round: the batch's timed connections per second (count / wall time). */
  readonly rates: number[];
  /** Every timed connection's handshake, µs. */
  readonly connectUs: number[];
  /** Every timed connection's whole cycle (connect, answer, close), µs. */
  readonly cycleUs: number[];
  /** Per round: iperf3's receiver rate, Gbit/s. */
  readonly gbps: number[];
  readonly retransmits: number[];
}

/** The settings and the facts the report states. */
export interface DatapathRun {
  readonly cases: readonly DatapathCase[];
  readonly samples: Readonly<Record<CaseKey, CaseSamples>>;
  readonly rounds: number;
  readonly connections: number;
  readonly warmup: number;
  readonly iperfSeconds: number;
  readonly goal: number;
  readonly server: string;
  /** The prefix the batches' connections go to, an address each. */
  readonly destinations: string;
  readonly nodeAddress: string;
  readonly seed: number;
  readonly rules: number;
  readonly avoid: readonly string[];
  /** Elements of the agent's IPv4 interval map for the 10,000 rules. */
  readonly mapElements: number;
  /** From writing the 10,000-rule manifest to the agent's status showing it enforced, ms. */
  readonly enforceMs: number;
  /** `nft -j -f <file>` of the linear table (two chains of 10,000 rules each), ms. */
  readonly linearLoadMs: number;
  /** The preflight's probe addresses and their deciding rules. */
  readonly probes: readonly string[];
  /** Packets (and their bytes) that walked to "no rule matched" during the rounds, per case that counts them. */
  readonly unmatched: Readonly<
    Partial<Record<CaseKey, { readonly packets: number; readonly bytes: number }>>
  >;
}

/** Per round: one case's value divided by the other's in the same round. */
function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((value, i) => value / b[i]!);
}

function range(values: readonly number[]): string {
  const s = stats(values);
  return `${fmt(s.min, 2)}–${fmt(s.max, 2)}`;
}

/**
 * The report of a run.
 *
 * @param run the samples, settings and facts
 * @returns the Markdown section (without its heading), the goals and the raw numbers
 */
export function datapathReport(run: DatapathRun): BenchResult {
  const s = run.samples;
  const rate = (key: CaseKey) => median(s[key].rates);
  const gbps = (key: CaseKey) => median(s[key].gbps);
  const rateRatio = rate('policy-10k') / rate('policy-1');
  const gbpsRatio = gbps('policy-10k') / gbps('policy-1');
  const rateMet = rateRatio >= run.goal;
  const gbpsMet = gbpsRatio >= run.goal;
  const verdict = (met: boolean) => (met ? 'met' : 'missed');
  const pairedRate = pairedRatios(s['policy-10k'].rates, s['policy-1'].rates);
  const pairedGbps = pairedRatios(s['policy-10k'].gbps, s['policy-1'].gbps);
  const versus = (key: CaseKey, of: (key: CaseKey) => number) => ratio(of(key) / of('policy-1'));

  const connectionRows = run.cases.map((c) => {
    const r = stats(s[c.key].rates);
    const hs = stats(s[c.key].connectUs);
    const cycle = stats(s[c.key].cycleUs);
    return [
      `**${c.key}**: ${c.what}`,
      String(r.n),
      fmt(r.min, 0),
      `**${fmt(r.median, 0)}**`,
      fmt(r.p90, 0),
      `**${versus(c.key, rate)}**`,
      fmt(hs.median, 0),
      fmt(hs.p90, 0),
      fmt(cycle.median, 0),
      fmt(cycle.p90, 0),
    ];
  });
  const throughputRows = run.cases.map((c) => {
    const g = stats(s[c.key].gbps);
    return [
      `**${c.key}**`,
      String(g.n),
      fmt(g.min, 2),
      `**${fmt(g.median, 2)}**`,
      fmt(g.p90, 2),
      fmt(g.max, 2),
      `**${versus(c.key, gbps)}**`,
      fmt(median(s[c.key].retransmits), 0),
    ];
  });
  const spread = (key: CaseKey) => {
    const g = stats(s[key].gbps);
    return (g.max - g.min) / g.median;
  };
  const worstSpread = Math.max(spread('policy-1'), spread('policy-10k'));

  const goals: GoalSummary[] = [
    {
      goal: 'node firewall: new TCP connections/s from a pod, 10,000-rule vs 1-rule EgressNetworkPolicy',
      target: `≥ ${run.goal}× the 1-rule policy`,
      measured: `${ratio(rateRatio)} (${fmt(rate('policy-10k'), 0)} vs ${fmt(rate('policy-1'), 0)} conn/s)`,
      peer: `the same rules as a linear nft chain ${versus('linear-10k', rate)}; with established accepted first ${versus('linear-10k-ct', rate)}; no policy ${versus('none', rate)}`,
      met: rateMet,
    },
    {
      goal: 'node firewall: iperf3 TCP throughput from a pod, 10,000-rule vs 1-rule EgressNetworkPolicy',
      target: `≥ ${run.goal}× the 1-rule policy`,
      measured: `${ratio(gbpsRatio)} (${fmt(gbps('policy-10k'), 2)} vs ${fmt(gbps('policy-1'), 2)} Gbit/s)`,
      peer: `linear nft chain ${versus('linear-10k', gbps)}; with established accepted first ${versus('linear-10k-ct', gbps)}; no policy ${versus('none', gbps)}`,
      met: gbpsMet,
    },
  ];

  const unmatched = run.cases
    .filter((c) => run.unmatched[c.key] !== undefined)
    .map((c) => {
      const count = run.unmatched[c.key]!;
      return `${c.key} ${count.packets.toLocaleString('en-US')} (${fmt(count.bytes / count.packets / 1000, 1)} kB each on average)`;
    })
    .join(', ');
  /** Connections each pod opened during the rounds: the batches', and iperf3's control and data connections. */
  const opened = run.rounds * (run.warmup + run.connections + 2);
  const thousands = (n: number) => n.toLocaleString('en-US');
  const paired = (values: readonly number[]) => `${ratio(median(values))} (${range(values)})`;
  const markdown = `
**Goal (issue #11, per-packet cost):** new-connection rate and throughput from a pod with a
${thousands(run.rules)}-rule EgressNetworkPolicy at least ${run.goal}× those with a 1-rule policy; and both
against the same rules written as a linear nft chain.

**How:** a cluster lab (\`src/lab/cluster-lab.ts\`) with one node and five pods on it, one per case,
each in a Kubernetes namespace of its own, all set up once and left so for the whole run (two
namespaces with one policy each rather than one policy rewritten between rounds): the agent
(\`egress-router node\`, table \`inet egress_router_node\`) enforces a 1-rule policy
(\`Deny 198.51.100.0/24\`) in \`bench-one\` and the ${thousands(run.rules)}-rule policy in \`bench-10k\`;
\`bench-none\`, \`bench-lin\` and \`bench-linct\` have no policy (the agent's chain sends their packets
on to the admin chain after one \`@pods4\` miss, as for any unfiltered namespace). The benchmark's own
table \`inet bench_linear\` in node 1 (hook forward, priority filter, policy accept) sends the
packets of the last two pods, by source address (\`ip saddr vmap\`: one lookup, whoever sent the
packet), to a chain each holding the same rules in order, \`ip saddr <pod> ip daddr <cidr>
drop|accept\`, and a final counter; the \`linear-10k-ct\` chain starts with \`ct state
established,related accept\`. The server: the lab's echo server and \`iperf3 -s\` (its own process
group) at \`${run.server}\` on the outside network, whose namespace also answers on every address of
\`${run.destinations}\` (a local route; the gateway routes it there); the pods' traffic is forwarded by
node 1 (its forward hook) and masqueraded to \`${run.nodeAddress}\` (the lab's SDN).

The rules: \`randomCidrRules(${run.rules}, random(${run.seed}), avoid, 0)\` (\`bench/_firewall-policies.ts\`):
IPv4 only, so that the linear chains hold all ${thousands(run.rules)}; none touches
${run.avoid.map((a) => `\`${a}\``).join(', ')}, so no rule matches the measured traffic and every packet
that enters a linear chain walks all of them to "no rule matched: allowed", its worst case. The agent
compiled them into ${thousands(run.mapElements)} elements of one interval verdict map and enforced them
${fmt(run.enforceMs / 1000, 1)} s after it was started; \`nft -j -f <file>\` loaded the two linear chains in
${fmt(run.linearLoadMs, 0)} ms. Before measuring, every pod was checked to reach the server as
\`${run.nodeAddress}\`, and each filter to decide as its rules say, deep in the list
(${run.probes.join('; ')}).

${run.rounds} rounds; each runs every case once, first the connections, then the throughput, in an
order rotated every round and reversed every other round (so that each case runs both before and
after each other one). _New connections:_ inside the pod's namespace, \`bench/_datapath-connect.ts\` makes
${run.warmup} untimed then ${run.connections} timed sequential TCP connections to port 80, each to an address
of \`${run.destinations}\` of its own (no pod connects to one address twice in the run, so every connection
is a new source-destination pair for the agent: see the notes): connect, the server's one-line answer, close (each answer checked: the server saw
\`${run.nodeAddress}\`); connections/s = ${run.connections} / the batch's wall time; handshake =
\`connect()\` to the \`connect\` event; cycle = \`connect()\` to \`close\`. _Throughput:_
\`iperf3 -c ${run.server} -t ${run.iperfSeconds} -O 1 -J\` from the pod (one TCP stream, the pod
sending; the receiver's rate).

${table(
  [
    'case: what filters the pod in node 1',
    'batches',
    'conn/s min',
    'conn/s median',
    'conn/s p90',
    '× policy-1',
    'handshake µs median',
    'p90',
    'cycle µs median',
    'p90',
  ],
  connectionRows,
)}

${table(
  [
    'case',
    'runs',
    'min Gbit/s',
    'median Gbit/s',
    'p90 Gbit/s',
    'max Gbit/s',
    '× policy-1',
    'retransmits (median)',
  ],
  throughputRows,
)}

- New connections/s, policy-10k / policy-1: ${ratio(rateRatio)} (goal ≥ ${run.goal}): **${verdict(rateMet)}**;
  the same ratio round by round: median ${paired(pairedRate)}.
- Throughput, policy-10k / policy-1: ${ratio(gbpsRatio)} (goal ≥ ${run.goal}): **${verdict(gbpsMet)}**;
  round by round: median ${paired(pairedGbps)}${worstSpread > 1 - run.goal ? `; the runs of one case are up to ${fmt(worstSpread * 100, 0)} % apart, more than the goal's margin, so the machine's other load weighs on this verdict` : ''}.
- The same rules as a linear chain: ${versus('linear-10k', rate)} the connection rate and ${versus('linear-10k', gbps)}
  the throughput of policy-1; with established traffic accepted first, ${versus('linear-10k-ct', rate)} and
  ${versus('linear-10k-ct', gbps)}. The agent's own cost (policy-1 against no policy):
  ${ratio(rate('policy-1') / rate('none'))} and ${ratio(gbps('policy-1') / gbps('none'))}.

Notes:

- **Established packets.** The agent's forward chain (\`src/firewall/ruleset.ts\`) does not look at
  connection state. A packet a pod sends outside the cluster and service networks goes
  \`ip saddr @cluster4 ip daddr != @internal4 goto egress4\` (two interval-set lookups), then
  \`ip saddr . ip daddr @allowed4\`: a hash set of the source-destination pairs the firewall allowed
  since its last change (flushed in the same kernel transaction as every change, entries kept 60 s);
  a pair in it goes straight to the admin chain. Otherwise \`ip saddr vmap @pods4\` (a hash lookup:
  jump to the namespace's chain), \`ip daddr vmap @fw4-<namespace>\` (one lookup in the namespace's
  interval verdict map, which holds all its rules: logarithmic in its elements, whatever the rule
  count), the chain's counter, and, allowed, the pair added to \`@allowed4\`. Replies from outside
  leave the forward chain at its first rule (their source is not in the cluster network). So the
  map is looked up for the first packet of each new pair, and every later packet of the pair, in
  whatever connection, costs one hash lookup: the cache works per pair, not per connection, so
  sequential connections to one server would all but the first skip the map. That is why each
  connection here goes to an address of its own: its SYN misses the cache and looks the map up
  (the worst case: a pod opening connections to ever new destinations), its later packets hit; the
  iperf3 runs (one destination) measure the steady state of a long flow, the cache hit. A linear
  chain that accepts established traffic first (\`linear-10k-ct\`) likewise walks its rules for a
  connection's first packet only, the SYN (replies never enter it: the dispatch is by the pod's
  source); the linear chain without that rule (\`linear-10k\`) walks all of them for every packet
  the pod sends.
- **Counted** during the rounds, packets that walked to "no rule matched" (the agent's namespace
  chain counter, the linear chains' final counter): ${unmatched}. Each pod opened ${thousands(opened)}
  connections (the batches' and iperf3's control and data connections): the agent's policies and
  \`linear-10k-ct\` counted about one packet per connection, each new pair's (or connection's) first. A "packet" here is what the forward hook sees: with GSO/GRO on the
  veths, iperf3's segments arrive as aggregates of tens of kB, so the per-packet lookup is spread
  over many bytes in the throughput runs, and the connection rate (a handful of small packets per
  connection) is the more sensitive measure of the per-packet cost.
- **Connection tracking** is on in node 1 in every case (the lab's SDN masquerade is a NAT rule), so
  the \`ct state\` match adds no tracking of its own.
- **Noise.** Two cores, shared with other work (the load averages above); the cases are interleaved
  round by round so that drift hits them alike, the verdicts are ratios of medians, and the
  round-by-round ratios show how far one round's pair can be off. The pods differ only in their
  addresses.
`;
  return {
    markdown,
    goals,
    raw: {
      rounds: run.rounds,
      connections: run.connections,
      warmup: run.warmup,
      iperfSeconds: run.iperfSeconds,
      seed: run.seed,
      destinations: run.destinations,
      rules: run.rules,
      mapElements: run.mapElements,
      enforceMs: run.enforceMs,
      linearLoadMs: run.linearLoadMs,
      unmatched: run.unmatched,
      cases: run.cases,
      // Per connection in whole µs, to keep the file small.
      samples: Object.fromEntries(
        Object.entries(run.samples).map(([key, c]) => [
          key,
          { ...c, connectUs: c.connectUs.map(Math.round), cycleUs: c.cycleUs.map(Math.round) },
        ]),
      ),
    },
  };
}
