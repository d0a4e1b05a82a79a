/**
 * The steps that build the cluster lab's namespaces, links, addresses and routes: the imperative
 * part of createClusterLab, one function per piece of the topology. Every link is made directly
 * inside its namespaces (`ip -n`), so nothing ever appears in the host's namespace.
 *
 * @module
 */
import {
  type ClusterLabAddresses,
  type ClusterNamespaces,
  type ClusterNodeAddresses,
  CLUSTER_INTERFACES as I,
  podHostVeth,
  SWITCH_GATEWAY_PORT,
  switchNodePort,
} from './cluster-addresses.js';
import { sdnRemoval, sdnRuleset } from './cluster-sdn.js';
import { type RunOptions, type RunResult, run } from './process.js';

const IP = 'ip';
const SYSCTL = 'sysctl';
const NFT = 'nft';

/** Runs one command of the set-up (the lab logs it first). */
export type Step = (argv: readonly string[], options?: RunOptions) => Promise<RunResult>;

/** A pod to build: where, its namespace, its addresses. */
export interface PodBuild {
  /** Its network namespace, `<p>-p<k>`. */
  readonly netns: string;
  /** Its node's namespace. */
  readonly nodeNetns: string;
  readonly node: ClusterNodeAddresses;
  /** The pod's number k. */
  readonly index: number;
  readonly ip4: string;
  readonly ip6: string;
}

/**
 * The sysctls every lab namespace gets, set explicitly: a new namespace copies the host's IPv4
 * `all`/`default` settings (and, with devconf_inherit_init_net, its IPv6 ones), so nothing is left
 * to the host. Forwarding on in nodes and the gateway only; no reverse-path filter; DAD and router
 * advertisements off, so that addresses are usable at once and nothing configures itself.
 *
 * @param forward whether the namespace routes
 * @returns `key=value` arguments for `sysctl -w`
 */
export function namespaceSysctls(forward: boolean): string[] {
  const f = forward ? 1 : 0;
  return [
    `net.ipv4.ip_forward=${f}`,
    `net.ipv6.conf.all.forwarding=${f}`,
    'net.ipv4.conf.all.rp_filter=0',
    'net.ipv4.conf.default.rp_filter=0',
    'net.ipv6.conf.all.disable_ipv6=0',
    'net.ipv6.conf.default.disable_ipv6=0',
    'net.ipv6.conf.all.accept_dad=0',
    'net.ipv6.conf.default.accept_dad=0',
    'net.ipv6.conf.all.accept_ra=0',
    'net.ipv6.conf.default.accept_ra=0',
  ];
}

/**
 * Set only where br_netfilter is loaded (the keys exist then): bridged frames (pod to pod on one
 * node, node to node on the switch) skip the namespace's IP hooks, as on openshift-sdn's OVS bridge.
 */
export const BRIDGE_NETFILTER_SYSCTLS = [
  'net.bridge.bridge-nf-call-iptables=0',
  'net.bridge.bridge-nf-call-ip6tables=0',
  'net.bridge.bridge-nf-call-arptables=0',
];

/**
 * Creates a namespace with its sysctls and loopback up.
 *
 * @param step runs the commands
 * @param name the namespace
 * @param forward whether it routes
 */
export async function addNamespace(step: Step, name: string, forward: boolean): Promise<void> {
  await step([IP, 'netns', 'add', name]);
  await step([IP, 'netns', 'exec', name, SYSCTL, '-q', '-w', ...namespaceSysctls(forward)]);
  await step([IP, 'netns', 'exec', name, SYSCTL, '-q', '-e', '-w', ...BRIDGE_NETFILTER_SYSCTLS]);
  await step([IP, '-n', name, 'link', 'set', 'lo', 'up']);
}

/** A bridge with a fixed MAC (so it never changes as ports come and go), no STP, no snooping. */
async function addBridge(step: Step, ns: string, name: string, mac: string): Promise<void> {
  const options = ['stp_state', '0', 'mcast_snooping', '0'];
  await step([IP, '-n', ns, 'link', 'add', name, 'address', mac, 'type', 'bridge', ...options]);
  await step([IP, '-n', ns, 'link', 'set', name, 'up']);
}

