/**
 * The timing driver: `node _driver.js PLAN.json`, started once inside a lab namespace with
 * `ip netns exec`, so that the commands it times start in that namespace directly and the cost of
 * `ip netns exec` (and of the namespace switch) is not part of any measurement.
 *
 * It runs the plan's steps in order. A step with a `label` is timed: from just before spawn() to
 * the child's `exit` event (spawn-to-exit, as a container runtime would see it). Other steps are
 * untimed preparation. At the end it prints one JSON line per timed step, then exits 0; on the first
 * unexpected exit status it prints the reason on stderr and exits 1.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { killAnnouncers, ownNetnsLink } from './_procs.js';

/** Runs a command. */
export interface RunStep {
  readonly op: 'run';
  readonly argv: readonly string[];
  /** The name of an environment in the plan's `envs` (default: the empty environment plus PATH). */
  readonly env?: string;
  /** A file to use as standard input (default none). */
  readonly stdin?: string;
  /** Timed when set; the label of the measurement. */
  readonly label?: string;
  /** The exit status it must end with: a number (default 0) or 'any'. */
  readonly expect?: number | 'any';
  /** Keep standard output in the result (timed steps only). */
  readonly keepStdout?: boolean;
  /** Kill it after this long (default 30 000 ms). */
  readonly timeoutMs?: number;
}

/** Kills the detached announce processes in this namespace (see _procs.ts). */
export interface KillAnnounceStep {
  readonly op: 'killAnnounce';
  /** Fail unless exactly this many were found. */
  readonly expect?: number;
}

/** Waits. */
export interface SleepStep {
  readonly op: 'sleep';
  readonly ms: number;
}

export type DriverStep = RunStep | KillAnnounceStep | SleepStep;

export interface DriverPlan {
  /** Working directory of every command. */
  readonly cwd: string;
  readonly envs: Record<string, Record<string, string>>;
  readonly steps: readonly DriverStep[];
}

/** One timed step's result. */
export interface DriverResult {
  readonly label: string;
  readonly ms: number;
  readonly code: number | null;
  readonly stdout?: string;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function runStep(plan: DriverPlan, step: RunStep): Promise<DriverResult | undefined> {
  const [program, ...args] = step.argv;
  if (program === undefined) throw new Error('empty argv');
  const env = step.env === undefined ? { PATH: DEFAULT_PATH } : plan.envs[step.env];
  if (env === undefined) throw new Error(`no environment '${step.env}'`);
  const stdin = step.stdin === undefined ? 'ignore' : openSync(step.stdin, 'r');
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let exitMs = 0;
    let code: number | null = null;
    let signal: NodeJS.Signals | null = null;
    const started = performance.now();
    const child = spawn(program, args, { cwd: plan.cwd, env, stdio: [stdin, 'pipe', 'pipe'] });
    if (typeof stdin === 'number') closeSync(stdin);
    const timer = setTimeout(() => child.kill('SIGKILL'), step.timeoutMs ?? 30_000);
    child.on('exit', (exitCode, exitSignal) => {
      exitMs = performance.now() - started;
      code = exitCode;
      signal = exitSignal;
    });
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${step.argv.join(' ')}: ${error.message}`));
    });
    child.on('close', () => {
      clearTimeout(timer);
      const expect = step.expect ?? 0;
      if (expect !== 'any' && code !== expect) {
        const err = Buffer.concat(stderr).toString('utf8').trim();
        reject(
          new Error(
            `${step.argv.join(' ').slice(0, 300)}: exit ${code ?? signal}, expected ${expect}${err === '' ? '' : `: ${err.slice(-2000)}`}`,
          ),
        );
        return;
      }
      if (step.label === undefined) {
        resolve(undefined);
        return;
      }
      resolve({
        label: step.label,
        ms: exitMs,
        code,
        ...(step.keepStdout ? { stdout: Buffer.concat(stdout).toString('utf8') } : {}),
      });
    });
  });
}

async function main(): Promise<void> {
  const planPath = process.argv[2];
  if (planPath === undefined) throw new Error('usage: _driver.js PLAN.json');
  const plan = JSON.parse(readFileSync(planPath, 'utf8')) as DriverPlan;
  const netns = ownNetnsLink();
  const results: DriverResult[] = [];
  for (const step of plan.steps) {
    if (step.op === 'sleep') {
      await new Promise((resolve) => setTimeout(resolve, step.ms));
    } else if (step.op === 'killAnnounce') {
      const killed = await killAnnouncers(netns);
      if (step.expect !== undefined && killed !== step.expect) {
        throw new Error(`expected ${step.expect} announce process(es), found ${killed}`);
      }
    } else {
      const result = await runStep(plan, step);
      if (result !== undefined) results.push(result);
    }
  }
  process.stdout.write(results.map((result) => `${JSON.stringify(result)}\n`).join(''));
}

main().catch((error: Error) => {
  process.stderr.write(`driver: ${error.message}\n`);
  process.exitCode = 1;
});
