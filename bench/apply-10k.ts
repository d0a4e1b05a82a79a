/**
 * Goal 2 of issue 3: applying a list of 10,000 port mappings takes ≤ 1 s.
 *
 * Side by side, interleaved round by round, each from a clean pod: our path end to end (the router
 * in init mode), our nft transaction alone (`plan --json` applied with `nft -j -f`), and the old
 * image's way (one iptables rule per line plus the SNAT line in a `*nat … COMMIT` file, loaded with
 * iptables-nft-restore and, when the kernel has legacy iptables, iptables-legacy-restore). Timed
 * inside the pod namespace by the timing driver, spawn to exit.
 *
 * `node dist/bench/apply-10k.js [--quick]`
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BenchContext,
  type BenchResult,
  BIN,
  execSteps,
  fmt,
  type GoalSummary,
  leanEnv,
  median,
  OUTSIDE,
  POD_RESET,
  portList,
  ratio,
  routerEnv,
  runBench,
  runDriver,
  stats,
  table,
  timesOf,
} from './_common.js';
import type { DriverStep } from './_driver.js';
import { killAnnouncers, namedNetnsLink } from './_procs.js';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 2 : 7;
const COUNT = 10_000;
const FIRST_PORT = 10_001;
const GOAL_MS = 1_000;

const ROUTER = 'egress-router, init mode, fresh pod';
const ROUTER_RERUN = 'egress-router, init mode, re-run (replaces a 10,000-mapping table)';
const NFT = 'nft -j -f (the plan --json transaction), no table yet';
const NFT_REPLACE = 'nft -j -f (the same), replacing the table';
const IPT_NFT = 'iptables-nft-restore (old image: a rule per line)';
const IPT_LEGACY = 'iptables-legacy-restore (old image: a rule per line)';

/** Removes every ruleset the methods make, and restores the pod's starting network state. */
const CLEAN: DriverStep[] = [
  { op: 'run', argv: ['nft', 'delete', 'table', 'ip', 'nat'], expect: 'any' },
  ...POD_RESET,
];
const LEGACY_FLUSH: DriverStep = { op: 'run', argv: ['iptables-legacy', '-t', 'nat', '-F'] };
/** Table deletion frees 10,000 elements partly after the transaction returns. */
const SETTLE: DriverStep = { op: 'sleep', ms: 150 };

async function countOurElements(ctx: BenchContext): Promise<number> {
  const out = await ctx.lab.exec('pod', 'nft', ['-j', 'list', 'table', 'inet', 'egress_router'], {
    env: leanEnv(),
  });
  const items = (JSON.parse(out.stdout) as { nftables: { map?: { elem?: unknown[] } }[] }).nftables;
  return Math.max(0, ...items.map((item) => item.map?.elem?.length ?? 0));
}

async function countDnatRules(ctx: BenchContext, save: string): Promise<number> {
  const out = await ctx.lab.exec('pod', save, ['-t', 'nat'], { env: leanEnv() });
  return out.stdout.split('\n').filter((line) => line.includes('-j DNAT')).length;
}

