/**
 * What every benchmark shares: paths, statistics, Markdown, the router's environment, the lab's
 * life cycle (built with a unique prefix, destroyed in `finally`, also on failure, timeout or
 * Ctrl-C), the timing driver, and the results files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, type Lab } from '../src/lab/index.js';
import type { DriverPlan, DriverResult, DriverStep } from './_driver.js';

/** The repository (this file is compiled to dist/bench/). */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** The CLI as the images run it. */
export const BIN = join(REPO, 'bin', 'egress-router');
/** Where each benchmark writes `<name>.md` and `<name>.json` (committed). */
export const RESULTS_DIR = join(REPO, 'bench', 'results');
/** Scratch files (git-ignored), removed after each run. */
export const WORK_ROOT = join(REPO, 'bench', '.work');
/** The compiled timing driver. */
export const DRIVER = fileURLToPath(new URL('./_driver.js', import.meta.url));

/** The lab's egress source, gateway and first outside address (src/lab/README.md). */
export const SOURCE = '192.168.12.99';
export const GATEWAY = '192.168.12.1';
export const OUTSIDE = '203.0.113.25';
export const POD = '10.128.0.2';
export const POD_GATEWAY = '10.128.0.1';

/**
 * Driver steps that restore the lab's starting state of the pod (src/lab/README.md), i.e. what a
 * fresh pod looks like: no table inet egress_router, macvlan0 without addresses and down, the
 * default route via eth0, forwarding and arp_notify off.
 */
export const POD_RESET: readonly DriverStep[] = [
  { op: 'run', argv: ['nft', 'delete', 'table', 'inet', 'egress_router'], expect: 'any' },
  { op: 'run', argv: ['ip', 'address', 'flush', 'dev', 'macvlan0'] },
  { op: 'run', argv: ['ip', 'link', 'set', 'macvlan0', 'down'] },
  { op: 'run', argv: ['ip', 'route', 'replace', 'default', 'via', POD_GATEWAY, 'dev', 'eth0'] },
  { op: 'run', argv: ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0', 'net.ipv4.conf.macvlan0.arp_notify=0'] },
];

/** Runs driver steps directly with lab.exec (untimed; for preflight checks). */
export async function execSteps(lab: Lab, ns: 'pod' | 'client', steps: readonly DriverStep[]): Promise<void> {
  for (const step of steps) {
    if (step.op !== 'run') continue;
    await lab.exec(ns, step.argv[0]!, step.argv.slice(1), { check: step.expect !== 'any', env: leanEnv() });
  }
}

/** PATH for every child: the images have nft, ip and iptables in sbin. */
export const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The router's environment: only PATH and the EGRESS_* variables, as in the images. In particular
 * no NODE_EXTRA_CA_CERTS (this machine sets it; reading the CA bundle costs ~70 ms of Node start-up
 * and the images do not set it) and no NODE_OPTIONS.
 */
export function routerEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH, EGRESS_SOURCE: `${SOURCE}/24`, EGRESS_GATEWAY: GATEWAY, ...extra };
}

/** This process's environment without the variables that slow Node's start-up down. */
export function leanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  return env;
}

/** `count` lines `<port> tcp <target> <remotePort>`, ports from `firstPort` on. */
export function portList(count: number, firstPort: number, target: string, remotePort: number): string {
  return Array.from({ length: count }, (_, i) => `${firstPort + i} tcp ${target} ${remotePort}\n`).join('');
}

// ---- statistics -------------------------------------------------------------------------------

export interface Stats {
  readonly n: number;
  readonly min: number;
  readonly median: number;
  readonly p90: number;
  readonly max: number;
}

/** min, median (mean of the two middle values for even n), p90 (nearest rank), max. */
export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('stats of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return {
    n,
    min: sorted[0]!,
    median,
    p90: sorted[Math.min(n - 1, Math.ceil(0.9 * n) - 1)]!,
    max: sorted[n - 1]!,
  };
}

export function median(samples: readonly number[]): number {
  return stats(samples).median;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** A number with a fixed count of decimals. */
export function fmt(value: number, decimals = 1): string {
  return value.toFixed(decimals);
}

/** A ratio as `1.23×`. */
export function ratio(value: number, decimals = 2): string {
  return `${value.toFixed(decimals)}×`;
}

// ---- Markdown ----------------------------------------------------------------------------------

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

// ---- machine -----------------------------------------------------------------------------------

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', env: leanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')[0]!
      .trim();
  } catch {
    return 'not available';
  }
}

/**
 * The commit the measured code comes from: `BENCH_SOURCE` when set (a run from an exported copy of
 * the tree), else `git describe` of the checkout, with a note when src/ or bin/ has changes.
 */
