/**
 * The life cycle of a benchmark on the simulated cluster (src/lab/cluster-lab.ts), as `runBench`
 * in `_common.ts` does it for the router's lab: root checked, a cluster lab with a unique prefix,
 * the body, and always the lab and the scratch directory removed (in `finally`, also on failure;
 * a watchdog and SIGINT/SIGTERM end the process, and the lab's exit handler then kills its
 * processes and deletes its namespaces); `bench/results/<name>.{md,json}` written and the Markdown
 * printed.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { type ClusterLab, type ClusterLabOptions, createClusterLab } from '../src/lab/cluster-lab.js';
import {
  type BenchResult,
  formatGenerated,
  machineInfo,
  RESULTS_DIR,
  type ResultFile,
  WORK_ROOT,
} from './_common.js';

/** What the body of a cluster benchmark gets. */
export interface ClusterBenchContext {
  readonly lab: ClusterLab;
  /** A private scratch directory, removed afterwards. */
  readonly work: string;
  /** Progress on stderr. */
  log(line: string): void;
  /**
   * Registers clean-up that must run before the lab is destroyed (agents, tables in a node), last
   * registered first; it runs in `finally`, also when the body failed.
   */
  defer(cleanup: () => Promise<void>): void;
}

/** What {@link runClusterBench} needs. */
export interface ClusterBenchOptions {
  /** File name of the results. */
  readonly name: string;
  /** The lab prefix's stem (a few letters; the pid is added). */
  readonly prefixStem: string;
  /** The section heading. */
  readonly title: string;
  /** The watchdog: the process ends after this long. */
  readonly limitMs: number;
  /** The lab to build (its prefix is set here). */
  readonly lab: Omit<ClusterLabOptions, 'prefix'>;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Runs a benchmark on a cluster lab and writes its results.
 *
 * @param options name, lab prefix, title, watchdog, the lab's nodes and pods
 * @param body the measurement; returns the Markdown section, the goals and the raw samples
 * @throws whatever the body or the lab's destruction threw (nothing is written then)
 */
export async function runClusterBench(
  options: ClusterBenchOptions,
  body: (ctx: ClusterBenchContext) => Promise<BenchResult>,
): Promise<void> {
  const { name, title, limitMs } = options;
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
  const cleanups: (() => Promise<void>)[] = [];
  let lab: ClusterLab | undefined;
  let result: BenchResult;
  try {
    log('building the cluster lab');
    // A pid of up to 7 digits keeps the prefix within the lab's 20 characters.
    lab = await createClusterLab({ ...options.lab, prefix: `${options.prefixStem}${process.pid}` });
    result = await body({ lab, work, log, defer: (cleanup) => cleanups.push(cleanup) });
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: Error) => log(`clean-up failed: ${error.message}`));
    }
    log('destroying the lab');
    await lab?.destroy();
    rmSync(work, { recursive: true, force: true });
  }
  clearTimeout(watchdog);
  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  const load: [number, number] = [round2(loadBefore), round2(os.loadavg()[0]!)];
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