async function body(ctx: BenchContext): Promise<BenchResult> {
  const { lab, work, log } = ctx;
  const podNetns = namedNetnsLink(lab.ns.pod);
  const listFile = join(work, 'destination-10k.txt');
  writeFileSync(listFile, portList(COUNT, FIRST_PORT, OUTSIDE, 80));
  // A 10,000-line list is ~260 kB: more than Linux allows for one environment variable (128 kB,
  // MAX_ARG_STRLEN), so EGRESS_DESTINATION cannot hold it; it comes as EGRESS_DESTINATION_FILE.
  const env = routerEnv({ EGRESS_ROUTER_MODE: 'init', EGRESS_DESTINATION_FILE: listFile });

  const planFile = join(work, 'plan-10k.json');
  writeFileSync(planFile, (await lab.exec('pod', process.execPath, [BIN, 'plan', '--json'], { env })).stdout);
  // The old image's rules, as our unit-test mode prints them (byte for byte what it loaded).
  const lines = (
    await lab.exec('pod', process.execPath, [BIN], { env: { ...env, EGRESS_ROUTER_MODE: 'unit-test' } })
  ).stdout;
  const ruleCount = lines.trim().split('\n').length;
  if (ruleCount !== COUNT + 1)
    throw new Error(`unit-test mode printed ${ruleCount} lines, expected ${COUNT + 1}`);
  const iptablesFile = join(work, 'iptables-10k.rules');
  writeFileSync(iptablesFile, `*nat\n${lines}COMMIT\n`);

  // Legacy iptables needs the kernel's ip_tables; skip it when the kernel has none.
  const legacy = await lab.exec('pod', 'iptables-legacy', ['-t', 'nat', '-L', '-n'], {
    check: false,
    env: leanEnv(),
  });
  const hasLegacy = legacy.code === 0;
  if (!hasLegacy) log(`legacy iptables not available, skipped: ${legacy.stderr.trim()}`);
  const clean: DriverStep[] = hasLegacy ? [...CLEAN, LEGACY_FLUSH] : CLEAN;

  // Preflight: each method really loads 10,000 mappings (and warms caches up).
  await execSteps(lab, 'pod', clean);
  const run = await lab.exec('pod', process.execPath, [BIN], { env, check: false, timeoutMs: 30_000 });
  if (run.code !== 0) throw new Error(`router failed: ${run.stderr}`);
  await killAnnouncers(podNetns);
  if ((await countOurElements(ctx)) !== COUNT) throw new Error('the router did not load 10,000 map elements');
  await execSteps(lab, 'pod', clean);
  await lab.exec('pod', 'nft', ['-j', '-f', planFile], { env: leanEnv(), timeoutMs: 30_000 });
  if ((await countOurElements(ctx)) !== COUNT) throw new Error('nft -j -f did not load 10,000 map elements');
  await execSteps(lab, 'pod', clean);
  await lab.exec('pod', 'iptables-nft-restore', [iptablesFile], { env: leanEnv(), timeoutMs: 60_000 });
  const nftRules = await countDnatRules(ctx, 'iptables-nft-save');
  if (nftRules !== COUNT) throw new Error(`iptables-nft-restore loaded ${nftRules} DNAT rules`);
  if (hasLegacy) {
    await execSteps(lab, 'pod', clean);
    await lab.exec('pod', 'iptables-legacy-restore', [iptablesFile], { env: leanEnv(), timeoutMs: 60_000 });
    const legacyRules = await countDnatRules(ctx, 'iptables-legacy-save');
    if (legacyRules !== COUNT) throw new Error(`iptables-legacy-restore loaded ${legacyRules} DNAT rules`);
  }
  log('preflight: every method loads 10,000 mappings');

  const steps: DriverStep[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    steps.push(
      ...clean,
      SETTLE,
      { op: 'run', argv: [process.execPath, BIN], env: 'router', label: ROUTER },
      { op: 'killAnnounce', expect: 1 },
      SETTLE,
      { op: 'run', argv: [process.execPath, BIN], env: 'router', label: ROUTER_RERUN },
      { op: 'killAnnounce', expect: 1 },
      ...clean,
      SETTLE,
      { op: 'run', argv: ['nft', '-j', '-f', planFile], label: NFT },
      SETTLE,
      { op: 'run', argv: ['nft', '-j', '-f', planFile], label: NFT_REPLACE },
      ...clean,
      SETTLE,
      { op: 'run', argv: ['iptables-nft-restore'], stdin: iptablesFile, label: IPT_NFT, timeoutMs: 60_000 },
    );
    if (hasLegacy) {
      steps.push(...clean, SETTLE, {
        op: 'run',
        argv: ['iptables-legacy-restore'],
        stdin: iptablesFile,
        label: IPT_LEGACY,
        timeoutMs: 60_000,
      });
    }
  }
  steps.push(...clean);
  log(`timing: ${ROUNDS} rounds`);
  const results = await runDriver(ctx, 'pod', { envs: { router: env }, steps }, 90_000);

  const ours = median(timesOf(results, ROUTER));
  const nftOnly = median(timesOf(results, NFT));
  const labels = [ROUTER, ROUTER_RERUN, NFT, NFT_REPLACE, IPT_NFT, ...(hasLegacy ? [IPT_LEGACY] : [])];
  const rows = labels.map((label) => {
    const s = stats(timesOf(results, label));
    return [
      label,
      String(s.n),
      fmt(s.min, 0),
      `**${fmt(s.median, 0)}**`,
      fmt(s.p90, 0),
      ratio(s.median / ours),
      ratio(s.median / nftOnly),
    ];
  });
  const oldWays = [IPT_NFT, ...(hasLegacy ? [IPT_LEGACY] : [])];
  const peersFor = (ours: number) =>
    oldWays
      .map((label) => {
        const theirs = median(timesOf(results, label));
        return `${label.replace(/ \(.*/, '')} ${fmt(theirs, 0)} ms (ours ${ratio(ours / theirs)} that)`;
      })
      .join('; ');
  const goals: GoalSummary[] = [
    {
      goal: '2. apply 10,000 port mappings: the router end to end (init mode, fresh pod)',
      target: `≤ ${GOAL_MS} ms`,
      measured: `median ${fmt(ours, 0)} ms`,
      peer: peersFor(ours),
      met: ours <= GOAL_MS,
    },
    {
      goal: '2. apply 10,000 port mappings: the nft transaction alone',
      target: `≤ ${GOAL_MS} ms`,
      measured: `median ${fmt(nftOnly, 0)} ms`,
      peer: peersFor(nftOnly),
      met: nftOnly <= GOAL_MS,
    },
  ];
  const markdown = `
**Goal:** applying a list of 10,000 port mappings takes ≤ ${GOAL_MS / 1000} s.

**How:** the list is 10,000 lines \`${FIRST_PORT}…${FIRST_PORT + COUNT - 1} tcp ${OUTSIDE} 80\`. It
is given to the router as \`EGRESS_DESTINATION_FILE\`: at about 260 kB it is larger than Linux
allows for a single environment variable (128 kB, \`MAX_ARG_STRLEN\`), so it cannot be passed in
\`EGRESS_DESTINATION\` at all (nor could it to the old image). The old image's way is the file our
\`unit-test\` mode prints (${COUNT.toLocaleString('en-US')} \`-A PREROUTING -i eth0 -p tcp --dport P -j DNAT
--to-destination ${OUTSIDE}:80\` lines and the SNAT line) between \`*nat\` and \`COMMIT\`, loaded with
iptables-restore from standard input. ${hasLegacy ? 'Both iptables back ends are measured.' : `**iptables-legacy-restore skipped:** the kernel has no legacy iptables (${legacy.stderr.trim()}).`}
A preflight checks every method really loads 10,000 mappings (map elements, DNAT rules). Then
${ROUNDS} rounds, each running every method once, interleaved; before each fresh run, untimed, every
ruleset is removed (\`inet egress_router\`, iptables-nft's \`ip nat\`, the legacy nat table flushed)
and the pod's network state restored, then 150 ms pass for the kernel to finish freeing. The timing
driver runs inside the pod namespace (spawn to exit). The router runs without
\`NODE_EXTRA_CA_CERTS\`, as in the images.

${table(['method', 'N', 'min ms', 'median ms', 'p90 ms', '× the router', '× nft alone'], rows)}

- Router end to end: median ${fmt(ours, 0)} ms: **${goals[0]!.met ? 'met' : 'missed'}**; the nft
  transaction alone: median ${fmt(nftOnly, 0)} ms: **${goals[1]!.met ? 'met' : 'missed'}**.
- The old image's way took ${oldWays
    .map(
      (label) =>
        `${ratio(median(timesOf(results, label)) / ours)} the router's time with ${label.replace(/ \(.*/, '')}`,
    )
    .join(' and ')} (ratios of medians).
`;
  return {
    markdown,
    goals,
    raw: {
      rounds: ROUNDS,
      legacy: hasLegacy,
      ms: Object.fromEntries(
        labels.map((l) => [l, timesOf(results, l).map((ms) => Math.round(ms * 10) / 10)]),
      ),
    },
  };
}

await runBench('apply-10k', 'bap', '2. Applying 10,000 port mappings', 110_000, body);
