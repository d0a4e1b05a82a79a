/**
 * Runs every benchmark (issues 3, 4, 11, 12 and 13, and the node agent's restore; the DNS proxy's runs alone), one after the other, each in a process of its own (each builds
 * and destroys its own lab), then collects their results (bench/results/<name>.{md,json}) into
 * bench/README.md between the generated-results markers.
 *
 * `node dist/bench/run-all.js [--quick] [--collect-only] [NAME...]`
 *   --quick         fewer runs (a smoke test; the README then says so)
 *   --collect-only  run nothing, only rebuild the README section from bench/results
 *   NAME...         run only these benchmarks (the others' last results are kept)
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatGenerated, leanEnv, REPO, RESULTS_DIR, type ResultFile, table } from './_common.js';

export const BENCHMARKS = [
  'setup-time',
  'apply-10k',
  'connect-latency',
  'throughput',
  'http-proxy',
  'node-firewall-apply',
  'node-firewall-datapath',
  'egress-failover',
  'node-restore',
  'egress-datapath',
  'egress-scale',
  'router-names',
  'proxy-workers',
] as const;
/** Per benchmark (each also has its own watchdog, 90-180 s); the suite normally takes 4-6 minutes. */
const TIMEOUT_MS = 190_000;
/** The HTTP proxy comparison runs three proxies for three rounds: it gets longer. */
const TIMEOUT_MS_OF: Partial<Record<string, number>> = {
  'http-proxy': 600_000,
  'proxy-workers': 320_000,
  'node-firewall-apply': 200_000,
  'node-firewall-datapath': 400_000,
  'router-names': 300_000,
};
const README = join(REPO, 'bench', 'README.md');
const START = '<!-- bench-results:start -->';
const END = '<!-- bench-results:end -->';

/** The share of CPU time spent busy (not idle or iowait) across all cores, over `ms`. */
async function cpuBusy(ms: number): Promise<number> {
  const sample = () => {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { idle, total: fields.reduce((a, b) => a + b, 0) };
  };
  const before = sample();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = sample();
  const total = after.total - before.total;
  return total > 0 ? 1 - (after.idle - before.idle) / total : 0;
}

/** Set on SIGINT/SIGTERM: no further benchmark is started. */
let interrupted = false;

/** Waiting for other work on the machine to calm down, over the whole suite (bounded). */
let quietBudgetMs = 45_000;

/**
 * Waits (within the suite's budget) until the machine is mostly idle, so that other work does not
 * end up in the numbers; goes on anyway when the budget is spent, saying so.
 */
async function waitForQuiet(name: string): Promise<void> {
  for (;;) {
    const busy = await cpuBusy(1_000);
    quietBudgetMs -= 1_000;
    if (busy < 0.15) return;
    if (quietBudgetMs <= 0) {
      process.stderr.write(
        `run-all: the machine is ${Math.round(busy * 100)} % busy, running ${name} anyway\n`,
      );
      return;
    }
    process.stderr.write(
      `run-all: the machine is ${Math.round(busy * 100)} % busy, waiting before ${name}\n`,
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    quietBudgetMs -= 2_000;
  }
}

function runOne(name: string, quick: boolean): Promise<boolean> {
  const script = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...(quick ? ['--quick'] : [])], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: leanEnv(),
    });
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      process.stderr.write(
        `run-all: ${name} ran past ${(TIMEOUT_MS_OF[name] ?? TIMEOUT_MS) / 1000} s, stopping it\n`,
      );
      child.kill('SIGTERM'); // its handler destroys its lab
      killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    }, TIMEOUT_MS_OF[name] ?? TIMEOUT_MS);
    // Ctrl-C: the benchmark cleans its lab up and exits; the suite then stops (see main).
    const forward = (signal: NodeJS.Signals) => {
      interrupted = true;
      child.kill(signal);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', (error) => {
      process.stderr.write(`run-all: ${name}: ${error.message}\n`);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code === 0);
    });
  });
}

