/**
 * The life cycle of a benchmark on the simulated cluster (src/lab/cluster-lab.ts), as `runBench`
 * in `_common.ts` does it for the router's lab: root checked, a cluster lab with a unique prefix,
 * the body, and always the lab and the scratch directory removed (in `finally`, also on failure;
 * a watchdog and SIGINT/SIGTERM end the process, and the lab's exit handler then kills its
 * processes and deletes its namespaces); `bench/results/<name>.{md,json}` written and the Markdown
 * printed.
 */
import { rmSync } from 'node:fs';
import { type ClusterLab, type ClusterLabOptions, createClusterLab } from '../src/lab/cluster-lab.js';
import { type BenchResult, finishBench, startBench } from './_common.js';

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
  const run = startBench(options.name, options.limitMs);
  const { log } = run;
  const cleanups: (() => Promise<void>)[] = [];
  let lab: ClusterLab | undefined;
  let result: BenchResult;
  try {
    log('building the cluster lab');
    // A pid of up to 7 digits keeps the prefix within the lab's 20 characters.
    lab = await createClusterLab({ ...options.lab, prefix: `${options.prefixStem}${process.pid}` });
    result = await body({ lab, work: run.work, log, defer: (cleanup) => cleanups.push(cleanup) });
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: Error) => log(`clean-up failed: ${error.message}`));
    }
    log('destroying the lab');
    await lab?.destroy();
    rmSync(run.work, { recursive: true, force: true });
  }
  finishBench(run, options.title, result);
}