function sourceVersion(): string {
  if (process.env.BENCH_SOURCE) return process.env.BENCH_SOURCE;
  const commit = firstLine('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']);
  const dirty = firstLine('git', ['-C', REPO, 'status', '--porcelain', '--', 'src', 'bin']);
  return `commit ${commit}${dirty !== '' && dirty !== 'not available' ? ' + uncommitted changes in src/ or bin/' : ''}`;
}

/** The machine and the versions that matter, as `key: value` pairs. */
export function machineInfo(): Record<string, string> {
  let distro = 'unknown';
  try {
    distro = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? distro;
  } catch {
    // Not Linux-like.
  }
  const cpus = os.cpus();
  return {
    'source measured': sourceVersion(),
    CPU: `${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    OS: distro,
    kernel: os.release(),
    Node: process.version,
    nftables: firstLine('nft', ['--version']),
    iptables: `${firstLine('iptables-nft-restore', ['--version'])}; ${firstLine('iptables-legacy-restore', ['--version'])}`,
    iperf3: firstLine('iperf3', ['--version']),
  };
}

// ---- results -----------------------------------------------------------------------------------

/** One goal of the issue, as the summary table shows it. */
export interface GoalSummary {
  readonly goal: string;
  readonly target: string;
  readonly measured: string;
  /** Versus the peer measured in the same run. */
  readonly peer: string;
  readonly met: boolean;
}

/** What a benchmark hands back: its Markdown section, its goals, and its raw numbers. */
export interface BenchResult {
  readonly markdown: string;
  readonly goals: readonly GoalSummary[];
  readonly raw: unknown;
}

/** The JSON file each benchmark writes next to its Markdown. */
export interface ResultFile {
  readonly name: string;
  readonly title: string;
  readonly date: string;
  readonly seconds: number;
  /** Run with --quick: few samples, a smoke test. */
  readonly quick: boolean;
  /** 1-minute load average at the start and at the end (other work on the machine skews numbers). */
  readonly load: readonly [number, number];
  readonly machine: Record<string, string>;
  readonly goals: readonly GoalSummary[];
  readonly raw: unknown;
}

/**
 * Formats generated JSON files the way `npm run lint` (biome) wants them, so that results can be
 * committed as written. Markdown is written as it should stay (biome does not read it). Skipped when
 * biome is not installed.
 */
export function formatGenerated(paths: readonly string[]): void {
  const biome = join(REPO, 'node_modules', '.bin', 'biome');
  const json = paths.filter((path) => path.endsWith('.json'));
  if (!existsSync(biome) || json.length === 0) return;
  try {
    execFileSync(biome, ['format', '--write', ...json], { cwd: REPO, stdio: 'ignore', env: leanEnv() });
  } catch {
    process.stderr.write(`biome could not format ${json.join(', ')}\n`);
  }
}

// ---- running a benchmark -----------------------------------------------------------------------

/** What a benchmark's body gets. */
export interface BenchContext {
  readonly lab: Lab;
  /** A private scratch directory, removed afterwards. */
  readonly work: string;
  /** Progress on stderr. */
  log(line: string): void;
}

/**
 * Runs a benchmark: checks root, builds a lab with a unique prefix, runs `body`, and always
 * destroys the lab and the scratch directory; writes `bench/results/<name>.{md,json}` and prints the
 * Markdown. A watchdog ends the process after `limitMs` (the lab's exit handler then kills its
 * processes and deletes its namespaces), and so do SIGINT and SIGTERM.
 *
 * @param name file name of the results, and the lab prefix's stem (a few letters)
 * @param title the section heading
 */
export async function runBench(
  name: string,
  prefixStem: string,
  title: string,
  limitMs: number,
  body: (ctx: BenchContext) => Promise<BenchResult>,
): Promise<void> {
  const run = startBench(name, limitMs);
  let lab: Lab | undefined;
  let result: BenchResult;
  try {
    run.log('building the lab');
    lab = await createLab({ prefix: `${prefixStem}${process.pid}`, ipv6: false });
    result = await body({ lab, work: run.work, log: run.log });
  } finally {
    run.log('destroying the lab');
    await lab?.destroy();
    rmSync(run.work, { recursive: true, force: true });
  }
  finishBench(run, title, result);
}

/** A benchmark under way: what startBench set up, for finishBench. */
export interface BenchRun {
  readonly name: string;
  readonly startedAt: Date;
  readonly loadBefore: number;
  /** A private scratch directory (created); the caller removes it. */
  readonly work: string;
  readonly watchdog: NodeJS.Timeout;
  log(line: string): void;
}

/**
 * The start every benchmark shares: root checked (exit 2 without), a watchdog that ends the process
 * after `limitMs`, SIGINT and SIGTERM ending it too (a lab's exit handler then kills its processes
 * and deletes its namespaces), a log on stderr, a scratch directory.
 */
export function startBench(name: string, limitMs: number): BenchRun {
  if (process.getuid?.() !== 0) {
    process.stderr.write(`${name}: needs root (network namespaces)\n`);
    process.exit(2);
  }
  const startedAt = new Date();
  const loadBefore = os.loadavg()[0]!;
  const watchdog = setTimeout(() => {
    process.stderr.write(`${name}: still running after ${limitMs / 1000} s, giving up\n`);
    process.exit(124); // the lab's exit handler removes its processes and namespaces
  }, limitMs);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`${name}: ${signal}, cleaning up\n`);
      process.exit(130);
    });
  }
  const log = (line: string) =>
    process.stderr.write(`[${name} ${((Date.now() - startedAt.getTime()) / 1000).toFixed(1)}s] ${line}\n`);
  const work = join(WORK_ROOT, `${name}-${process.pid}`);
  mkdirSync(work, { recursive: true });
  return { name, startedAt, loadBefore, work, watchdog, log };
}

/** The end every benchmark shares: `bench/results/<name>.{md,json}` written, the Markdown printed. */
export function finishBench(run: BenchRun, title: string, result: BenchResult): void {
  const { name, startedAt } = run;
  clearTimeout(run.watchdog);
  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  const load: [number, number] = [round2(run.loadBefore), round2(os.loadavg()[0]!)];
  const quick = process.argv.includes('--quick');
  const file: ResultFile = {
    name,
    title,
    date: startedAt.toISOString(),
    seconds: Math.round(seconds),
    quick,
    load,
    machine: machineInfo(),
    goals: result.goals,
    raw: result.raw,
  };
  const markdown = `## ${title}\n\n_Run ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')}, Node ${process.version}, ${Math.round(seconds)} s, load average ${load[0]} before and ${load[1]} after${quick ? '; **quick run (--quick): few samples, not results**' : ''}._\n\n${result.markdown.trim()}\n`;
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${name}.md`), markdown);
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(file, null, 2)}\n`);
  formatGenerated([join(RESULTS_DIR, `${name}.md`), join(RESULTS_DIR, `${name}.json`)]);
  process.stdout.write(`${markdown}\n`);
}

