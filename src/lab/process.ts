import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** How a command ended. */
export interface ExitStatus {
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** The signal that ended it, or null. */
  readonly signal: NodeJS.Signals | null;
}

/** Options of {@link run} and {@link runSync}. */
export interface RunOptions {
  /** Kill the command's process group after this many milliseconds (default 10 000). */
  readonly timeoutMs?: number;
  /** Written to the command's standard input, which is then closed. */
  readonly input?: string;
  /** Throw {@link CommandError} when the command fails or times out (default true). */
  readonly check?: boolean;
  /** The environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
}

/** What a finished command did. */
export interface RunResult extends ExitStatus {
  readonly argv: readonly string[];
  readonly stdout: string;
  readonly stderr: string;
  /** True when the command was killed because it ran past its timeout. */
  readonly timedOut: boolean;
}

/** A command that failed, with everything it printed. */
export class CommandError extends Error {
  readonly result: RunResult;

  constructor(result: RunResult) {
    const how = result.timedOut
      ? 'timed out'
      : result.signal !== null
        ? `was killed by ${result.signal}`
        : `exited with ${result.code}`;
    const stderr = result.stderr.trim();
    super(`command ${JSON.stringify(result.argv.join(' '))} ${how}${stderr === '' ? '' : `: ${stderr}`}`);
    this.name = 'CommandError';
    this.result = result;
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** The most output kept per stream of a long-running process; older text is dropped. */
const MAX_KEPT_OUTPUT = 1 << 20;

function isOk(result: RunResult): boolean {
  return result.code === 0 && !result.timedOut;
}

/**
 * Kills a process group, ignoring a group that is already gone.
 *
 * @returns false when the signal could not be sent (usually: no process of the group was left)
 */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * The live (not zombie) processes of a process group, from /proc.
 *
 * @param pgid the process group id
 */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return members;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && Number(fields[2]) === pgid) members.push(Number(entry));
  }
  return members;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until no live process of the group is left, killing it again every round.
 *
 * @returns the members still alive after `timeoutMs`
 */
export async function reapGroup(pgid: number, timeoutMs = 2_000): Promise<number[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const members = groupMembers(pgid);
    if (members.length === 0 || Date.now() > end) return members;
    killGroup(pgid, 'SIGKILL');
    await sleep(20);
  }
}

/**
 * Runs a command given as an argument array (no shell) in its own process group, and collects its
 * output. On timeout the whole group is killed.
 *
 * @param argv the program and its arguments
 * @param options timeout, input, whether a failure throws
 * @returns how the command ended and what it printed
 * @throws CommandError when `check` is on (the default) and the command fails
 */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [program, ...args] = argv;
  if (program === undefined) return Promise.reject(new Error('run: empty command'));
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env: options.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let spawnError: Error | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.on('error', (error) => {
      spawnError = error;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = {
        argv,
        code,
        signal,
        stdout,
        stderr: spawnError === undefined ? stderr : `${stderr}${spawnError.message}`,
        timedOut,
      };
      if ((options.check ?? true) && !isOk(result)) reject(new CommandError(result));
      else resolve(result);
    });
  });
}

/**
 * Like {@link run}, blocking. Meant for exit handlers and scripts, not for tests that also serve
 * traffic from this process.
 */
