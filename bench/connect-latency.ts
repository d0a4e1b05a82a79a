/**
 * Goal 3 of issue 3: with 10,000 mappings, connecting to the 10,000th mapped port takes as long as
 * connecting to the first (one map lookup, whatever the position).
 *
 * The router (init mode) maps local ports 10001…20000 to port 80 of an outside echo server. A
 * client in the client namespace makes sequential TCP connections to the pod's first and last
 * mapped port, interleaved, and times each connect. Then the same with the old image's way: our
 * table deleted and the 10,000 iptables DNAT rules + SNAT loaded into the pod instead (with
 * iptables-nft-restore, then iptables-legacy-restore when the kernel has it), forwarding on.
 *
 * `node dist/bench/connect-latency.js [--quick]`
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BenchContext,
  type BenchResult,
  BIN,
  fmt,
  type GoalSummary,
  leanEnv,
  OUTSIDE,
  POD,
  portList,
  ratio,
  routerEnv,
  runBench,
  SOURCE,
  stats,
  table,
} from './_common.js';
import { killAnnouncers, namedNetnsLink } from './_procs.js';

const QUICK = process.argv.includes('--quick');
/** Passes over the rulesets (ours, iptables-nft, iptables-legacy, then again). */
const PASSES = 2;
/** Connections per port per pass (after the warm-up). */
const ROUNDS = QUICK ? 50 : 400;
const WARMUP = QUICK ? 10 : 25;
const COUNT = 10_000;
const FIRST_PORT = 10_001;
const LAST_PORT = FIRST_PORT + COUNT - 1;
/** "Equal": the last port's median connect time within 10 % of the first's. */
const EQUAL_WITHIN = 1.1;

const CLIENT = fileURLToPath(new URL('./_connect-client.js', import.meta.url));

interface Variant {
  readonly name: string;
  /** Loads this ruleset into the pod (the previous one is still there). */
  load(): Promise<void>;
}

