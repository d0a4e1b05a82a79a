/**
 * The cluster lab's types: what createClusterLab takes and what the lab it returns can do.
 *
 * @module
 */
import type { CLUSTER_INTERFACES, ClusterLabAddresses, ClusterNamespaces } from './cluster-addresses.js';
import type { DnsQueryOptions, DnsQueryResult } from './cluster-dns.js';
import type { DnsmasqHandle, DnsmasqOptions } from './dnsmasq.js';
import type { RequestResult } from './echo-protocol.js';
import type { EchoPorts } from './lab.js';
import type { Neighbour } from './neighbours.js';
import type { ProcessHandle, RunOptions, RunResult, SpawnGroupOptions } from './process.js';

/**
 * A namespace of the lab: `'sw'`, `'gw'`, `'out'`, a node by number (`1`) or as `'n1'`, a pod by
 * name (`'a1'`) or as `'p<k>'`, or a lab namespace's full name. Anything else is refused, so that nothing runs in
 * the host's namespace by mistake.
 */
export type ClusterRef = 'sw' | 'gw' | 'out' | number | (string & {});

/** A pod to add: its name (unique in the lab), its Kubernetes namespace, and its node. */
export interface ClusterPodSpec {
  readonly name: string;
  readonly namespace: string;
  /** The node's number, from 1. */
  readonly node: number;
}

/** A pod of the lab. */
export interface ClusterPod {
  readonly name: string;
  readonly namespace: string;
  readonly node: number;
  /** `node<i>`. */
  readonly nodeName: string;
  /** The pod's number k: its namespace is `<p>-p<k>`. */
  readonly index: number;
  /** Its network namespace. */
  readonly netns: string;
  /** Its node's end of its veth (a port of cbr0). */
  readonly hostVeth: string;
  readonly ip4: string;
  readonly ip6: string;
}

/** Options of {@link createClusterLab}. */
export interface ClusterLabOptions {
  /** Every namespace is `<prefix>-<role>`; letters, digits, `_`, a letter first, ≤ 20. Default `ec<pid>`. */
  readonly prefix?: string;
  /** How many nodes (default 3, at most 16). */
  readonly nodes?: number;
  /** The pods to start with. */
  readonly pods?: readonly ClusterPodSpec[];
  /** Outside addresses beyond .25-.27 (default 0, at most 200). */
  readonly extraOutsideAddresses?: number;
  /** Install the SDN's masquerade (table `inet lab_sdn`) in every node (default true). */
  readonly sdnMasquerade?: boolean;
  /**
   * Remove everything and kill the lab's processes when this process exits without having called
   * `destroy()` (default true). Signals are not handled: the caller's own handlers decide.
   */
  readonly cleanupOnExit?: boolean;
  /** Told every set-up command before it runs. */
  readonly log?: (line: string) => void;
}

/** Options of {@link ClusterLab.startEcho}. */
export interface ClusterEchoOptions {
  /** Where to run it (default the outside namespace). */
  readonly ns?: ClusterRef;
  /** How long to wait for `ready` (default 5 000 ms). */
  readonly timeoutMs?: number;
}

/** Options of {@link ClusterLab.startDnsmasq}. */
export interface ClusterDnsmasqOptions extends DnsmasqOptions {
  /** Where to run it (default the outside namespace); `listen` must be an address there. */
  readonly ns?: ClusterRef;
}

/** A built cluster lab. Every method that takes a namespace takes a {@link ClusterRef}. */
export interface ClusterLab {
  readonly prefix: string;
  readonly ns: ClusterNamespaces;
  readonly interfaces: typeof CLUSTER_INTERFACES;
  readonly addresses: ClusterLabAddresses;
  /** `node1`, `node2`, ...: the NODE_NAME of the agent on each node. */
  readonly nodeNames: readonly string[];
  /** The lab's pods, in the order they were added. */
  pods(): readonly ClusterPod[];
  /** A pod by name. @throws Error when there is none */
  pod(name: string): ClusterPod;
  /** Adds a pod on a running lab, with the next free addresses of its node. */
  addPod(spec: ClusterPodSpec): Promise<ClusterPod>;
  /** Stops the pod's processes and deletes its namespace (its veth goes with it). */
  removePod(name: string): Promise<void>;
  /** The pods as Namespace and Pod manifests (YAML), for the node agent's directory source. */
  podManifests(): string;
  /** The namespace's full name. @throws Error for a reference that is not the lab's */
  netns(ref: ClusterRef): string;
  /** Runs `cmd args` in a namespace (`ip netns exec`); throws CommandError on failure unless `check: false`. */
  exec(ref: ClusterRef, cmd: string, args?: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** {@link ClusterLab.exec}, blocking. */
  execSync(ref: ClusterRef, cmd: string, args?: readonly string[], options?: RunOptions): RunResult;
  /** Runs `ip -n <ns> args`. */
  ip(ref: ClusterRef, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Sets a sysctl in a namespace. */
  sysctl(ref: ClusterRef, key: string, value: string | number): Promise<void>;
  /** Starts a long-running process in a namespace, in its own process group; destroy() stops it. */
  spawnIn(
    ref: ClusterRef,
    cmd: string,
    args?: readonly string[],
    options?: SpawnGroupOptions,
  ): Promise<ProcessHandle>;
  /** Starts the echo server (default in the outside namespace) and waits until it is ready. */
  startEcho(ports: EchoPorts, options?: ClusterEchoOptions): Promise<ProcessHandle>;
  /** One TCP request to the echo server from a namespace (a pod, usually). */
  tcpRequest(from: ClusterRef, host: string, port: number, timeoutMs?: number): Promise<RequestResult>;
  /** One UDP request to the echo server from a namespace. */
  udpRequest(from: ClusterRef, host: string, port: number, timeoutMs?: number): Promise<RequestResult>;
  /** Starts dnsmasq (default in the outside namespace) with the given records; destroy() stops it. */
  startDnsmasq(options: ClusterDnsmasqOptions): Promise<DnsmasqHandle>;
  /** One DNS query from a namespace, with Node's resolver. */
  dnsQuery(from: ClusterRef, name: string, options?: DnsQueryOptions): Promise<DnsQueryResult>;
  /**
   * Writes `/etc/netns/<ns>/resolv.conf` (in place, so a process that started after the first
   * write sees later ones too): a process started in the namespace reads it as /etc/resolv.conf.
   */
  setResolvers(ref: ClusterRef, servers: readonly string[]): Promise<void>;
  /** {@link ClusterLab.setResolvers} for node i: how the node agent's resolver is pointed at dnsmasq. */
  setNodeResolvers(node: number, servers: readonly string[]): Promise<void>;
  /** Installs (replacing it) or removes the SDN's masquerade table in node i. */
  setSdnMasquerade(node: number, enabled: boolean): Promise<void>;
  /** Cuts node i off the node network: its switch port goes down (the node sees no carrier). */
  cutNode(node: number): Promise<void>;
  /** Brings node i's switch port back up and waits until both ends are UP. */
  restoreNode(node: number): Promise<void>;
  /** A namespace's neighbour table (default the gateway's), both families unless one is given. */
  neighbours(
    ref?: ClusterRef,
    options?: { readonly family?: 4 | 6; readonly dev?: string },
  ): Promise<Neighbour[]>;
  /** The processes started with spawnIn/startEcho/startDnsmasq that are still running. */
  processes(): readonly ProcessHandle[];
  /**
   * Stops every process, deletes every namespace and /etc/netns entry of the lab. Idempotent.
   *
   * @throws when a namespace could not be deleted (a later call tries again)
   */
  destroy(): Promise<void>;
}
