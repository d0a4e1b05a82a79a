/**
 * Goal 1 of issue 3: set-up wall time of `node bin/egress-router` in `init` mode, from process start
 * to exit: median ≤ 150 ms.
 *
 * The timing driver runs inside the pod namespace and spawns the router there, so `ip netns exec`
 * is not counted. Four cases, interleaved round by round: a fresh pod (the lab's starting state is
 * restored, untimed, before each run) and a re-run on a pod that is set up, each with a short list
 * and a 1,000-line list. In the same rounds: bare `node -e 0` (the floor), and the pieces that show
 * where the time goes (module loads, the CLI without them, the nft transaction alone). Then a few
 * runs under `--cpu-prof`, summarised by where the CPU time was spent.
 *
 * `node dist/bench/setup-time.js [--quick]`
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asCreation, type NftDocument } from '../src/nat/ruleset.js';
import {
  type BenchContext,
  type BenchResult,
  BIN,
  execSteps,
  fmt,
  GATEWAY,
  type GoalSummary,
  median,
  OUTSIDE,
  PATH,
  POD_RESET,
  podState,
  portList,
  ratio,
  routerEnv,
  runBench,
  runDriver,
  SOURCE,
  stats,
  table,
  timesOf,
} from './_common.js';
import type { DriverResult, DriverStep } from './_driver.js';
import { killAnnouncers, namedNetnsLink } from './_procs.js';

const QUICK = process.argv.includes('--quick');
/** Timed runs per case. */
const N = QUICK ? 5 : 30;
/** Untimed runs per case first (disk cache, lazily loaded kernel modules). */
const WARMUP = QUICK ? 1 : 2;
/** Fewer rounds than N only when the timed rounds have taken this long (a very busy machine). */
const BUDGET_MS = 110_000;
const MIN_N = QUICK ? N : 10;
/** Router runs under --cpu-prof. */
const PROFILE_RUNS = QUICK ? 3 : 8;
const GOAL_MS = 150;

const SHORT_LIST = ['80 tcp 203.0.113.25', '8080 tcp 203.0.113.26 80', '53 udp 203.0.113.25', '203.0.113.27']
  .map((line) => `${line}\n`)
  .join('');
const LONG_LIST = portList(1000, 10001, OUTSIDE, 80);

const RESET = POD_RESET;
const SETTLE: DriverStep = { op: 'sleep', ms: 20 };

interface Case {
  readonly label: string;
  readonly fresh: boolean;
  readonly env: string;
}

const CASES: readonly Case[] = [
  { label: 'fresh pod, short list (4 lines)', fresh: true, env: 'short' },
  { label: 'fresh pod, 1,000-line list', fresh: true, env: 'long' },
  { label: 're-run on a set-up pod, short list', fresh: false, env: 'short' },
  { label: 're-run on a set-up pod, 1,000-line list', fresh: false, env: 'long' },
];

const FLOOR = 'node -e 0';
const FLOOR_CA = 'node -e 0, with NODE_EXTRA_CA_CERTS';
const PINO = 'node -e "import(\'pino\')"';
const NETLINK = 'node -e "import(\'netlink\')"';
const NETLINK_RAW = 'node -e "require(\'netlink/dist/raw.js\')"';
const NO_IFACE = 'egress-router, init mode, egress interface missing (exit 1)';
const UNIT_TEST = 'egress-router, unit-test mode, short list';
const NFT_SHORT = 'nft -j -f (short list plan, replacing the table)';
const NFT_CREATE = 'nft -j -f (short list plan, creating the table)';

function routerSteps(c: Case, label: string | undefined): DriverStep[] {
  return [
    { op: 'run', argv: [process.execPath, BIN], env: c.env, ...(label ? { label, keepStdout: true } : {}) },
    { op: 'killAnnounce', expect: 1 },
  ];
}