export function runSync(argv: readonly string[], options: RunOptions = {}): RunResult {
  const [program, ...args] = argv;
  if (program === undefined) throw new Error('runSync: empty command');
  const out = spawnSync(program, args, {
    encoding: 'utf8',
    input: options.input ?? '',
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    env: options.env ?? process.env,
  });
  const timedOut = (out.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  const result: RunResult = {
    argv,
    code: out.status,
    signal: out.signal,
    stdout: out.stdout ?? '',
    stderr: `${out.stderr ?? ''}${out.error !== undefined && !timedOut ? out.error.message : ''}`,
    timedOut,
  };
  if ((options.check ?? true) && !isOk(result)) throw new CommandError(result);
  return result;
}

/** Options of {@link ProcessHandle.waitFor}. */
export interface WaitForOptions {
  /** Give up after this many milliseconds (default 5 000). */
  readonly timeoutMs?: number;
  /** Which output to watch (default stdout). */
  readonly stream?: 'stdout' | 'stderr';
}

/** A long-running process started in its own process group. */
export interface ProcessHandle {
  /** The process id, which is also its process group id. */
  readonly pid: number;
  /** The full command line that was started. */
  readonly argv: readonly string[];
  readonly child: ChildProcess;
  /** Settles when the process has exited. */
  readonly exited: Promise<ExitStatus>;
  /** True until the process has exited. */
  running(): boolean;
  /** What it printed so far (the last megabyte of each stream). */
  output(): { stdout: string; stderr: string };
  /**
   * Waits until the output contains `pattern`.
   *
   * @returns the output seen so far
   * @throws when the process exits first or the timeout passes
   */
  waitFor(pattern: string | RegExp, options?: WaitForOptions): Promise<string>;
  /**
   * Sends SIGTERM to the whole process group, then SIGKILL after `graceMs` (default 2 000), and
   * waits for the process and every other member of its group to exit. Safe to call more than once
   * and after the process exited.
   */
  stop(graceMs?: number): Promise<ExitStatus>;
}

/**
 * The JSON lines a process printed on stdout (the logs of the proxies, the servers' events).
 *
 * @param handle the process
 * @returns each line starting with `{`, parsed
 */
export function jsonLines<T = Record<string, unknown>>(handle: ProcessHandle): T[] {
  return handle
    .output()
    .stdout.split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as T);
}

/** Options of {@link spawnGroup}. */
export interface SpawnGroupOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Called with every chunk of standard output. */
  readonly onStdout?: (chunk: string) => void;
  /** Called with every chunk of standard error. */
  readonly onStderr?: (chunk: string) => void;
}

function keepTail(text: string): string {
  return text.length > MAX_KEPT_OUTPUT ? text.slice(text.length - MAX_KEPT_OUTPUT) : text;
}

function matches(text: string, pattern: string | RegExp): boolean {
  return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
}

/**
 * Starts a long-running command in its own process group (detached), with its output captured.
 *
 * @param argv the program and its arguments
 * @returns a handle whose `stop()` ends the whole group
 * @throws when the program cannot be started
 */
export async function spawnGroup(
  argv: readonly string[],
  options: SpawnGroupOptions = {},
): Promise<ProcessHandle> {
  const [program, ...args] = argv;
  if (program === undefined) throw new Error('spawnGroup: empty command');
  const child = spawn(program, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: options.env ?? process.env,
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`spawnGroup: ${argv.join(' ')} has no pid`);
  const text = { stdout: '', stderr: '' };
  const watchers = new Set<() => void>();
  const notify = (): void => {
    for (const watcher of [...watchers]) watcher();
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    text.stdout = keepTail(text.stdout + chunk);
    options.onStdout?.(chunk);
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    text.stderr = keepTail(text.stderr + chunk);
    options.onStderr?.(chunk);
    notify();
  });
  let status: ExitStatus | undefined;
  let groupGone: Promise<unknown> = Promise.resolve();
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      // Members of the group that outlived the leader: the lab leaves no process behind. Done at
      // once, so that it cannot hit an unrelated group that later reuses the id.
      groupGone = reapGroup(pid);
      resolve(status);
      notify();
    });
  });
  child.on('error', () => {});

  const handle: ProcessHandle = {
    pid,
    argv,
    child,
    exited,
    running: () => status === undefined,
    output: () => ({ ...text }),
    waitFor(pattern, waitOptions = {}) {
      const stream = waitOptions.stream ?? 'stdout';
      const timeoutMs = waitOptions.timeoutMs ?? 5_000;
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (matches(text[stream], pattern)) {
            done();
            resolve(text[stream]);
          } else if (status !== undefined) {
            done();
            reject(
              new Error(
                `${argv.join(' ')} exited (${status.code ?? status.signal}) before printing ${String(pattern)}: ${text.stderr.trim()}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `${argv.join(' ')} did not print ${String(pattern)} within ${timeoutMs} ms: ${text.stderr.trim()}`,
            ),
          );
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
    async stop(graceMs = 2_000) {
      if (status === undefined) {
        killGroup(pid, 'SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const graceOver = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), graceMs);
        });
        const first = await Promise.race([exited, graceOver]);
        clearTimeout(timer);
        if (first === 'timeout') killGroup(pid, 'SIGKILL');
      }
      const result = await exited;
      await groupGone;
      return result;
    },
  };
  return handle;
}

/**
 * Polls `check` every 100 ms until it returns a value other than undefined, or the time is up.
 *
 * @returns the value, or undefined when the time ran out
 */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
