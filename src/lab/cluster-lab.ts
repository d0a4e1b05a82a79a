/**
 * A simulated multi-node cluster in network namespaces, for the node agent's tests, its demo and
 * its benchmarks: nodes with pod bridges and host-gw routes on a switched node network, an upstream
 * router that knows nothing of the pods, outside servers, the SDN's masquerade, dnsmasq for DNS,
 * and the tools to fail a node. Needs root, iproute2, sysctl, nft and (for DNS) dnsmasq-base.
 *
 * ```
 *                <p>-out   eth0 203.0.113.25,.26,.27[..]/24   2001:db8:113::25[..]/64
 *                   │ veth
 *                <p>-gw    outnet0 203.0.113.1  2001:db8:113::1      forwarding, no NAT,
 *                          nodenet0 192.168.50.1 fd00:50::1          no route to the pods
 *                   │ veth (sw-gw)
 *   <p>-sw  ════════╪═══════════ br0 (the node network 192.168.50.0/24, fd00:50::/64) ════════
 *          │ sw-n1                     │ sw-n2                      │ sw-n3   (cutNode: down)
 *   <p>-n1 eth0 192.168.50.11    <p>-n2 eth0 192.168.50.12    <p>-n3 eth0 192.168.50.13
 *          fd00:50::11                 fd00:50::12                  fd00:50::13
 *          cbr0 10.128.0.1/23          cbr0 10.128.2.1/23           cbr0 10.128.4.1/23
 *               fd01:0:0:1::1/64            fd01:0:0:2::1/64             fd01:0:0:3::1/64
 *          │ veth-p1                   │ veth-p2 ...
 *   <p>-p1 eth0 10.128.0.10      <p>-p2 eth0 10.128.2.10   (pods: .10, .11, ... / ::10, ::11, ...)
 *               fd01:0:0:1::10              fd01:0:0:2::10
 * ```
 *
 * Each node routes the other nodes' pod subnets through their node addresses (host-gw) and its
 * default route through the gateway; nft table `inet lab_sdn` (postrouting, priority srcnat + 10)
 * masquerades pod traffic that leaves on eth0 for an address outside the cluster network, so the
 * outside sees the node's address, as openshift-sdn's OPENSHIFT-MASQUERADE does.
 *
 * @module
 */
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CLUSTER_INTERFACES,
  CLUSTER_ROLE_PATTERN,
  clusterLabAddresses,
  clusterNamespaces,
  DEFAULT_CLUSTER_NODES,
  FIRST_POD_HOST,
  isRoleName,
  podAddresses,
  podHostVeth,
  podNamespace,
  SWITCH_GATEWAY_PORT,
  switchNodePort,
} from './cluster-addresses.js';
import { dnsQueryIn, etcNetnsEntries, removeEtcNetns, writeNetnsResolvConf } from './cluster-dns.js';
import { podManifestsYaml } from './cluster-manifests.js';
import {
  addNamespace,
  buildGatewayAndOutside,
  buildNode,
  buildPod,
  buildSwitch,
  setMasquerade,
  waitOperUp,
} from './cluster-topology.js';
import type {
  ClusterLab,
  ClusterLabOptions,
  ClusterPod,
  ClusterPodSpec,
  ClusterRef,
} from './cluster-types.js';
import { DNSMASQ_DIR_PREFIX, type DnsmasqHandle, startDnsmasq } from './dnsmasq.js';
import {
  execIn,
  listNamespaces,
  PREFIX_PATTERN,
  removeNamespaces,
  removeNamespacesSync,
  spawnIn,
  startEchoServer,
  tcpRequest,
  udpRequest,
  waitForAddresses,
} from './lab.js';
import { parseNeighbours } from './neighbours.js';
import { killGroup, type ProcessHandle, type RunOptions, type RunResult, run, runSync } from './process.js';

export { DNS_QUERY_SCRIPT, type DnsQueryOptions, type DnsQueryResult, ETC_NETNS } from './cluster-dns.js';
export type {
  ClusterDnsmasqOptions,
  ClusterEchoOptions,
  ClusterLab,
  ClusterLabOptions,
  ClusterPod,
  ClusterPodSpec,
  ClusterRef,
} from './cluster-types.js';