function evalSteps(planShort: string, planCreate: string): DriverStep[] {
  const importer = (code: string, label: string): DriverStep => ({
    op: 'run',
    argv: [process.execPath, '--input-type=module', '-e', code],
    env: 'bare',
    label,
  });
  return [
    { op: 'run', argv: [process.execPath, '-e', '0'], env: 'bare', label: FLOOR },
    { op: 'run', argv: [process.execPath, '-e', '0'], env: 'ca', label: FLOOR_CA },
    importer("await import('pino')", PINO),
    importer("await import('netlink')", NETLINK),
    // Only the package's raw socket: what src/network loads (its own codec speaks rtnetlink).
    {
      op: 'run',
      argv: [process.execPath, '-e', "require('netlink/dist/raw.js')"],
      env: 'bare',
      label: NETLINK_RAW,
    },
    // Loads everything set-up loads, opens netlink, and stops at the first step: the interface check.
    { op: 'run', argv: [process.execPath, BIN], env: 'noIface', expect: 1, label: NO_IFACE },
    { op: 'run', argv: [process.execPath, BIN], env: 'unit', label: UNIT_TEST },
    { op: 'run', argv: ['nft', 'delete', 'table', 'inet', 'egress_router'], expect: 'any' },
    SETTLE,
    { op: 'run', argv: ['nft', '-j', '-f', planShort], label: NFT_SHORT },
    { op: 'run', argv: ['nft', 'delete', 'table', 'inet', 'egress_router'], expect: 'any' },
    SETTLE,
    { op: 'run', argv: ['nft', '-j', '-f', planCreate], label: NFT_CREATE },
  ];
}

/** The set-up phase the router logs itself (`ms` of "egress router set up"). */
function loggedMs(results: readonly DriverResult[], label: string): number[] {
  return results
    .filter((r) => r.label === label)
    .map((r) => {
      const line = (r.stdout ?? '').split('\n').find((l) => l.includes('egress router set up'));
      if (line === undefined) throw new Error(`${label}: no set-up log line in ${JSON.stringify(r.stdout)}`);
      return (JSON.parse(line) as { ms: number }).ms;
    });
}

/**
 * A CPU profile's samples by what they were spent on behalf of: the nearest frame on the stack
 * that belongs to a package or to our code (so a package's `require`s and its top-level code count
 * for it); samples with no such frame by the Node or V8 activity itself.
 */
