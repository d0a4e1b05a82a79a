import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseRequestResult, type RequestResult } from './echo-protocol.js';
import {
  CommandError,
  killGroup,
  type ProcessHandle,
  type RunOptions,
  type RunResult,
  run,
  runSync,
  type SpawnGroupOptions,
  spawnGroup,
} from './process.js';

/** The lab's namespaces, by role; each is named `<prefix>-<role>`. */
export const LAB_ROLES = ['client', 'pod', 'node', 'gw', 'out'] as const;
export type LabRole = (typeof LAB_ROLES)[number];

/** A namespace, by its full name or by its role in the lab (`'out'` for `<prefix>-out`). */
export type NamespaceRef = LabRole | (string & {});

/** Interface names inside the namespaces (names are per namespace, so they need no prefix). */
export const LAB_INTERFACES = {
  /** In `<p>-client`: the client pod's end of the pod network veth. */
  clientEth0: 'eth0',
  /** In `<p>-pod`: the router pod's interface on the pod network. */
  podEth0: 'eth0',
  /** In `<p>-pod`: the macvlan on the node's interface; DOWN and without addresses at the start. */
  podMacvlan: 'macvlan0',
  /** In `<p>-node`: the node's interface on the node network, the macvlan's parent. */
  nodeUplink: 'eth0',
  /** In `<p>-gw`: the gateway's interface on the node network. */
  gwNode: 'nodenet0',
  /** In `<p>-gw`: the gateway's interface on the outside network. */
  gwOutside: 'outnet0',
  /** In `<p>-out`: the outside servers' interface. */
  outEth0: 'eth0',
} as const;

/** The lab's addresses. The IPv6 ones are configured only when the lab has IPv6. */
export interface LabAddresses {
  /** The pod network. */
  readonly podNetwork4: string;
  readonly podNetwork6: string;
  /** The client pod's address. */
  readonly client4: string;
  readonly client6: string;
  /** The router pod's eth0 address: what the client connects to. */
  readonly pod4: string;
  readonly pod6: string;
  /** The pod network's gateway (held by the client namespace): the pod's starting default route. */
  readonly podGateway4: string;
  readonly podGateway6: string;
  /** The node network. */
  readonly nodeNetwork4: string;
  readonly nodeNetwork6: string;
  /** The node's own address on the node network. */
  readonly node4: string;
  readonly node6: string;
  /** The node network's gateway (EGRESS_GATEWAY). */
  readonly gateway4: string;
  readonly gateway6: string;
  /** A free address of the node network, meant as the egress source (EGRESS_SOURCE). */
  readonly egressSource4: string;
  readonly egressSource6: string;
  /** The outside network. */
  readonly outsideNetwork4: string;
  readonly outsideNetwork6: string;
  /** The gateway's address on the outside network (what the outside sees of the gateway itself). */
  readonly outsideGateway4: string;
  readonly outsideGateway6: string;
  /** The outside servers' addresses: .25, .26, .27, then one more per extra address. */
  readonly outside4: readonly string[];
  readonly outside6: readonly string[];
}

/** The lab's namespace names. */
export type LabNamespaces = Readonly<Record<LabRole, string>>;

/** Options of {@link createLab}. */
export interface LabOptions {
  /**
   * Every namespace is `<prefix>-<role>`. Letters, digits and `_`, starting with a letter, at most
   * 20 characters. Default `er<pid>`.
   */
  readonly prefix?: string;
  /** Outside addresses beyond .25-.27 (::25-::27): .28, .29, ... (default 0, at most 200). */
  readonly extraOutsideAddresses?: number;
  /** Set up IPv6 addresses and routes too (default true). */
  readonly ipv6?: boolean;
  /**
   * Remove the namespaces and kill the lab's processes when this process exits without having
   * called `destroy()` (default true). Signals are not handled: the caller's own handlers decide.
   */
  readonly cleanupOnExit?: boolean;
  /** Told every command the lab runs, before it runs; an exception aborts (and undoes) the set-up. */
  readonly log?: (line: string) => void;
}

/** Options of {@link Lab.startEcho}. */
export interface EchoOptions {
  /** Where to run it (default the outside namespace). */
  readonly ns?: NamespaceRef;
  /** How long to wait for `ready` (default 5 000 ms). */
  readonly timeoutMs?: number;
}

