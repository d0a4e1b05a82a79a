/**
 * What the node agent's manifests must agree with: its documented command line, the kinds it reads
 * (and so the API resources its RBAC must cover), and its defaults.
 */
import { isIP } from 'node:net';
import { CLUSTER_KINDS, type ClusterKind, NETWORK_API_VERSION } from '../../src/cluster/types.js';
import type { ExampleDoc, Yaml } from './_examples.js';

/**
 * The options of `egress-router node` as its specification documents them (docs/node-agent.md;
 * written down here while the command was being built, so that the manifests are checked without
 * it; the tests also check them against `egress-router node --help` and the agent's own parser
 * when those are built). `true`: the option takes a value.
 */
export const NODE_AGENT_OPTIONS: Readonly<Record<string, boolean>> = {
  '--source': true, // dir:PATH | kubernetes
  '--kubeconfig': true,
  '--node-name': true,
  '--cluster-network': true, // CIDR[,CIDR...]
  '--service-network': true, // CIDR[,CIDR...]
  '--config': true,
  '--admin-port': true,
  '--status-file': true,
  '--debug': false,
};

/** The admin server's port when `--admin-port` is not given (/healthz, /readyz, /metrics, /status). */
export const DEFAULT_ADMIN_PORT = 9093;
/** Where the agent writes its status unless `--status-file` says otherwise. */
export const DEFAULT_STATUS_FILE = '/run/egress-router/node-status.json';

/** A command line of `egress-router node`, read: its options by name (`''` for a switch), or why it is not one. */
export type NodeArgs = { ok: true; options: Map<string, string> } | { ok: false; error: string };

/**
 * Reads a container's args as `egress-router node` would: `node`, then documented options, each
 * with its value (`--flag value` or `--flag=value`), each at most once. Pure.
 *
 * @param args the container's args (after the image's entrypoint)
 * @returns the options, or the first problem
 */
export function readNodeArgs(args: readonly unknown[]): NodeArgs {
  if (args[0] !== 'node') return { ok: false, error: `the first argument is ${String(args[0])}, not node` };
  const options = new Map<string, string>();
  for (let i = 1; i < args.length; i++) {
    const arg = String(args[i]);
    const [name = '', inline] = arg.split(/=(.*)/s, 2);
    const takesValue = NODE_AGENT_OPTIONS[name];
    if (takesValue === undefined) return { ok: false, error: `${arg}: not an option of egress-router node` };
    if (options.has(name)) return { ok: false, error: `${name} given twice` };
    if (!takesValue && inline !== undefined) return { ok: false, error: `${name} takes no value` };
    const value = inline ?? (takesValue ? args[++i] : '');
    if (value === undefined) return { ok: false, error: `${name} without a value` };
    options.set(name, String(value));
  }
  return { ok: true, options };
}

/**
 * Why a comma-separated list of CIDRs is not what `--cluster-network` / `--service-network` take:
 * IPv4 or IPv6 networks, canonical (no host bits set), at least one.
 *
 * @param text the option's value
 * @returns the problem, or undefined when every entry is a canonical CIDR
 */
export function cidrListProblem(text: string): string | undefined {
  const entries = text.split(',');
  for (const entry of entries) {
    const [address = '', prefixText = '', ...rest] = entry.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const prefix = Number(prefixText);
    if (family === 0 || rest.length > 0 || !/^\d+$/.test(prefixText) || prefix > bits)
      return `${entry}: not a CIDR`;
    const value = family === 4 ? ipv4Value(address) : ipv6Value(address);
    if (value & ((1n << BigInt(bits - prefix)) - 1n)) return `${entry}: host bits set (not canonical)`;
  }
  return undefined;
}

function ipv4Value(address: string): bigint {
  return address.split('.').reduce((value, part) => (value << 8n) | BigInt(part), 0n);
}

function ipv6Value(address: string): bigint {
  const [head = '', tail] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [
    ...headGroups,
    ...Array(8 - headGroups.length - tailGroups.length).fill('0'),
    ...tailGroups,
  ];
  return groups.reduce((value, group) => (value << 16n) | BigInt(`0x${group}`), 0n);
}

/** An API resource: what RBAC rules name. */
export interface ApiResource {
  readonly group: string;
  readonly resource: string;
}

/**
 * The API resources of the kinds the agent reads (src/cluster's CLUSTER_KINDS): the core ones, and
 * the network.openshift.io ones as the CRDs name them (their plurals).
 *
 * @param crds the CustomResourceDefinitions of the examples
 * @returns each kind the agent reads with its resource
 * @throws when a kind the agent reads has neither a core resource nor a CRD
 */
export function agentResources(crds: readonly ExampleDoc[]): Map<ClusterKind, ApiResource> {
  const core: Partial<Record<ClusterKind, string>> = { Namespace: 'namespaces', Pod: 'pods' };
  const group = NETWORK_API_VERSION.split('/')[0]!;
  return new Map(
    CLUSTER_KINDS.map((kind) => {
      const plural = core[kind];
      if (plural !== undefined) return [kind, { group: '', resource: plural }];
      const crd = crds.find((d) => d.object.spec?.names?.kind === kind && d.object.spec?.group === group);
      if (crd === undefined) throw new Error(`the agent reads ${kind}: no core resource, no CRD`);
      return [kind, { group, resource: crd.object.spec.names.plural as string }];
    }),
  );
}

/** The one container of a node agent DaemonSet. */
export function agentContainer(daemonSet: Yaml): Yaml {
  const containers = daemonSet.spec.template.spec.containers as Yaml[];
  if (containers.length !== 1) throw new Error(`${daemonSet.metadata.name}: ${containers.length} containers`);
  return containers[0];
}

/**
 * A probe's port as a number: a number, or the name of a port of the container.
 *
 * @throws for a name the container has no port for
 */
export function probePort(container: Yaml, port: number | string): number {
  if (typeof port === 'number') return port;
  const named = (container.ports ?? []).find((p: { name?: string }) => p.name === port);
  if (named === undefined) throw new Error(`probe port ${port}: no such port`);
  return named.containerPort;
}
