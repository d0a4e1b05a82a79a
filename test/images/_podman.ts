import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../src/lab/index.js';
import { type RunResult, run } from '../../src/lab/process.js';

/** The repository (tests run from dist/test/images). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/** The CLI on this machine, built from the same sources as the images. */
export const BIN = `${REPO}bin/egress-router`;
/** podman's settings for this project (runc, lower rlimits); the host's /etc is not changed. */
export const CONTAINERS_CONF = `${REPO}images/podman/containers.conf`;

/** The images `npm run images` builds. */
export const IMAGES = {
  router: 'localhost/egress-router:latest',
  httpProxy: 'localhost/egress-http-proxy:latest',
  dnsProxy: 'localhost/egress-dns-proxy:latest',
  podWait: 'localhost/egress-pod-wait:latest',
} as const;

/** Every test container carries this label, so a crashed run's leftovers can be found. */
export const TEST_LABEL = 'io.github.egress-router.test';

/**
 * The hardened way to run the router image (docs/images.md): no capability but NET_ADMIN, a
 * non-root user (podman hands it NET_ADMIN as an ambient capability), and /proc/sys writable so
 * that it can set the pod's net sysctls; a non-root user cannot write the kernel's global ones.
 */
export const ROUTER_SECURITY = [
  '--user',
  '65532:65532',
  '--cap-drop',
  'all',
  '--cap-add',
  'NET_ADMIN',
  '--security-opt',
  'unmask=/proc/sys',
] as const;

/** What a sidecar needs: nothing. */
export const SIDECAR_SECURITY = [
  '--cap-drop',
  'all',
  '--read-only',
  '--security-opt',
  'no-new-privileges',
] as const;

/** Why the podman tests cannot run here, or false. */
export function podmanSkipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (podman with network namespaces)';
  const probe = spawnSync('podman', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.status !== 0) return 'needs podman (scripts/install-system-deps installs it)';
  return false;
}

/**
 * Why a CLI command's end-to-end test cannot run yet, or false: a command that is still being
 * written exits non-zero on `--help`.
 */
export function commandSkipReason(command: 'http-proxy' | 'dns-proxy'): string | false {
  const probe = spawnSync(process.execPath, [BIN, command, '--help'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.status === 0) return false;
  const said = `${probe.stderr ?? ''}`.trim().split('\n').at(-1) ?? '';
  return `'egress-router ${command} --help' exits ${probe.status} (${said}): the command is not written yet`;
}

/** The environment podman runs with. */
export function podmanEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF };
}

/** Runs podman; does not throw on failure unless `check`. */
export function podman(
  args: readonly string[],
  options: { timeoutMs?: number; check?: boolean; input?: string } = {},
): Promise<RunResult> {
  return run(['podman', ...args], {
    env: podmanEnv(),
    timeoutMs: options.timeoutMs ?? 60_000,
    check: options.check ?? false,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
}

let built: Promise<void> | undefined;

/**
 * Builds the four images once per test run and reuses them while their inputs are unchanged
 * (images/build-images.sh --if-changed). The first call of a run may take minutes: the local base
 * (debootstrap) and the images.
 *
 * @throws when the build fails, with its output
 */
export function ensureImages(): Promise<void> {
  built ??= (async () => {
    const script = `${REPO}images/build-images.sh`;
    if (!existsSync(script)) throw new Error(`missing ${script}`);
    const result = await run([script, '--if-changed', '--quiet'], {
      env: podmanEnv(),
      timeoutMs: 30 * 60_000,
      check: false,
    });
    if (result.code !== 0) {
      throw new Error(`images/build-images.sh failed (${result.code}):\n${result.stderr}\n${result.stdout}`);
    }
    await removeOrphans();
  })();
  return built;
}

/**
 * Removes test containers left by a test process that died before its `after` ran: their label's
 * value ends with the id of a process that no longer exists.
 */
async function removeOrphans(): Promise<void> {
  const listed = await podman([
    'ps',
    '-a',
    '--filter',
    `label=${TEST_LABEL}`,
    '--format',
    `{{.Names}} {{index .Labels "${TEST_LABEL}"}}`,
  ]);
  const orphans = listed.stdout
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter(
      ([name, prefix]) =>
        name !== undefined && name !== '' && !processAlive(Number(/\d+$/.exec(prefix ?? '')?.[0])),
    )
    .map(([name]) => name!);
  if (orphans.length > 0) await podman(['rm', '--force', '--time', '0', '--ignore', ...orphans]);
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The containers one test file starts, named `<prefix>-<n>`; `removeAll` removes them whatever state
 * they are in (call it in `after`/`finally`).
 */
export class Containers {
  readonly #prefix: string;
  readonly #names = new Set<string>();
  #next = 0;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** A new container name, remembered for removal. */
  name(role: string): string {
    const name = `${this.#prefix}-${role}-${this.#next++}`;
    this.#names.add(name);
    return name;
  }

  /** The options every test container gets: its name and the test label. */
  identity(role: string): string[] {
    const name = this.name(role);
    return ['--name', name, '--label', `${TEST_LABEL}=${this.#prefix}`];
  }

  /** The last name handed out for a role. */
  last(role: string): string {
    const names = [...this.#names].filter((name) => name.startsWith(`${this.#prefix}-${role}-`));
    const last = names.at(-1);
    if (last === undefined) throw new Error(`no container for role ${role}`);
    return last;
  }

  /** Removes every container of this prefix (also ones a crashed run left), at once. */
  async removeAll(): Promise<void> {
    const listed = await podman([
      'ps',
      '-a',
      '--filter',
      `label=${TEST_LABEL}=${this.#prefix}`,
      '--format',
      '{{.Names}}',
    ]);
    const names = new Set([...this.#names, ...listed.stdout.split('\n').filter((line) => line !== '')]);
    if (names.size > 0) await podman(['rm', '--force', '--time', '0', '--ignore', ...names]);
    this.#names.clear();
  }
}

/** `podman run` arguments that put a container in a lab namespace (the pod's network). */
export function inNamespace(ns: string): string[] {
  return ['--network', `ns:/run/netns/${ns}`];
}

/** `-e NAME=value` for each variable. */
export function envArgs(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env).flatMap(([name, value]) => ['--env', `${name}=${value}`]);
}

/** The router image's environment in a lab: the lab's egress source (/24) and gateway, plus `env`. */
export function routerImageEnv(lab: Lab, env: Readonly<Record<string, string>>): Record<string, string> {
  return {
    EGRESS_SOURCE: `${lab.addresses.egressSource4}/24`,
    EGRESS_GATEWAY: lab.addresses.gateway4,
    ...env,
  };
}

/**
 * Runs the router image to completion in a lab's pod namespace, as the pod's init container does,
 * with routerImageEnv (`env`: EGRESS_ROUTER_MODE, the list...).
 *
 * @param security the capability options (the image's documented set unless a test drops some)
 */
export function runRouterImage(
  lab: Lab,
  containers: Containers,
  env: Readonly<Record<string, string>>,
  security: readonly string[] = ROUTER_SECURITY,
): Promise<RunResult> {
  return podman([
    'run',
    '--rm',
    ...containers.identity('router'),
    ...inNamespace(lab.ns.pod),
    ...security,
    ...envArgs(routerImageEnv(lab, env)),
    IMAGES.router,
  ]);
}

/** Polls until a check returns a value (the router lab's helper, shared). */
export { eventually } from '../router/_router-lab.js';
