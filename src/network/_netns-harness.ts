/**
 * Test support, not part of the API: throwaway network namespaces for the tests of this module. Every
 * namespace is named `ernl-<pid>-<label>`; cleanup() deletes all of this process's namespaces and
 * also runs when the process exits. Code under test runs inside a namespace through runFixture.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FixtureOutput } from './_netns-fixture.js';

/** The name prefix of this process's namespaces. */
export const NETNS_PREFIX = `ernl-${process.pid}-`;

const FIXTURE = fileURLToPath(new URL('./_netns-fixture.js', import.meta.url));
const TIMEOUT_MS = 20_000;

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: TIMEOUT_MS });
  if (probe.error !== undefined || probe.status !== 0) return 'iproute2 `ip netns` is not available';
  return undefined;
}

/**
 * Runs a program to completion (killed after 20 s) and returns its stdout.
 *
 * @throws Error with its stderr when it fails
 */
export function run(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (result.error !== undefined || result.status !== 0) {
    const why = result.error?.message ?? `status ${result.status ?? result.signal}: ${result.stderr.trim()}`;
    throw new Error(`${[command, ...args].join(' ')} failed: ${why}`);
  }
  return result.stdout;
}

/** Runs `ip ARGS` (iproute2). */
export function ip(...args: string[]): string {
  return run('ip', args);
}

/** Runs `ip -j ARGS` and parses its JSON. */
export function ipJson<T = Record<string, unknown>[]>(...args: string[]): T {
  return JSON.parse(ip('-j', ...args) || '[]') as T;
}

/** Runs a program inside a namespace (`ip netns exec NS ...`). */
export function inNetns(ns: string, command: string, ...args: string[]): string {
  return run('ip', ['netns', 'exec', ns, command, ...args]);
}

/** Creates the namespace `ernl-<pid>-<label>` (loopback up) and returns its name. */
export function addNetns(label: string): string {
  const name = `${NETNS_PREFIX}${label}`;
  ip('netns', 'add', name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
  return name;
}

/**
 * Waits until an interface's operational state is UP: only then has the kernel activated its queue
 * (linkwatch runs up to a second after the carrier), and packets sent before are dropped.
 *
 * @throws Error when it is not UP within 5 s
 */
export async function waitOperUp(ns: string, ifname: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const [link] = ipJson<{ operstate?: string }[]>('-n', ns, 'link', 'show', 'dev', ifname);
    if (link?.operstate === 'UP') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${ifname} in ${ns} is not operationally up after 5 s`);
}

/** This process's namespaces that exist now. */
export function ownNamespaces(): string[] {
  return ip('netns', 'list')
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(NETNS_PREFIX));
}

/** Deletes every namespace of this process (and so every interface in them). Never throws. */
export function cleanup(): void {
  try {
    for (const name of ownNamespaces()) spawnSync('ip', ['netns', 'del', name], { timeout: TIMEOUT_MS });
  } catch {
    // best effort: `ip netns list` itself failed
  }
}

process.once('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanup();
    process.kill(process.pid, signal);
  });
}

/**
 * Runs one operation of _netns-fixture.js inside a namespace, with the same Node binary.
 *
 * @returns the fixture's output; a fixture that crashes or prints no JSON throws
 */
export function runFixture<T = unknown>(
  ns: string,
  operation: string,
  input: unknown = {},
): FixtureOutput<T> {
  const args = ['netns', 'exec', ns, process.execPath, FIXTURE, operation, JSON.stringify(input)];
  const result = spawnSync('ip', args, { encoding: 'utf8', timeout: TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (result.error !== undefined) throw new Error(`fixture ${operation}: ${result.error.message}`);
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as FixtureOutput<T>;
  } catch {
    throw new Error(
      `fixture ${operation} printed no result (status ${result.status}): ${result.stderr.trim()}`,
    );
  }
}

/** The value of a fixture run that must succeed. */
export function fixtureValue<T = unknown>(ns: string, operation: string, input: unknown = {}): T {
  const output = runFixture<T>(ns, operation, input);
  if (!output.ok)
    throw new Error(`fixture ${operation} failed: ${output.error.name}: ${output.error.message}`);
  return output.value;
}