const IP = 'ip';
const SYSCTL = 'sysctl';
const POD_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function checkPodSpec(spec: ClusterPodSpec, nodeCount: number): void {
  if (!POD_NAME_PATTERN.test(spec.name) || isRoleName(spec.name)) {
    throw new TypeError(
      `cluster lab: bad pod name '${spec.name}' (a DNS-1123 label, not sw, gw, out, n<i> or p<k>)`,
    );
  }
  if (!POD_NAME_PATTERN.test(spec.namespace)) {
    throw new TypeError(`cluster lab: bad namespace '${spec.namespace}' for pod '${spec.name}'`);
  }
  if (!Number.isInteger(spec.node) || spec.node < 1 || spec.node > nodeCount) {
    throw new RangeError(
      `cluster lab: pod '${spec.name}' on node ${spec.node}: the nodes are 1 to ${nodeCount}`,
    );
  }
}

function rolePattern(prefix: string): RegExp {
  return new RegExp(`^${prefix}[A-Za-z0-9_]*-${CLUSTER_ROLE_PATTERN}$`);
}

/**
 * Deletes cluster labs left behind by earlier runs: every namespace named
 * `<prefix>[letters, digits, _]-<role>` (role: sw, gw, out, n<i>, p<k>), after killing the processes
 * in them, and the /etc/netns entries and dnsmasq directories of such names.
 * `cleanupStaleClusterLabs('ec')` removes every lab with a default prefix (`ec<pid>`), a running one
 * too: call it only when none is in use.
 *
 * @param prefix the start of the namespace names (at least two characters)
 * @returns the namespaces that were deleted
 * @throws when a namespace could not be deleted
 */