/**
 * Runs a plan with the timing driver inside a lab namespace, and returns the timed steps' results.
 *
 * @throws with the driver's message when a step ended unexpectedly
 */
export async function runDriver(
  ctx: BenchContext,
  ns: 'pod' | 'client',
  plan: Omit<DriverPlan, 'cwd'>,
  timeoutMs: number,
): Promise<DriverResult[]> {
  const path = join(ctx.work, `plan-${Date.now()}.json`);
  writeFileSync(path, JSON.stringify({ cwd: REPO, ...plan }));
  const result = await ctx.lab.exec(ns, process.execPath, [DRIVER, path], {
    env: leanEnv(),
    timeoutMs,
    check: false,
  });
  rmSync(path, { force: true });
  if (result.code !== 0) {
    throw new Error(
      `timing driver failed (${result.timedOut ? 'timed out' : `exit ${result.code}`}): ${result.stderr.trim()}`,
    );
  }
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as DriverResult);
}

/** The timed results of one label, in milliseconds. */
export function timesOf(results: readonly DriverResult[], label: string): number[] {
  return results.filter((r) => r.label === label).map((r) => r.ms);
}

/** The pod's network state that the router changes, as comparable text. */
export async function podState(lab: Lab): Promise<string> {
  const out = async (cmd: string, args: string[]) =>
    (await lab.exec('pod', cmd, args, { check: false, env: leanEnv() })).stdout.trim();
  return [
    await out('ip', ['-o', 'addr', 'show', 'dev', 'macvlan0']),
    // Once a link has been up it keeps its default qdisc (noqueue instead of noop): not compared.
    (await out('ip', ['-o', 'link', 'show', 'dev', 'macvlan0']))
      .replace(/^\d+: /, '')
      .replace(/ qdisc \S+/, ''),
    await out('ip', ['-4', 'route', 'show', 'table', 'all']),
    await out('sysctl', ['-n', 'net.ipv4.ip_forward', 'net.ipv4.conf.macvlan0.arp_notify']),
    await out('nft', ['list', 'ruleset']),
  ].join('\n---\n');
}
