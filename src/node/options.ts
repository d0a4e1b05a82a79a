import { type IpRange, parseCanonicalCidr } from '../firewall/ip-range.js';

/** OpenShift 3.11's defaults (osm_cluster_network_cidr, openshift_portal_net). */
export const DEFAULT_CLUSTER_NETWORK = '10.128.0.0/14';
export const DEFAULT_SERVICE_NETWORK = '172.30.0.0/16';
/** /healthz, /readyz, /metrics and /status. */
export const DEFAULT_NODE_ADMIN_PORT = 9093;
export const DEFAULT_STATUS_FILE = '/run/egress-router/node-status.json';
/** How often the agent checks that its rules are still in the kernel (docs/node-agent.md). */
export const DEFAULT_VERIFY_INTERVAL_SECONDS = 10;
/** The directory source's path when none is named and no API server is found. */
export const DEFAULT_DIR_SOURCE = '/etc/egress-router/cluster';

/** Where the agent reads the cluster's objects. */
export type SourceSpec =
  | { readonly kind: 'dir'; readonly path: string }
  | {
      readonly kind: 'kubernetes';
      readonly kubeconfig?: string;
      /** Where the node Leases of automatic egress IPs are (docs/egress-ips.md). */
      readonly leaseNamespace: string;
    };

/** The node Leases' namespace when neither --lease-namespace nor POD_NAMESPACE names one. */
export const DEFAULT_LEASE_NAMESPACE = 'egress-router';

/** The agent's settings, validated. */
export interface NodeOptions {
  readonly nodeName: string;
  readonly source: SourceSpec;
  readonly clusterNetworks: readonly IpRange[];
  readonly serviceNetworks: readonly IpRange[];
  readonly clusterNetworkText: readonly string[];
  readonly serviceNetworkText: readonly string[];
  readonly adminPort: number;
  readonly statusFile: string;
  /** How often the kernel's rules are checked against the last transaction, in ms (0: never). */
  readonly verifyIntervalMs: number;
  readonly debug: boolean;
}

/** The settings as given: flags over the config file over the environment. */
export interface NodeOptionsInput {
  readonly source?: string;
  readonly kubeconfig?: string;
  readonly leaseNamespace?: string;
  readonly nodeName?: string;
  readonly clusterNetwork?: string;
  readonly serviceNetwork?: string;
  readonly adminPort?: string;
  readonly statusFile?: string;
  readonly verifyInterval?: string;
  readonly debug?: boolean;
}

export type NodeOptionsResult =
  | { readonly ok: true; readonly options: NodeOptions }
  | { readonly ok: false; readonly error: string };

/**
 * Validates the agent's settings. Pure.
 *
 * @param input flags (and the config file's values under them)
 * @param env `NODE_NAME` (the downward API's spec.nodeName), `KUBERNETES_SERVICE_HOST`, `KUBECONFIG`,
 *   `POD_NAMESPACE` (the downward API's metadata.namespace: the node Leases' namespace)
 * @returns the options, or the first problem as one line
 */
export function parseNodeOptions(input: NodeOptionsInput, env: NodeJS.ProcessEnv): NodeOptionsResult {
  const nodeName = input.nodeName ?? env.NODE_NAME;
  if (!nodeName)
    return {
      ok: false,
      error: 'node: no node name: set NODE_NAME (the downward API spec.nodeName) or --node-name',
    };
  let source: SourceSpec;
  const sourceText =
    input.source ??
    (env.KUBERNETES_SERVICE_HOST || env.KUBECONFIG ? 'kubernetes' : `dir:${DEFAULT_DIR_SOURCE}`);
  if (sourceText === 'kubernetes') {
    const leaseNamespace = input.leaseNamespace ?? env.POD_NAMESPACE ?? DEFAULT_LEASE_NAMESPACE;
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(leaseNamespace))
      return { ok: false, error: `node: --lease-namespace '${leaseNamespace}' is not a namespace name` };
    source = {
      kind: 'kubernetes',
      ...(input.kubeconfig ? { kubeconfig: input.kubeconfig } : {}),
      leaseNamespace,
    };
  } else if (sourceText.startsWith('dir:') && sourceText.length > 4)
    source = { kind: 'dir', path: sourceText.slice(4) };
  else return { ok: false, error: `node: --source '${sourceText}' is invalid: 'dir:PATH' or 'kubernetes'` };
  const cluster = parseNetworks('--cluster-network', input.clusterNetwork ?? DEFAULT_CLUSTER_NETWORK);
  if (!cluster.ok) return cluster;
  const service = parseNetworks('--service-network', input.serviceNetwork ?? DEFAULT_SERVICE_NETWORK);
  if (!service.ok) return service;
  const portText = input.adminPort ?? String(DEFAULT_NODE_ADMIN_PORT);
  const adminPort = Number(portText);
  if (!/^[0-9]+$/.test(portText) || adminPort > 65535) {
    return { ok: false, error: `node: --admin-port '${portText}' is invalid: a port from 0 to 65535` };
  }
  const verifyText = input.verifyInterval ?? String(DEFAULT_VERIFY_INTERVAL_SECONDS);
  const verifySeconds = Number(verifyText);
  if (
    !/^[0-9]+(\.[0-9]+)?$/.test(verifyText) ||
    verifySeconds > 3600 ||
    (verifySeconds > 0 && verifySeconds < 0.1)
  ) {
    return {
      ok: false,
      error: `node: --verify-interval '${verifyText}' is invalid: seconds from 0.1 to 3600, or 0 (never)`,
    };
  }
  return {
    ok: true,
    options: {
      nodeName,
      source,
      clusterNetworks: cluster.ranges,
      serviceNetworks: service.ranges,
      clusterNetworkText: cluster.texts,
      serviceNetworkText: service.texts,
      adminPort,
      statusFile: input.statusFile ?? DEFAULT_STATUS_FILE,
      verifyIntervalMs: Math.round(verifySeconds * 1000),
      debug: input.debug === true,
    },
  };
}

function parseNetworks(
  flag: string,
  text: string,
): { ok: true; ranges: IpRange[]; texts: string[] } | { ok: false; error: string } {
  const ranges: IpRange[] = [];
  const texts: string[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const parsed = parseCanonicalCidr(part);
    if (!parsed.ok) {
      const why =
        parsed.reason === 'noncanonical'
          ? `not a network address (did you mean ${parsed.canonical}?)`
          : 'not a CIDR';
      return { ok: false, error: `node: ${flag} '${part}' is invalid: ${why}` };
    }
    ranges.push(parsed.range);
    texts.push(parsed.text);
  }
  return { ok: true, ranges, texts };
}