export async function cleanupStaleClusterLabs(prefix: string): Promise<string[]> {
  if (!/^[A-Za-z][A-Za-z0-9_]+$/.test(prefix))
    throw new Error(`cleanupStaleClusterLabs: bad prefix '${prefix}'`);
  const pattern = rolePattern(prefix);
  const stale = (await listNamespaces()).filter((name) => pattern.test(name));
  const left = await removeNamespaces(stale);
  removeEtcNetns(etcNetnsEntries().filter((name) => pattern.test(name) && !left.includes(name)));
  // dnsmasq directories of those labs: `lab-dnsmasq-<namespace>-XXXXXX`.
  for (const entry of readdirSync(tmpdir())) {
    const ns = entry.startsWith(DNSMASQ_DIR_PREFIX) ? entry.slice(DNSMASQ_DIR_PREFIX.length, -7) : '';
    if (pattern.test(ns) && !left.includes(ns))
      rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
  if (left.length > 0) throw new Error(`cleanupStaleClusterLabs: could not delete ${left.join(', ')}`);
  return stale;
}

/**
 * Builds a cluster lab (see the module's diagram). On any failure everything made so far is removed
 * before the error is thrown.
 *
 * @param options prefix, nodes, pods, outside addresses, masquerade, clean-up on exit, log
 * @returns the running lab
 * @throws when not root, when a namespace or /etc/netns entry of that prefix exists, or when a step fails
 */
export async function createClusterLab(options: ClusterLabOptions = {}): Promise<ClusterLab> {
  const prefix = options.prefix ?? `ec${process.pid}`;
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(
      `createClusterLab: bad prefix '${prefix}' (a letter, then letters, digits or _; 20 at most)`,
    );
  }
  const nodeCount = options.nodes ?? DEFAULT_CLUSTER_NODES;
  const addresses = clusterLabAddresses(nodeCount, options.extraOutsideAddresses ?? 0);
  const ns = clusterNamespaces(prefix, nodeCount);
  const fixed = [ns.sw, ns.gw, ns.out, ...ns.nodes];
  for (const spec of options.pods ?? []) checkPodSpec(spec, nodeCount);
  const podNames = (options.pods ?? []).map((spec) => spec.name);
  const twice = podNames.find((name, i) => podNames.indexOf(name) !== i);
  if (twice !== undefined) throw new TypeError(`createClusterLab: two pods named '${twice}'`);
  const own = new RegExp(`^${prefix}-${CLUSTER_ROLE_PATTERN}$`);
  const clash = [...(await listNamespaces()), ...etcNetnsEntries()].filter((name) => own.test(name));
  if (clash.length > 0) {
    throw new Error(
      `createClusterLab: ${[...new Set(clash)].join(', ')} already exists (another lab with prefix '${prefix}', or a stale one: cleanupStaleClusterLabs('${prefix}'))`,
    );
  }

  const pods = new Map<string, ClusterPod>();
  /** Names of pods being added. */
  const adding = new Set<string>();
  /** Every namespace that exists or is being made, pods included, for clean-up. */
  const names = new Set<string>();
  const etcDirs = new Set<string>();
  const handles = new Map<ProcessHandle, string>();
  const dnsServers = new Set<DnsmasqHandle>();
  const nextHost = new Map<number, number>(addresses.nodes.map((node) => [node.index, FIRST_POD_HOST]));
  let podCounter = 0;
  let destroyed = false;
  let destroying: Promise<void> | undefined;
  const log = options.log;
  const step = (argv: readonly string[], runOptions?: RunOptions): Promise<RunResult> => {
    log?.(argv.join(' '));
    return run(argv, runOptions);
  };

  const nodeNs = (node: number): string => {
    const name = Number.isInteger(node) ? ns.nodes[node - 1] : undefined;
    if (name === undefined)
      throw new RangeError(`cluster lab: no node ${node} (the nodes are 1 to ${nodeCount})`);
    return name;
  };
  const resolve = (ref: ClusterRef): string => {
    if (typeof ref === 'number') return nodeNs(ref);
    if (ref === 'sw' || ref === 'gw' || ref === 'out') return ns[ref as 'sw' | 'gw' | 'out'];
    const node = /^n(\d+)$/.exec(ref);
    if (node !== null) return nodeNs(Number(node[1]));
    const byIndex = /^p\d+$/.test(ref) ? `${prefix}-${ref}` : undefined;
    if (byIndex !== undefined && names.has(byIndex)) return byIndex;
    const pod = pods.get(ref);
    if (pod !== undefined) return pod.netns;
    if (names.has(ref)) return ref;
    throw new Error(`cluster lab: no namespace '${ref}' in lab '${prefix}'`);
  };

  const exitCleanup = (): void => {
    for (const pid of [...handles.keys()].map((handle) => handle.pid)) killGroup(pid, 'SIGKILL');
    removeNamespacesSync([...names]);
    removeEtcNetns(etcDirs);
    for (const server of dnsServers) rmSync(server.dir, { recursive: true, force: true });
  };
  const cleanupOnExit = options.cleanupOnExit ?? true;
  if (cleanupOnExit) process.on('exit', exitCleanup);

  const stopIn = async (netns: string | undefined): Promise<void> => {
    const servers = [...dnsServers].filter(
      (server) => netns === undefined || handles.get(server.process) === netns,
    );
    await Promise.all(servers.map((server) => server.stop().catch(() => {})));
    for (const server of servers) dnsServers.delete(server);
    const left = [...handles].filter(([, where]) => netns === undefined || where === netns);
    await Promise.all(left.map(([handle]) => handle.stop(1_000)));
  };

  const lab: ClusterLab = {
    prefix,
    ns,
    interfaces: CLUSTER_INTERFACES,
    addresses,
    nodeNames: addresses.nodes.map((node) => node.name),
    pods: () => [...pods.values()],
    pod(name) {
      const pod = pods.get(name);
      if (pod === undefined) throw new Error(`cluster lab: no pod '${name}'`);
      return pod;
    },
    async addPod(spec) {
      if (destroyed) throw new Error('cluster lab: addPod after destroy()');
      checkPodSpec(spec, nodeCount);
      if (pods.has(spec.name) || adding.has(spec.name)) {
        throw new Error(`cluster lab: pod '${spec.name}' exists already`);
      }
      const node = addresses.nodes[spec.node - 1]!;
      const host = nextHost.get(node.index)!;
      const { ip4, ip6 } = podAddresses(node.index, host);
      nextHost.set(node.index, host + 1);
      const index = ++podCounter;
      const netns = podNamespace(prefix, index);
      names.add(netns);
      const pod: ClusterPod = {
        name: spec.name,
        namespace: spec.namespace,
        node: node.index,
        nodeName: node.name,
        index,
        netns,
        hostVeth: podHostVeth(index),
        ip4,
        ip6,
      };
      adding.add(spec.name);
      try {
        await buildPod(step, { netns, nodeNetns: nodeNs(node.index), node, index, ip4, ip6 });
        await waitOperUp([
          [nodeNs(node.index), pod.hostVeth],
          [netns, CLUSTER_INTERFACES.podEth0],
        ]);
      } catch (error) {
        if ((await removeNamespaces([netns])).length === 0) names.delete(netns);
        throw error;
      } finally {
        adding.delete(spec.name);
      }
      pods.set(pod.name, pod);
      return pod;
    },
    async removePod(name) {
      const pod = lab.pod(name);
      await stopIn(pod.netns);
      const left = await removeNamespaces([pod.netns]);
      if (left.length > 0) throw new Error(`cluster lab: could not delete namespace ${pod.netns}`);
      names.delete(pod.netns);
      pods.delete(name);
      removeEtcNetns([pod.netns]);
      etcDirs.delete(pod.netns);
    },
    podManifests: () =>
      podManifestsYaml(
        [...pods.values()].map((pod) => ({
          ...pod,
          hostIP: addresses.nodes[pod.node - 1]!.node4,
        })),
      ),
    netns: resolve,
    exec: (ref, cmd, args = [], runOptions = {}) => execIn(resolve(ref), cmd, args, runOptions),
    execSync: (ref, cmd, args = [], runOptions = {}) =>
      runSync([IP, 'netns', 'exec', resolve(ref), cmd, ...args], runOptions),
    ip: (ref, args, runOptions = {}) => run([IP, '-n', resolve(ref), ...args], runOptions),
    async sysctl(ref, key, value) {
      await execIn(resolve(ref), SYSCTL, ['-q', '-w', `${key}=${value}`]);
    },
    async spawnIn(ref, cmd, args = [], spawnOptions = {}) {
      if (destroyed) throw new Error('cluster lab: spawnIn after destroy()');
      const netns = resolve(ref);
      const handle = await spawnIn(netns, cmd, args, spawnOptions);
      handles.set(handle, netns);
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
    async startDnsmasq(dnsOptions) {
      const where = dnsOptions.ns ?? 'out';
      resolve(where);
      const server = await startDnsmasq((cmd, args) => lab.spawnIn(where, cmd, args), {
        ...dnsOptions,
        label: resolve(where),
      });
      dnsServers.add(server);
      void server.process.exited.then(() => dnsServers.delete(server));
      return server;
    },
    dnsQuery: (ref, name, queryOptions) => dnsQueryIn(resolve(ref), name, queryOptions),
    async setResolvers(ref, servers) {
      const netns = resolve(ref);
      etcDirs.add(netns);
      writeNetnsResolvConf(netns, servers);
    },
    setNodeResolvers: (node, servers) => lab.setResolvers(nodeNs(node), servers),
    setSdnMasquerade: (node, enabled) => setMasquerade(step, nodeNs(node), addresses, enabled),
    async cutNode(node) {
      nodeNs(node);
      await step([IP, '-n', ns.sw, 'link', 'set', switchNodePort(node), 'down']);
    },
    async restoreNode(node) {
      const here = nodeNs(node);
      await step([IP, '-n', ns.sw, 'link', 'set', switchNodePort(node), 'up']);
      await waitOperUp([
        [ns.sw, switchNodePort(node)],
        [here, CLUSTER_INTERFACES.nodeUplink],
      ]);
    },
    async neighbours(ref = 'gw', neighbourOptions = {}) {
      const family = neighbourOptions.family === undefined ? [] : [`-${neighbourOptions.family}`];
      const dev = neighbourOptions.dev === undefined ? [] : ['dev', neighbourOptions.dev];
      const result = await run([IP, '-j', '-n', resolve(ref), ...family, 'neigh', 'show', ...dev]);
      return parseNeighbours(result.stdout);
    },
    processes: () => [...handles.keys()],
    destroy() {
      destroying ??= (async () => {
        destroyed = true;
        await stopIn(undefined);
        const left = await removeNamespaces([...names]);
        removeEtcNetns(etcDirs);
        etcDirs.clear();
        if (left.length > 0) {
          destroying = undefined; // a later call tries again; the exit handler stays
          throw new Error(`cluster lab: could not delete namespaces ${left.join(', ')}`);
        }
        names.clear();
        pods.clear();
        if (cleanupOnExit) process.off('exit', exitCleanup);
      })();
      return destroying;
    },
  };

  try {
    for (const name of fixed) {
      names.add(name);
      await addNamespace(step, name, name === ns.gw || ns.nodes.includes(name));
    }
    await buildSwitch(step, ns);
    await buildGatewayAndOutside(step, ns, addresses);
    for (const node of addresses.nodes)
      await buildNode(step, ns, addresses, node, options.sdnMasquerade ?? true);
    await waitOperUp([
      [ns.gw, CLUSTER_INTERFACES.gwNode],
      [ns.gw, CLUSTER_INTERFACES.gwOutside],
      [ns.out, CLUSTER_INTERFACES.outEth0],
      [ns.sw, SWITCH_GATEWAY_PORT],
      ...addresses.nodes.map((node) => [ns.sw, switchNodePort(node.index)] as const),
      ...ns.nodes.map((name) => [name, CLUSTER_INTERFACES.nodeUplink] as const),
    ]);
    for (const spec of options.pods ?? []) await lab.addPod(spec);
    await waitForAddresses([...names]);
  } catch (error) {
    try {
      await lab.destroy();
    } catch (cleanupError) {
      throw new AggregateError(
        [error, cleanupError],
        `createClusterLab failed and could not clean up: ${String(error)}`,
      );
    }
    throw error;
  }
  return lab;
}