/** Ports for the echo server: a list means TCP and UDP on each. */
export type EchoPorts =
  | readonly number[]
  | { readonly tcp?: readonly number[]; readonly udp?: readonly number[] };

/** Options of {@link Lab.ping}. */
export interface PingOptions {
  /** Echo requests to send (default 1). */
  readonly count?: number;
  /** Seconds to wait for the replies overall (default 2). */
  readonly deadlineSeconds?: number;
}

/** A built lab. Every method that takes a namespace accepts its full name or its role. */
export interface Lab {
  readonly prefix: string;
  readonly ns: LabNamespaces;
  readonly interfaces: typeof LAB_INTERFACES;
  readonly addresses: LabAddresses;
  readonly ipv6: boolean;
  /** Runs `cmd args` in a namespace (`ip netns exec`); throws CommandError on failure unless `check: false`. */
  exec(ns: NamespaceRef, cmd: string, args?: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** {@link Lab.exec}, blocking. */
  execSync(ns: NamespaceRef, cmd: string, args?: readonly string[], options?: RunOptions): RunResult;
  /** Runs `ip -n <ns> args`. */
  ip(ns: NamespaceRef, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Sets a sysctl in a namespace (`ip netns exec <ns> sysctl -w key=value`). */
  sysctl(ns: NamespaceRef, key: string, value: string | number): Promise<void>;
  /**
   * Starts a long-running process in a namespace, in its own process group; `destroy()` stops it
   * if the caller has not.
   */
  spawnIn(
    ns: NamespaceRef,
    cmd: string,
    args?: readonly string[],
    options?: SpawnGroupOptions,
  ): Promise<ProcessHandle>;
  /** Starts the echo server (by default in the outside namespace) and waits until it is ready. */
  startEcho(ports: EchoPorts, options?: EchoOptions): Promise<ProcessHandle>;
  /** One TCP request to the echo server from a namespace. */
  tcpRequest(fromNs: NamespaceRef, host: string, port: number, timeoutMs?: number): Promise<RequestResult>;
  /** One UDP request to the echo server from a namespace. */
  udpRequest(fromNs: NamespaceRef, host: string, port: number, timeoutMs?: number): Promise<RequestResult>;
  /** True when `ping` from a namespace gets an answer (needs iputils-ping: see {@link hasPing}). */
  ping(fromNs: NamespaceRef, host: string, options?: PingOptions): Promise<boolean>;
  /** The processes started with spawnIn/startEcho that are still running. */
  processes(): readonly ProcessHandle[];
  /**
   * Stops every process the lab started, kills whatever else still runs in its namespaces, and
   * deletes the namespaces. Idempotent.
   *
   * @throws when a namespace could not be deleted
   */
  destroy(): Promise<void>;
}

const IP = 'ip';
const SYSCTL = 'sysctl';
const PING = 'ping';
/** What a lab prefix may be: a letter, then letters, digits or `_`, 20 characters at most. */
export const PREFIX_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,19}$/;
const MAX_EXTRA_OUTSIDE = 200;
/** Slack on top of a request's own timeout for starting Node in the namespace. */
const CLIENT_START_SLACK_MS = 5_000;

/** The compiled echo server script, next to this module. */
export const ECHO_SERVER_SCRIPT = fileURLToPath(new URL('./echo-server.js', import.meta.url));
/** The compiled client script, next to this module. */
export const CLIENT_SCRIPT = fileURLToPath(new URL('./client.js', import.meta.url));

/**
 * The lab's addresses for a number of extra outside addresses.
 *
 * @param extraOutsideAddresses outside addresses beyond the first three
 */
export function labAddresses(extraOutsideAddresses = 0): LabAddresses {
  const hosts = Array.from({ length: 3 + extraOutsideAddresses }, (_, i) => 25 + i);
  return {
    podNetwork4: '10.128.0.0/24',
    podNetwork6: 'fd00:128::/64',
    client4: '10.128.0.10',
    client6: 'fd00:128::10',
    pod4: '10.128.0.2',
    pod6: 'fd00:128::2',
    podGateway4: '10.128.0.1',
    podGateway6: 'fd00:128::1',
    nodeNetwork4: '192.168.12.0/24',
    nodeNetwork6: '2001:db8:12::/64',
    node4: '192.168.12.2',
    node6: '2001:db8:12::2',
    gateway4: '192.168.12.1',
    gateway6: '2001:db8:12::1',
    egressSource4: '192.168.12.99',
    egressSource6: '2001:db8:12::99',
    outsideNetwork4: '203.0.113.0/24',
    outsideNetwork6: '2001:db8:113::/64',
    outsideGateway4: '203.0.113.1',
    outsideGateway6: '2001:db8:113::1',
    outside4: hosts.map((host) => `203.0.113.${host}`),
    outside6: hosts.map((host) => `2001:db8:113::${host}`),
  };
}

/**
 * The namespace names of a lab.
 *
 * @param prefix the lab's prefix
 */
export function labNamespaces(prefix: string): LabNamespaces {
  return {
    client: `${prefix}-client`,
    pod: `${prefix}-pod`,
    node: `${prefix}-node`,
    gw: `${prefix}-gw`,
    out: `${prefix}-out`,
  };
}

/** The names of every network namespace that `ip netns add` made. */
export async function listNamespaces(): Promise<string[]> {
  const result = await run([IP, 'netns', 'list']);
  return parseNetnsList(result.stdout);
}

function parseNetnsList(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

/** Runs `cmd args` in a namespace with `ip netns exec`. */
export function execIn(
  ns: string,
  cmd: string,
  args: readonly string[] = [],
  options: RunOptions = {},
): Promise<RunResult> {
  return run([IP, 'netns', 'exec', ns, cmd, ...args], options);
}

/**
 * Starts a long-running process in a namespace, in its own process group. Not tracked by any lab:
 * prefer {@link Lab.spawnIn}.
 */
export function spawnIn(
  ns: string,
  cmd: string,
  args: readonly string[] = [],
  options: SpawnGroupOptions = {},
): Promise<ProcessHandle> {
  return spawnGroup([IP, 'netns', 'exec', ns, cmd, ...args], options);
}

async function request(
  proto: 'tcp' | 'udp',
  ns: string,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<RequestResult> {
  const result = await execIn(
    ns,
    process.execPath,
    [CLIENT_SCRIPT, proto, host, String(port), String(timeoutMs)],
    {
      timeoutMs: timeoutMs + CLIENT_START_SLACK_MS,
    },
  );
  const parsed = parseRequestResult(result.stdout);
  if (parsed === undefined) {
    throw new Error(
      `lab client in ${ns} printed no result: ${JSON.stringify(result.stdout)} ${result.stderr}`,
    );
  }
  return parsed;
}

/**
 * Connects with TCP from a namespace to the echo server and returns its answer, or why there was
 * none.
 *
 * @throws when the client itself cannot run (e.g. no such namespace)
 */
export function tcpRequest(
  ns: string,
  host: string,
  port: number,
  timeoutMs = 2_000,
): Promise<RequestResult> {
  return request('tcp', ns, host, port, timeoutMs);
}

/**
 * Sends one UDP datagram from a namespace to the echo server and returns its answer, or why there
 * was none.
 *
 * @throws when the client itself cannot run (e.g. no such namespace)
 */
export function udpRequest(
  ns: string,
  host: string,
  port: number,
  timeoutMs = 2_000,
): Promise<RequestResult> {
  return request('udp', ns, host, port, timeoutMs);
}

/** True when the `ping` program (Debian's iputils-ping) is installed. */
export function hasPing(): boolean {
  const path = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
  return path.split(':').some((dir) => dir !== '' && existsSync(`${dir}/${PING}`));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function namespacePidsSync(ns: string): number[] {
  const result = runSync([IP, 'netns', 'pids', ns], { check: false, timeoutMs: 5_000 });
  return result.code === 0 ? parsePids(result.stdout) : [];
}

async function namespacePids(ns: string): Promise<number[]> {
  const result = await run([IP, 'netns', 'pids', ns], { check: false, timeoutMs: 5_000 });
  return result.code === 0 ? parsePids(result.stdout) : [];
}

function parsePids(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((word) => /^\d+$/.test(word))
    .map(Number)
    .filter((pid) => pid > 1 && pid !== process.pid);
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * Kills every process in the given namespaces, waits for them to die, and deletes the namespaces.
 * Namespaces that do not exist are skipped.
 *
 * @param names the namespaces to delete
 * @returns the namespaces that could not be deleted
 */
export async function removeNamespaces(names: readonly string[]): Promise<string[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pids = (await Promise.all(names.map(namespacePids))).flat();
    if (pids.length === 0) break;
    for (const pid of pids) killPid(pid);
    await sleep(50);
  }
  const existing = new Set(await listNamespaces());
  for (const name of names) {
    if (existing.has(name)) await run([IP, 'netns', 'delete', name], { check: false, timeoutMs: 5_000 });
  }
  const left = new Set(await listNamespaces());
  return names.filter((name) => left.has(name));
}

/**
 * {@link removeNamespaces}, blocking and best effort (one round of kills, nothing reported): for
 * exit handlers.
 *
 * @param names the namespaces to delete; those that do not exist are skipped
 */
export function removeNamespacesSync(names: readonly string[]): void {
  for (const name of names) for (const pid of namespacePidsSync(name)) killPid(pid);
  const existing = new Set(parseNetnsList(runSync([IP, 'netns', 'list'], { check: false }).stdout));
  for (const name of names) {
    if (existing.has(name)) runSync([IP, 'netns', 'delete', name], { check: false, timeoutMs: 5_000 });
  }
}

/**
 * Deletes the namespaces of labs left behind by earlier runs: every namespace named
 * `<prefix>[letters, digits, _]-<role>` (role: client, pod, node, gw, out), after killing the
 * processes in them. `cleanupStaleLabs('er')` removes every lab with a default prefix (`er<pid>`),
 * including a running one: call it only when no other lab of that prefix is in use.
 *
 * @param prefix the start of the namespace names (at least two characters)
 * @returns the namespaces that were deleted
 * @throws when a namespace could not be deleted
 */
export async function cleanupStaleLabs(prefix: string): Promise<string[]> {
  if (!/^[A-Za-z][A-Za-z0-9_]+$/.test(prefix)) throw new Error(`cleanupStaleLabs: bad prefix '${prefix}'`);
  // A lab prefix has no '-': `<prefix><more letters/digits/_>-<role>` and nothing else.
  const pattern = new RegExp(`^${prefix}[A-Za-z0-9_]*-(?:${LAB_ROLES.join('|')})$`);
  const stale = (await listNamespaces()).filter((name) => pattern.test(name));
  const left = await removeNamespaces(stale);
  if (left.length > 0) throw new Error(`cleanupStaleLabs: could not delete ${left.join(', ')}`);
  return stale;
}

/**
 * The echo server's arguments for a set of ports (`--tcp 80,443 --udp 53`).
 *
 * @param ports a list (TCP and UDP on each) or the ports of each protocol
 * @throws Error when no port is given
 */
export function echoArgs(ports: EchoPorts): string[] {
  const tcp = Array.isArray(ports) ? ports : ((ports as { tcp?: readonly number[] }).tcp ?? []);
  const udp = Array.isArray(ports) ? ports : ((ports as { udp?: readonly number[] }).udp ?? []);
  const args: string[] = [];
  if (tcp.length > 0) args.push('--tcp', tcp.join(','));
  if (udp.length > 0) args.push('--udp', udp.join(','));
  if (args.length === 0) throw new Error('startEcho: no ports');
  return args;
}

/**
 * Builds the lab: five namespaces, the links between them, addresses and routes. On any failure
 * everything made so far is removed before the error is thrown.
 *
 * Topology (interface names are per namespace):
 * ```
 *  <p>-client eth0 10.128.0.10 ── eth0 10.128.0.2 <p>-pod macvlan0 (DOWN, no address)
 *                                                            │ (macvlan, bridge mode, on node eth0)
 *  <p>-node eth0 192.168.12.2 ── nodenet0 192.168.12.1 <p>-gw outnet0 203.0.113.1 ── eth0 203.0.113.25.. <p>-out
 * ```
 *
 * @throws when not root, when a namespace of that prefix already exists, or when a step fails
 */
export async function createLab(options: LabOptions = {}): Promise<Lab> {
  const prefix = options.prefix ?? `er${process.pid}`;
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(`createLab: bad prefix '${prefix}' (a letter, then letters, digits or _; 20 at most)`);
  }
  const extra = options.extraOutsideAddresses ?? 0;
  if (!Number.isInteger(extra) || extra < 0 || extra > MAX_EXTRA_OUTSIDE) {
    throw new Error(`createLab: extraOutsideAddresses must be an integer from 0 to ${MAX_EXTRA_OUTSIDE}`);
  }
  const ipv6 = options.ipv6 ?? true;
  const ns = labNamespaces(prefix);
  const names = LAB_ROLES.map((role) => ns[role]);
  const addresses = labAddresses(extra);
  const log = options.log;

  const clash = (await listNamespaces()).filter((name) => names.includes(name));
  if (clash.length > 0) {
    throw new Error(
      `createLab: namespace ${clash.join(', ')} already exists (another lab with prefix '${prefix}', or a stale one: cleanupStaleLabs('${prefix}'))`,
    );
  }

  const resolve = (ref: NamespaceRef): string =>
    (LAB_ROLES as readonly string[]).includes(ref) ? ns[ref as LabRole] : ref;
  const handles = new Set<ProcessHandle>();
  let destroyed = false;
  let destroying: Promise<void> | undefined;

  const exitCleanup = (): void => {
    for (const handle of handles) killGroup(handle.pid, 'SIGKILL');
    removeNamespacesSync(names);
  };
  const cleanupOnExit = options.cleanupOnExit ?? true;
  if (cleanupOnExit) process.on('exit', exitCleanup);

  const step = (argv: readonly string[]): Promise<RunResult> => {
    log?.(argv.join(' '));
    return run(argv);
  };
  const ipIn = (role: LabRole, ...args: string[]): Promise<RunResult> => step([IP, '-n', ns[role], ...args]);

  const lab: Lab = {
    prefix,
    ns,
    interfaces: LAB_INTERFACES,
    addresses,
    ipv6,
    exec: (ref, cmd, args = [], runOptions = {}) => execIn(resolve(ref), cmd, args, runOptions),
    execSync: (ref, cmd, args = [], runOptions = {}) =>
      runSync([IP, 'netns', 'exec', resolve(ref), cmd, ...args], runOptions),
    ip: (ref, args, runOptions = {}) => run([IP, '-n', resolve(ref), ...args], runOptions),
    async sysctl(ref, key, value) {
      await execIn(resolve(ref), SYSCTL, ['-q', '-w', `${key}=${value}`]);
    },
    async spawnIn(ref, cmd, args = [], spawnOptions = {}) {
      if (destroyed) throw new Error('lab: spawnIn after destroy()');
      const handle = await spawnIn(resolve(ref), cmd, args, spawnOptions);
      handles.add(handle);
      void handle.exited.then(() => handles.delete(handle));
      return handle;
    },
    startEcho: (ports, echoOptions = {}) =>
      startEchoServer(
        (cmd, args) => lab.spawnIn(echoOptions.ns ?? 'out', cmd, args),
        ports,
        echoOptions.timeoutMs,
      ),
    tcpRequest: (ref, host, port, timeoutMs) => tcpRequest(resolve(ref), host, port, timeoutMs),
    udpRequest: (ref, host, port, timeoutMs) => udpRequest(resolve(ref), host, port, timeoutMs),
    async ping(ref, host, pingOptions = {}) {
      const count = pingOptions.count ?? 1;
      const deadline = pingOptions.deadlineSeconds ?? 2;
      const args = ['-n', '-q', '-c', String(count), '-i', '0.2', '-w', String(deadline), host];
      const result = await execIn(resolve(ref), PING, args, {
        check: false,
        timeoutMs: (deadline + 5) * 1000,
      });
      if (result.code !== 0 && result.code !== 1) throw new CommandError(result);
      return result.code === 0;
    },
    processes: () => [...handles],
    destroy() {
      destroying ??= (async () => {
        destroyed = true;
        await Promise.all([...handles].map((handle) => handle.stop(1_000)));
        const left = await removeNamespaces(names);
        if (left.length > 0) {
          destroying = undefined; // a later call tries again; the exit handler stays
          throw new Error(`lab: could not delete namespaces ${left.join(', ')}`);
        }
        if (cleanupOnExit) process.off('exit', exitCleanup);
      })();
      return destroying;
    },
  };

  try {
    for (const name of names) await step([IP, 'netns', 'add', name]);
    await configureSysctls(ns, ipv6, step);
    for (const role of LAB_ROLES) await ipIn(role, 'link', 'set', 'lo', 'up');
    await buildLinks(ns, ipIn);
    await addAddresses(addresses, ipv6, ipIn);
    await addRoutes(addresses, ipv6, ipIn);
    if (ipv6) {
      await step([
        IP,
        'netns',
        'exec',
        ns.pod,
        SYSCTL,
        '-q',
        '-w',
        `net.ipv6.conf.${LAB_INTERFACES.podMacvlan}.accept_dad=0`,
      ]);
      await waitForAddresses(names);
    }
  } catch (error) {
    try {
      await lab.destroy();
    } catch (cleanupError) {
      throw new AggregateError(
        [error, cleanupError],
        `createLab failed and could not clean up: ${String(error)}`,
      );
    }
    throw error;
  }
  return lab;
}

type Step = (argv: readonly string[]) => Promise<RunResult>;
type IpIn = (role: LabRole, ...args: string[]) => Promise<RunResult>;

/**
 * Forwarding on in the gateway only (off elsewhere, so the router has to turn it on in its pod);
 * DAD and router advertisements off so that addresses are usable at once and nothing configures
 * itself behind the lab's back.
 */
async function configureSysctls(ns: LabNamespaces, ipv6: boolean, step: Step): Promise<void> {
  for (const role of LAB_ROLES) {
    const forward = role === 'gw' ? 1 : 0;
    const settings = [`net.ipv4.ip_forward=${forward}`];
    if (ipv6) {
      settings.push(
        'net.ipv6.conf.all.accept_dad=0',
        'net.ipv6.conf.default.accept_dad=0',
        'net.ipv6.conf.all.accept_ra=0',
        'net.ipv6.conf.default.accept_ra=0',
        `net.ipv6.conf.all.forwarding=${forward}`,
      );
    }
    await step([IP, 'netns', 'exec', ns[role], SYSCTL, '-q', '-w', ...settings]);
  }
}

/**
 * Makes every link directly inside its namespaces (`ip -n`), so that nothing ever appears in the
 * host's namespace, and makes macvlan0 the way the SDN does: on the node's interface, in the node
 * namespace, then moved into the pod.
 */
async function buildLinks(ns: LabNamespaces, ipIn: IpIn): Promise<void> {
  const i = LAB_INTERFACES;
  await ipIn(
    'client',
    'link',
    'add',
    i.clientEth0,
    'type',
    'veth',
    'peer',
    'name',
    i.podEth0,
    'netns',
    ns.pod,
  );
  await ipIn('node', 'link', 'add', i.nodeUplink, 'type', 'veth', 'peer', 'name', i.gwNode, 'netns', ns.gw);
  await ipIn('out', 'link', 'add', i.outEth0, 'type', 'veth', 'peer', 'name', i.gwOutside, 'netns', ns.gw);
  await ipIn('node', 'link', 'add', i.podMacvlan, 'link', i.nodeUplink, 'type', 'macvlan', 'mode', 'bridge');
  await ipIn('node', 'link', 'set', i.podMacvlan, 'netns', ns.pod);
}

async function addAddresses(a: LabAddresses, ipv6: boolean, ipIn: IpIn): Promise<void> {
  const i = LAB_INTERFACES;
  const add4 = (role: LabRole, dev: string, address: string, prefix: number): Promise<RunResult> =>
    ipIn(role, 'address', 'add', `${address}/${prefix}`, 'dev', dev);
  const add6 = (role: LabRole, dev: string, address: string, ...flags: string[]): Promise<RunResult> =>
    ipIn(role, '-6', 'address', 'add', `${address}/64`, 'dev', dev, 'nodad', ...flags);

  await add4('client', i.clientEth0, a.client4, 24);
  // The pod network's gateway (a node address in a cluster), secondary so the client's own address
  // stays the source of its connections.
  await add4('client', i.clientEth0, a.podGateway4, 24);
  await add4('pod', i.podEth0, a.pod4, 24);
  await add4('node', i.nodeUplink, a.node4, 24);
  await add4('gw', i.gwNode, a.gateway4, 24);
  await add4('gw', i.gwOutside, a.outsideGateway4, 24);
  for (const address of a.outside4) await add4('out', i.outEth0, address, 24);
  if (ipv6) {
    await add6('client', i.clientEth0, a.client6);
    // Deprecated (preferred_lft 0): never chosen as the client's source address.
    await add6('client', i.clientEth0, a.podGateway6, 'preferred_lft', '0');
    await add6('pod', i.podEth0, a.pod6);
    await add6('node', i.nodeUplink, a.node6);
    await add6('gw', i.gwNode, a.gateway6);
    await add6('gw', i.gwOutside, a.outsideGateway6);
    for (const address of a.outside6) await add6('out', i.outEth0, address);
  }
  const up: [LabRole, string][] = [
    ['client', i.clientEth0],
    ['pod', i.podEth0],
    ['node', i.nodeUplink],
    ['gw', i.gwNode],
    ['gw', i.gwOutside],
    ['out', i.outEth0],
  ];
  for (const [role, dev] of up) await ipIn(role, 'link', 'set', dev, 'up');
}

async function addRoutes(a: LabAddresses, ipv6: boolean, ipIn: IpIn): Promise<void> {
  const i = LAB_INTERFACES;
  await ipIn('pod', 'route', 'add', 'default', 'via', a.podGateway4, 'dev', i.podEth0);
  await ipIn('node', 'route', 'add', 'default', 'via', a.gateway4, 'dev', i.nodeUplink);
  await ipIn('out', 'route', 'add', 'default', 'via', a.outsideGateway4, 'dev', i.outEth0);
  if (ipv6) {
    await ipIn('pod', '-6', 'route', 'add', 'default', 'via', a.podGateway6, 'dev', i.podEth0);
    await ipIn('node', '-6', 'route', 'add', 'default', 'via', a.gateway6, 'dev', i.nodeUplink);
    await ipIn('out', '-6', 'route', 'add', 'default', 'via', a.outsideGateway6, 'dev', i.outEth0);
  }
}

/**
 * Waits until no IPv6 address in the namespaces is tentative.
 *
 * @param names the namespaces to look at
 * @param timeoutMs how long to wait (default 5 000 ms)
 * @throws Error on a duplicate address (DAD failed) or when an address is still tentative at the end
 */
export async function waitForAddresses(names: readonly string[], timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let tentative = '';
    for (const name of names) {
      const result = await run([IP, '-n', name, '-6', '-o', 'address', 'show']);
      const lines = result.stdout.split('\n');
      const failed = lines.find((line) => line.includes('dadfailed'));
      if (failed !== undefined)
        throw new Error(`lab: duplicate address detected in ${name}: ${failed.trim()}`);
      tentative ||= lines.find((line) => line.includes('tentative'))?.trim() ?? '';
    }
    if (tentative === '') return;
    if (Date.now() > end)
      throw new Error(`lab: IPv6 address still tentative after ${timeoutMs} ms: ${tentative}`);
    await sleep(50);
  }
}

/**
 * Starts the echo server through `spawn` (a lab's spawnIn for one namespace) and waits until it is
 * ready; stops it when it does not get ready in time.
 *
 * @param spawn starts a command in the namespace
 * @param ports the ports to answer on
 * @param timeoutMs how long to wait for `ready` (default 5 000 ms)
 */
export async function startEchoServer(
  spawn: (cmd: string, args: readonly string[]) => Promise<ProcessHandle>,
  ports: EchoPorts,
  timeoutMs = 5_000,
): Promise<ProcessHandle> {
  const handle = await spawn(process.execPath, [ECHO_SERVER_SCRIPT, ...echoArgs(ports)]);
  try {
    await handle.waitFor(/^ready$/m, { timeoutMs });
  } catch (error) {
    await handle.stop();
    throw error;
  }
  return handle;
}