async function body(ctx: BenchContext): Promise<BenchResult> {
  const { lab, work, log } = ctx;
  const podNetns = namedNetnsLink(lab.ns.pod);
  await lab.startEcho({ tcp: [80] });
  const listFile = join(work, 'destination-10k.txt');
  writeFileSync(listFile, portList(COUNT, FIRST_PORT, OUTSIDE, 80));
  const env = routerEnv({ EGRESS_ROUTER_MODE: 'init', EGRESS_DESTINATION_FILE: listFile });
  const rules = (
    await lab.exec('pod', process.execPath, [BIN], { env: { ...env, EGRESS_ROUTER_MODE: 'unit-test' } })
  ).stdout;
  const rulesFile = join(work, 'iptables-10k.rules');
  writeFileSync(rulesFile, `*nat\n${rules}COMMIT\n`);

  const pod = (cmd: string, args: string[], check = true) =>
    lab.exec('pod', cmd, args, { env: leanEnv(), check, timeoutMs: 60_000 });
  const clearAll = async () => {
    await pod('nft', ['delete', 'table', 'inet', 'egress_router'], false);
    await pod('nft', ['delete', 'table', 'ip', 'nat'], false);
    if (hasLegacy) await pod('iptables-legacy', ['-t', 'nat', '-F']);
  };
  const legacyProbe = await pod('iptables-legacy', ['-t', 'nat', '-L', '-n'], false);
  const hasLegacy = legacyProbe.code === 0;
  if (!hasLegacy) log(`legacy iptables not available, skipped: ${legacyProbe.stderr.trim()}`);

  const variants: Variant[] = [
    {
      name: 'egress-router (nftables maps)',
      async load() {
        await clearAll();
        const run = await lab.exec('pod', process.execPath, [BIN], { env, check: false, timeoutMs: 30_000 });
        if (run.code !== 0) throw new Error(`router failed: ${run.stderr}`);
        await killAnnouncers(podNetns);
      },
    },
    {
      name: 'old way, iptables-nft-restore (10,001 rules)',
      async load() {
        await clearAll();
        await pod('iptables-nft-restore', [rulesFile]);
      },
    },
  ];
  if (hasLegacy) {
    variants.push({
      name: 'old way, iptables-legacy-restore (10,001 rules)',
      async load() {
        await clearAll();
        await pod('iptables-legacy-restore', [rulesFile]);
      },
    });
  }

  const samples = new Map(variants.map((v) => [v.name, { first: [] as number[], last: [] as number[] }]));
  for (let pass = 0; pass < PASSES; pass++) {
    for (const variant of variants) {
      await variant.load();
      // The old way needs forwarding on; the router turned it on and nothing turns it off.
      const forwarding = (await pod('sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim();
      if (forwarding !== '1') throw new Error(`forwarding is ${forwarding} in the pod`);
      for (const port of [FIRST_PORT, LAST_PORT]) {
        const r = await lab.tcpRequest('client', POD, port);
        if (!r.ok || r.reply.peer !== SOURCE)
          throw new Error(`${variant.name}: port ${port}: ${JSON.stringify(r)}`);
      }
      log(`pass ${pass + 1}: ${variant.name}: ${WARMUP} + ${ROUNDS} connections per port`);
      const out = await lab.exec(
        'client',
        process.execPath,
        [
          CLIENT,
          POD,
          String(FIRST_PORT),
          String(LAST_PORT),
          String(ROUNDS),
          String(WARMUP),
          `${OUTSIDE}:80`,
          SOURCE,
        ],
        { env: leanEnv(), timeoutMs: 30_000 },
      );
      const got = JSON.parse(out.stdout) as { first: number[]; last: number[] };
      const into = samples.get(variant.name)!;
      into.first.push(...got.first);
      into.last.push(...got.last);
    }
  }
  await clearAll();

  const rows: string[][] = [];
  const summary = new Map<string, { first: number; last: number }>();
  for (const variant of variants) {
    const s = samples.get(variant.name)!;
    const first = stats(s.first);
    const last = stats(s.last);
    summary.set(variant.name, { first: first.median, last: last.median });
    rows.push([
      variant.name,
      String(first.n),
      `**${fmt(first.median, 0)}**`,
      fmt(first.p90, 0),
      `**${fmt(last.median, 0)}**`,
      fmt(last.p90, 0),
      `**${ratio(last.median / first.median)}**`,
      fmt(last.median - first.median, 0),
    ]);
  }
  const ours = summary.get(variants[0]!.name)!;
  const oursRatio = ours.last / ours.first;
  const oldPeers = variants
    .slice(1)
    .map((v) => {
      const o = summary.get(v.name)!;
      return `${v.name.replace(/^old way, /, '').replace(/ \(.*/, '')}: last/first ${ratio(o.last / o.first)}`;
    })
    .join('; ');
  const goals: GoalSummary[] = [
    {
      goal: '3. connect latency to the 10,000th mapped port equal to the first',
      target: `last/first ≤ ${ratio(EQUAL_WITHIN)} (medians)`,
      measured: `last/first ${ratio(oursRatio)} (${fmt(ours.first, 0)} vs ${fmt(ours.last, 0)} µs)`,
      peer: oldPeers,
      met: oursRatio <= EQUAL_WITHIN,
    },
  ];
  const markdown = `
**Goal:** with 10,000 mappings, connecting to the 10,000th mapped port takes as long as connecting to
the first (constant-time lookup).

**How:** the router in init mode maps local ports ${FIRST_PORT}…${LAST_PORT} (list in
\`EGRESS_DESTINATION_FILE\`) to \`${OUTSIDE}:80\`, where the lab's echo server listens. A Node client
in the client namespace (\`bench/_connect-client.ts\`) makes sequential TCP connections to
\`${POD}:${FIRST_PORT}\` and \`${POD}:${LAST_PORT}\`, alternating (the order flips every round), and
times each from just before \`net.connect()\` to the \`connect\` event: the SYN crosses the pod's
NAT lookup, the SYN-ACK comes back through conntrack. Every connection reads the echo server's answer
and checks it reached \`${OUTSIDE}:80\` from \`${SOURCE}\` (DNAT and SNAT happened). Then the old
image's way in the same pod: our table deleted, the same list as 10,000 iptables DNAT rules + the
SNAT line loaded ${hasLegacy ? 'with iptables-nft-restore, then with iptables-legacy-restore' : `with iptables-nft-restore (**iptables-legacy skipped**: ${legacyProbe.stderr.trim()})`};
forwarding stays on. ${PASSES} passes over the rulesets, ${WARMUP} warm-up then ${ROUNDS}
connections per port each, so ${ROUNDS * PASSES} samples per port and ruleset. Times in µs.

${table(
  [
    'ruleset in the pod',
    'N per port',
    `port ${FIRST_PORT} median µs`,
    'p90',
    `port ${LAST_PORT} median µs`,
    'p90',
    'last/first',
    'last − first µs',
  ],
  rows,
)}

- egress-router: last/first ${ratio(oursRatio)}: **${goals[0]!.met ? 'met' : 'missed'}** (criterion: within
  ${Math.round((EQUAL_WITHIN - 1) * 100)} %).
- Old way: ${oldPeers}: every new connection to the last port walks 10,000 rules first.
`;
  return {
    markdown,
    goals,
    raw: {
      passes: PASSES,
      rounds: ROUNDS,
      legacy: hasLegacy,
      samplesUs: Object.fromEntries(samples),
    },
  };
}

await runBench('connect-latency', 'bcl', '3. Connect latency, first vs 10,000th mapped port', 90_000, body);