/** A veth whose first end is a port of br0 in the switch and whose peer is in another namespace. */
async function addSwitchPort(
  step: Step,
  ns: ClusterNamespaces,
  port: string,
  peerNs: string,
  peer: string,
  mac: string,
): Promise<void> {
  await step([IP, '-n', ns.sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', peer, 'netns', peerNs]);
  await step([IP, '-n', peerNs, 'link', 'set', peer, 'address', mac]);
  await step([IP, '-n', ns.sw, 'link', 'set', port, 'master', I.switchBridge]);
  await step([IP, '-n', ns.sw, 'link', 'set', port, 'up']);
}

function addAddress(step: Step, ns: string, dev: string, cidr: string): Promise<RunResult> {
  const v6 = cidr.includes(':');
  return step([
    IP,
    '-n',
    ns,
    ...(v6 ? ['-6'] : []),
    'address',
    'add',
    cidr,
    'dev',
    dev,
    ...(v6 ? ['nodad'] : []),
  ]);
}

function addRoute(step: Step, ns: string, to: string, via: string, dev: string): Promise<RunResult> {
  const v6 = via.includes(':');
  return step([IP, '-n', ns, ...(v6 ? ['-6'] : []), 'route', 'add', to, 'via', via, 'dev', dev]);
}

function prefixLength(cidr: string): string {
  return cidr.slice(cidr.indexOf('/') + 1);
}

/**
 * The switch: bridge br0 in `<p>-sw`, the node network.
 *
 * @param step runs the commands
 * @param ns the lab's namespaces
 */
export async function buildSwitch(step: Step, ns: ClusterNamespaces): Promise<void> {
  await addBridge(step, ns.sw, I.switchBridge, '02:ec:50:00:00:fe');
}

/**
 * The gateway on the switch and the outside behind it: addresses, the outside's default routes.
 * The gateway has connected routes only: no route to the cluster network.
 *
 * @param step runs the commands
 * @param ns the lab's namespaces
 * @param a the lab's addresses
 */
export async function buildGatewayAndOutside(
  step: Step,
  ns: ClusterNamespaces,
  a: ClusterLabAddresses,
): Promise<void> {
  await addSwitchPort(step, ns, SWITCH_GATEWAY_PORT, ns.gw, I.gwNode, a.gatewayMac);
  await step([
    IP,
    '-n',
    ns.out,
    'link',
    'add',
    I.outEth0,
    'type',
    'veth',
    'peer',
    'name',
    I.gwOutside,
    'netns',
    ns.gw,
  ]);
  await addAddress(step, ns.gw, I.gwNode, `${a.gateway4}/${prefixLength(a.nodeNetwork4)}`);
  await addAddress(step, ns.gw, I.gwNode, `${a.gateway6}/${prefixLength(a.nodeNetwork6)}`);
  await addAddress(step, ns.gw, I.gwOutside, `${a.outsideGateway4}/${prefixLength(a.outsideNetwork4)}`);
  await addAddress(step, ns.gw, I.gwOutside, `${a.outsideGateway6}/${prefixLength(a.outsideNetwork6)}`);
  for (const address of a.outside4) {
    await addAddress(step, ns.out, I.outEth0, `${address}/${prefixLength(a.outsideNetwork4)}`);
  }
  for (const address of a.outside6) {
    await addAddress(step, ns.out, I.outEth0, `${address}/${prefixLength(a.outsideNetwork6)}`);
  }
  for (const [where, dev] of [
    [ns.gw, I.gwNode],
    [ns.gw, I.gwOutside],
    [ns.out, I.outEth0],
  ] as const) {
    await step([IP, '-n', where, 'link', 'set', dev, 'up']);
  }
  await addRoute(step, ns.out, 'default', a.outsideGateway4, I.outEth0);
  await addRoute(step, ns.out, 'default', a.outsideGateway6, I.outEth0);
}

/**
 * One node: eth0 on the switch, cbr0 with the pod subnets' gateways, the default routes through
 * the gateway, a route to every other node's pod subnets through that node (host-gw), and the SDN's
 * masquerade unless told not to.
 *
 * @param step runs the commands
 * @param ns the lab's namespaces
 * @param a the lab's addresses
 * @param node the node to build
 * @param masquerade whether to install the lab's SDN table
 */
export async function buildNode(
  step: Step,
  ns: ClusterNamespaces,
  a: ClusterLabAddresses,
  node: ClusterNodeAddresses,
  masquerade: boolean,
): Promise<void> {
  const here = ns.nodes[node.index - 1]!;
  await addSwitchPort(step, ns, switchNodePort(node.index), here, I.nodeUplink, node.mac);
  await addAddress(step, here, I.nodeUplink, `${node.node4}/${prefixLength(a.nodeNetwork4)}`);
  await addAddress(step, here, I.nodeUplink, `${node.node6}/${prefixLength(a.nodeNetwork6)}`);
  await step([IP, '-n', here, 'link', 'set', I.nodeUplink, 'up']);
  await addBridge(step, here, I.podBridge, `02:ec:28:00:00:${String(node.index).padStart(2, '0')}`);
  await addAddress(step, here, I.podBridge, `${node.podGateway4}/${prefixLength(node.podSubnet4)}`);
  await addAddress(step, here, I.podBridge, `${node.podGateway6}/${prefixLength(node.podSubnet6)}`);
  await addRoute(step, here, 'default', a.gateway4, I.nodeUplink);
  await addRoute(step, here, 'default', a.gateway6, I.nodeUplink);
  for (const other of a.nodes) {
    if (other.index === node.index) continue;
    await addRoute(step, here, other.podSubnet4, other.node4, I.nodeUplink);
    await addRoute(step, here, other.podSubnet6, other.node6, I.nodeUplink);
  }
  if (masquerade) await setMasquerade(step, here, a, true);
}

/**
 * Installs (replacing it) or removes the lab's SDN table in a node.
 *
 * @param step runs the commands
 * @param nodeNetns the node's namespace
 * @param a the lab's addresses
 * @param enabled install when true, remove when false
 */
export async function setMasquerade(
  step: Step,
  nodeNetns: string,
  a: ClusterLabAddresses,
  enabled: boolean,
): Promise<void> {
  const script = enabled ? sdnRuleset(a, I.nodeUplink) : sdnRemoval();
  await step([IP, 'netns', 'exec', nodeNetns, NFT, '-f', '-'], { input: script });
}

/**
 * One pod: its namespace, a veth from its node's cbr0, its addresses and default routes through
 * the pod subnet's gateways.
 *
 * @param step runs the commands
 * @param pod what to build
 */
export async function buildPod(step: Step, pod: PodBuild): Promise<void> {
  const veth = podHostVeth(pod.index);
  await addNamespace(step, pod.netns, false);
  await step([
    IP,
    '-n',
    pod.nodeNetns,
    'link',
    'add',
    veth,
    'type',
    'veth',
    'peer',
    'name',
    I.podEth0,
    'netns',
    pod.netns,
  ]);
  await step([IP, '-n', pod.nodeNetns, 'link', 'set', veth, 'master', I.podBridge]);
  await step([IP, '-n', pod.nodeNetns, 'link', 'set', veth, 'up']);
  await addAddress(step, pod.netns, I.podEth0, `${pod.ip4}/${prefixLength(pod.node.podSubnet4)}`);
  await addAddress(step, pod.netns, I.podEth0, `${pod.ip6}/${prefixLength(pod.node.podSubnet6)}`);
  await step([IP, '-n', pod.netns, 'link', 'set', I.podEth0, 'up']);
  await addRoute(step, pod.netns, 'default', pod.node.podGateway4, I.podEth0);
  await addRoute(step, pod.netns, 'default', pod.node.podGateway6, I.podEth0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until interfaces are operationally UP: only then has the kernel activated their queues
 * (linkwatch runs up to a second after the carrier comes), and packets sent before are dropped.
 *
 * @param links each namespace with the interfaces to wait for
 * @param timeoutMs how long to wait (default 5 000 ms)
 * @throws Error naming the first interface that is not UP in time
 */
export async function waitOperUp(
  links: readonly (readonly [string, string])[],
  timeoutMs = 5_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (const [ns, dev] of links) {
    for (;;) {
      const result = await run([IP, '-j', '-n', ns, 'link', 'show', 'dev', dev], { check: false });
      const state =
        result.code === 0 ? (JSON.parse(result.stdout) as { operstate?: string }[])[0]?.operstate : undefined;
      if (state === 'UP') break;
      if (Date.now() > end)
        throw new Error(
          `cluster lab: ${dev} in ${ns} is ${state ?? 'missing'}, not UP, after ${timeoutMs} ms`,
        );
      await sleep(25);
    }
  }
}