function profileCategories(path: string): Map<string, number> {
  interface Node {
    id: number;
    callFrame: { functionName: string; url: string };
    children?: number[];
  }
  const profile = JSON.parse(readFileSync(path, 'utf8')) as {
    nodes: Node[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const out = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    let category: string | undefined;
    for (let at: number | undefined = id; at !== undefined && category === undefined; at = parent.get(at)) {
      category = owner(byId.get(at)!.callFrame.url);
    }
    const leaf = byId.get(id)!.callFrame;
    category ??= activity(leaf.url, leaf.functionName);
    out.set(category, (out.get(category) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return out;
}

/** How many distinct scripts ran, by owner (a module's top-level code always runs once). */
function scriptsByOwner(path: string): Map<string, number> {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as { nodes: { callFrame: { url: string } }[] };
  const urls = new Set(profile.nodes.map((n) => n.callFrame.url).filter((url) => url !== ''));
  const out = new Map<string, number>();
  for (const url of urls) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
    const who = url.includes('/dist/src/')
      ? 'egress-router modules'
      : pkg !== undefined
        ? `${PINO_FAMILY.test(pkg) ? 'pino family' : pkg === 'node-gyp-build' ? 'netlink' : pkg} files`
        : url.startsWith('node:')
          ? 'Node built-in modules'
          : 'other';
    out.set(who, (out.get(who) ?? 0) + 1);
  }
  return out;
}

const PINO_FAMILY =
  /^(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|atomic-sleep|on-exit-leak-free|safe-stable-stringify|process-warning|real-require|@pinojs\/redact|pino-abstract-transport|split2)$/;

/** The package (or our code) a frame belongs to, if any. */
function owner(url: string): string | undefined {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg !== undefined) {
    if (PINO_FAMILY.test(pkg)) return 'pino and its dependencies: loading and running';
    if (pkg === 'netlink' || pkg === 'node-gyp-build')
      return 'netlink (and node-gyp-build, its addon loader): loading and running';
    return `${pkg}: loading and running`;
  }
  if (url.includes('/dist/src/'))
    return 'egress-router code, and the Node built-ins it calls (spawn, fs, sockets)';
  return undefined;
}

const LOADER_NATIVES =
  /^(readFileUtf8|internalModuleStat|internalModuleReadJSON|fstat|lstat|stat|openFileHandle|read|close|realpath|compileFunction|compileFunctionForCJSLoader|dlopen)$/;

/** What Node or V8 was doing, for samples not on behalf of a package or our code. */
function activity(url: string, fn: string): string {
  if (fn === '(idle)') return 'idle: waiting (for nft, netlink replies, file reads, the child to exit)';
  if (fn === '(garbage collector)') return 'garbage collector';
  if (fn === '(program)') return 'V8 and native code outside JS (start-up, compiling)';
  if (url.includes('cjs-module-lexer'))
    return 'Node: scanning CommonJS exports for ESM imports (cjs-module-lexer)';
  if (
    url.startsWith('node:internal/modules') ||
    url === 'node:path' ||
    url.startsWith('node:internal/fs') ||
    url === 'node:fs' ||
    url.startsWith('node:internal/vm') ||
    (url === '' && LOADER_NATIVES.test(fn))
  ) {
    return 'Node module loader: resolving, reading, compiling (ESM graph, CommonJS entry points)';
  }
  if (
    url.startsWith('node:internal/bootstrap') ||
    url.startsWith('node:internal/process') ||
    url.startsWith('node:internal/options')
  )
    return "Node start-up and loading Node's own built-in modules";
  return 'Node, other';
}

async function body(ctx: BenchContext): Promise<BenchResult> {
  const { lab, work, log } = ctx;
  const podNetns = namedNetnsLink(lab.ns.pod);
  const envs = {
    short: routerEnv({ EGRESS_ROUTER_MODE: 'init', EGRESS_DESTINATION: SHORT_LIST }),
    long: routerEnv({ EGRESS_ROUTER_MODE: 'init', EGRESS_DESTINATION: LONG_LIST }),
    unit: routerEnv({ EGRESS_ROUTER_MODE: 'unit-test', EGRESS_DESTINATION: SHORT_LIST }),
    noIface: routerEnv({
      EGRESS_ROUTER_MODE: 'init',
      EGRESS_DESTINATION: SHORT_LIST,
      EGRESS_ROUTER_EGRESS_INTERFACE: 'nosuch0',
    }),
    bare: { PATH },
    ca: {
      PATH,
      NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt',
    },
  };

  // Preflight: the router works, and RESET brings the pod back to the lab's starting state exactly.
  const start = await podState(lab);
  const first = await lab.exec('pod', process.execPath, [BIN], {
    env: envs.short,
    check: false,
    timeoutMs: 15_000,
  });
  if (first.code !== 0) throw new Error(`router failed in the lab: ${first.stderr}`);
  await killAnnouncers(podNetns);
  const setUp = await podState(lab);
  if (!setUp.includes(`${SOURCE}/24`) || !setUp.includes(`default via ${GATEWAY} dev macvlan0`)) {
    throw new Error(`the router did not set the pod up:\n${setUp}`);
  }
  await execSteps(lab, 'pod', RESET);
  const reset = await podState(lab);
  if (reset !== start)
    throw new Error(`reset does not restore the starting state:\n${start}\n=====\n${reset}`);
  log('preflight: the router sets the pod up, the reset restores the starting state');

  const planShort = join(work, 'plan-short.json');
  const plan = await lab.exec('pod', process.execPath, [BIN, 'plan', '--json'], { env: envs.short });
  writeFileSync(planShort, plan.stdout);
  const planCreate = join(work, 'plan-short-create.json');
  writeFileSync(planCreate, JSON.stringify(asCreation(JSON.parse(plan.stdout) as NftDocument)));

  const round = (): DriverStep[] => {
    const steps: DriverStep[] = [...evalSteps(planShort, planCreate)];
    for (const c of CASES) {
      if (c.fresh) steps.push(...RESET, SETTLE, ...routerSteps(c, c.label));
      else steps.push(...routerSteps(c, undefined), SETTLE, ...routerSteps(c, c.label));
    }
    return steps;
  };
  const untimed = (s: DriverStep): DriverStep => (s.op === 'run' ? { ...s, label: undefined } : s);
  await runDriver(
    ctx,
    'pod',
    { envs, steps: Array.from({ length: WARMUP }, round).flat().map(untimed) },
    60_000,
  );
  // One driver call per round, so that the time budget can end the series early on a busy machine
  // (the table then says how many rounds there were).
  const results: DriverResult[] = [];
  const deadline = Date.now() + BUDGET_MS;
  let rounds = 0;
  while (rounds < N && (rounds < MIN_N || Date.now() < deadline)) {
    results.push(...(await runDriver(ctx, 'pod', { envs, steps: round() }, 30_000)));
    rounds++;
  }
  log(
    `timing: ${WARMUP} warm-up and ${rounds} timed rounds${rounds < N ? ` (time budget of ${BUDGET_MS / 1000} s used up)` : ''}`,
  );

  // CPU profiles of the fresh-pod short-list case.
  const profDir = join(work, 'cpu-prof');
  const profSteps: DriverStep[] = [];
  for (let i = 0; i < PROFILE_RUNS; i++) {
    profSteps.push(...RESET, SETTLE, {
      op: 'run',
      argv: [process.execPath, '--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=100', BIN],
      env: 'short',
      label: 'profiled',
    });
    profSteps.push({ op: 'killAnnounce', expect: 1 });
  }
  log(`profiling: ${PROFILE_RUNS} runs under --cpu-prof`);
  const profiled = await runDriver(ctx, 'pod', { envs, steps: profSteps }, 45_000);
  const perRun = readdirSync(profDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => profileCategories(join(profDir, f)));
  const categories = [...new Set(perRun.flatMap((m) => [...m.keys()]))];
  const profileRows = categories
    .map((category) => ({ category, ms: median(perRun.map((m) => m.get(category) ?? 0)) }))
    .sort((a, b) => b.ms - a.ms);
  const profileFiles = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  const scripts = scriptsByOwner(join(profDir, profileFiles[0]!));
  const scriptsLine = [...scripts]
    .sort((x, y) => y[1] - x[1])
    .map(([who, n]) => `${n} ${who}`)
    .join(', ');
  const profileTotal = median(perRun.map((m) => [...m.values()].reduce((a, b) => a + b, 0)));

  // Tables.
  const floor = stats(timesOf(results, FLOOR));
  const row = (label: string, samples: number[], logged?: number[]) => {
    const s = stats(samples);
    return [
      label,
      String(s.n),
      fmt(s.min),
      `**${fmt(s.median)}**`,
      fmt(s.p90),
      ratio(s.median / floor.median, 1),
      logged === undefined ? '' : fmt(median(logged), 0),
    ];
  };
  const caseRows = CASES.map((c) => row(c.label, timesOf(results, c.label), loggedMs(results, c.label)));
  const goals: GoalSummary[] = CASES.map((c) => {
    const m = median(timesOf(results, c.label));
    return {
      goal: `1. set-up wall time, init mode, ${c.label}`,
      target: `median ≤ ${GOAL_MS} ms`,
      measured: `median ${fmt(m)} ms (p90 ${fmt(stats(timesOf(results, c.label)).p90)})`,
      peer: `${ratio(m / floor.median, 1)} bare \`node -e 0\` (${fmt(floor.median)} ms)`,
      met: m <= GOAL_MS,
    };
  });
  const mainTable = table(
    [
      'what ran (spawn to exit, inside the pod namespace)',
      'N',
      'min ms',
      'median ms',
      'p90 ms',
      '× node -e 0',
      'set-up phase logged by the router, median ms',
    ],
    [
      ...caseRows,
      row(`\`${FLOOR}\` (the floor)`, timesOf(results, FLOOR)),
      row(`\`${FLOOR_CA}\` (as this machine's shell would start it)`, timesOf(results, FLOOR_CA)),
    ],
  );
  const verdicts = goals
    .map(
      (g) =>
        `- ${g.goal.replace(/^1\. set-up wall time, init mode, /, '')}: ${g.measured}: **${g.met ? 'met' : 'missed'}**`,
    )
    .join('\n');

  const piece = (label: string) => median(timesOf(results, label));
  const loggedFresh = median(loggedMs(results, CASES[0]!.label));
  const breakdown = table(
    ['piece', 'median ms', 'how it was measured (same rounds, spawn to exit)'],
    [
      ['Node start-up', fmt(floor.median), `\`${FLOOR}\``],
      [
        'Node start-up with NODE_EXTRA_CA_CERTS (not in the images)',
        fmt(piece(FLOOR_CA) - floor.median),
        `\`${FLOOR_CA}\` − floor`,
      ],
      [
        'CLI, parsing, unit-test output (no pino, no netlink)',
        fmt(piece(UNIT_TEST) - floor.median),
        `\`${UNIT_TEST}\` − floor`,
      ],
      [
        'loading pino (alone, from node_modules; the router loads it bundled)',
        fmt(piece(PINO) - floor.median),
        `\`${PINO}\` − floor`,
      ],
      [
        'loading the whole netlink package (alone; the router no longer does)',
        fmt(piece(NETLINK) - floor.median),
        `\`${NETLINK}\` − floor`,
      ],
      [
        "loading netlink's raw socket module (what src/network loads: our codec speaks rtnetlink)",
        fmt(piece(NETLINK_RAW) - floor.median),
        `\`${NETLINK_RAW}\` − floor`,
      ],
      [
        'everything before set-up work: CLI, parsing, loading pino, netlink and the router, opening netlink, one query',
        fmt(piece(NO_IFACE) - floor.median),
        `\`${NO_IFACE}\` − floor`,
      ],
      [
        'set-up work, as the router logs it (plan, nft, netlink, sysctls, announce)',
        fmt(loggedFresh, 0),
        'the `ms` field of its log line, fresh pod, short list',
      ],
      [
        'of which the nft transaction alone (short list), creating the table (fresh pod)',
        fmt(piece(NFT_CREATE)),
        `\`${NFT_CREATE}\` (a process of its own)`,
      ],
      [
        '… and replacing it (re-run: the kernel waits for the old table to go)',
        fmt(piece(NFT_SHORT)),
        `\`${NFT_SHORT}\` (a process of its own)`,
      ],
      ['whole router run, fresh pod, short list', fmt(piece(CASES[0]!.label)), 'for comparison'],
    ],
  );
  const profileTable = table(
    ['on behalf of', 'median ms per run', 'share'],
    profileRows
      .filter((r) => r.ms >= 0.5)
      .map((r) => [r.category, fmt(r.ms), `${fmt((100 * r.ms) / profileTotal, 0)} %`]),
  );
  const profiledWall = median(timesOf(profiled, 'profiled'));

  const markdown = `
**Goal:** \`node bin/egress-router\` in \`init\` mode, from process start to exit: median ≤ ${GOAL_MS} ms.

**How:** a timing driver (\`bench/_driver.ts\`) runs inside the pod namespace (started once per round with
\`ip netns exec\`, so that cost is not counted) and times each command from just before \`spawn()\`
to the child's \`exit\` event. The router runs with only \`PATH\` and the \`EGRESS_*\` variables, as
in the images; in particular **without \`NODE_EXTRA_CA_CERTS\`**, which this machine's environment
sets and which costs Node the time shown below to read the CA bundle at start-up. ${rounds} rounds${rounds < N ? ` (of ${N} planned: the ${BUDGET_MS / 1000} s time budget ran out on a busy machine)` : ''} (after
${WARMUP} untimed warm-up rounds); each round runs every case once, interleaved, so drift hits all
cases alike. *Fresh pod*: before each run, untimed, the lab's starting state is restored (table
\`inet egress_router\` deleted, \`macvlan0\` addresses flushed and link down, default route via
\`eth0\`, forwarding and \`arp_notify\` off; the preflight checks this gives back exactly the state
the lab starts with). *Re-run*: the same list was set up just before by an untimed run. After each
run the detached \`announce --delay 2000\` process the router leaves behind is killed (by pid), so
its start-up does not compete with the next run; its spawn is part of the measured time. Short
list: \`80 tcp\`, \`8080 tcp … 80\`, \`53 udp\`, fallback. Long list: 1,000 lines
\`10001…11000 tcp ${OUTSIDE} 80\` in \`EGRESS_DESTINATION\`.

${mainTable}

${verdicts}

### Where the time goes

Pieces measured in the same rounds (each a process of its own, medians; differences against the
floor are approximate, the pieces overlap a little):

${breakdown}

CPU profile of the router (fresh pod, short list), ${perRun.length} runs under
\`--cpu-prof --cpu-prof-interval=100\` (wall time under the profiler: median ${fmt(profiledWall)} ms;
the profile covers ${fmt(profileTotal)} ms of it, from V8 start to exit). Each sample counts for the
nearest package (or our code) on its stack, so a package's \`require\`s and top-level code count for
it; samples with none count for what Node or V8 itself was doing:

${profileTable}

Scripts that ran in one profiled run (each one resolved, read and compiled): ${scriptsLine}.
`;
  return {
    markdown,
    goals,
    raw: {
      rounds,
      cases: Object.fromEntries(
        [
          ...CASES.map((c) => c.label),
          FLOOR,
          FLOOR_CA,
          PINO,
          NETLINK,
          NETLINK_RAW,
          NO_IFACE,
          UNIT_TEST,
          NFT_SHORT,
          NFT_CREATE,
        ].map((label) => [label, timesOf(results, label).map((ms) => Math.round(ms * 100) / 100)]),
      ),
      logged: Object.fromEntries(CASES.map((c) => [c.label, loggedMs(results, c.label)])),
      profile: Object.fromEntries(profileRows.map((r) => [r.category, Math.round(r.ms * 10) / 10])),
      profiledWallMs: profiledWall,
    },
  };
}

await runBench('setup-time', 'bst', '1. Set-up wall time (init mode)', 180_000, body);