function readResult(name: string): { file: ResultFile; markdown: string } | undefined {
  const json = join(RESULTS_DIR, `${name}.json`);
  const md = join(RESULTS_DIR, `${name}.md`);
  if (!existsSync(json) || !existsSync(md)) return undefined;
  return { file: JSON.parse(readFileSync(json, 'utf8')) as ResultFile, markdown: readFileSync(md, 'utf8') };
}

/** The generated section of bench/README.md. */
function section(failed: ReadonlySet<string>, startedAt: Date | undefined): string {
  const results = BENCHMARKS.map((name) => ({ name, result: readResult(name) }));
  const present = results.flatMap((r) => (r.result ? [{ name: r.name, ...r.result }] : []));
  const machine = present[0]?.file.machine ?? {};
  const stale = (name: string, file: ResultFile) =>
    failed.has(name) || (startedAt !== undefined && new Date(file.date) < startedAt);
  const summaryRows = present.flatMap(({ name, file }) =>
    file.goals.map((g) => [
      g.goal,
      g.target,
      g.measured,
      g.peer,
      `${g.met ? '**met**' : '**missed**'}${stale(name, file) ? ` (stale: from ${file.date}, the last run failed)` : ''}`,
    ]),
  );
  const quick = present.some((p) => p.file.quick);
  const missing = results.filter((r) => r.result === undefined).map((r) => r.name);
  const dates = present.map((p) => p.file.date).sort();
  const loads = present.map((p) => `${p.name} ${p.file.load[0]}→${p.file.load[1]}`).join(', ');
  return [
    START,
    '',
    `_Generated by \`npm run bench\` (\`bench/run-all.ts\`) from \`bench/results/\`: do not edit by hand._${quick ? ' **Some of these come from a quick run (--quick): few samples, a smoke test, not results.**' : ''}`,
    '',
    `Run ${dates[0] ?? '?'} to ${dates.at(-1) ?? '?'}. 1-minute load average before→after each benchmark: ${loads}.`,
    '',
    table(
      ['machine', ''],
      Object.entries(machine).map(([key, value]) => [key, value]),
    ),
    '',
    '### Summary',
    '',
    table(
      ['goal (issue 3)', 'target', 'measured (median)', 'peer, measured in the same run', 'goal'],
      summaryRows,
    ),
    ...(missing.length > 0 ? ['', `No results yet for: ${missing.join(', ')}.`] : []),
    '',
    ...present.map((p) => `#${p.markdown.trim()}\n`.replace(/\n### /g, '\n#### ')),
    END,
  ].join('\n');
}

function writeReadme(text: string): void {
  const readme = existsSync(README) ? readFileSync(README, 'utf8') : '# Benchmarks\n';
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  const next =
    start >= 0 && end > start
      ? `${readme.slice(0, start)}${text}${readme.slice(end + END.length)}`
      : `${readme.trimEnd()}\n\n## Results\n\n${text}\n`;
  writeFileSync(README, next);
  formatGenerated([README]);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const collectOnly = args.includes('--collect-only');
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !(BENCHMARKS as readonly string[]).includes(n));
  if (unknown.length > 0)
    throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHMARKS.join(', ')}`);
  const failed = new Set<string>();
  let startedAt: Date | undefined;
  if (!collectOnly) {
    startedAt = new Date();
    for (const name of names.length > 0 ? names : BENCHMARKS) {
      if (interrupted) break;
      await waitForQuiet(name);
      process.stderr.write(`run-all: ${name}\n`);
      if (!(await runOne(name, quick))) failed.add(name);
    }
    if (interrupted) {
      process.stderr.write('run-all: interrupted; bench/README.md left as it was\n');
      process.exitCode = 130;
      return;
    }
    if (names.length > 0) startedAt = undefined; // the others' results are older on purpose
  }
  writeReadme(section(failed, startedAt));
  process.stderr.write(
    `run-all: results in bench/README.md${failed.size > 0 ? `; FAILED: ${[...failed].join(', ')}` : ''}\n`,
  );
  if (failed.size > 0) process.exitCode = 1;
}

await main();
