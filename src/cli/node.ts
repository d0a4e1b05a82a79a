import { readFileSync } from 'node:fs';
import { parseCommandArgs } from './args.js';
import { ExitError } from './exit-error.js';

export const NODE_HELP = `Usage: egress-router node [options]
       egress-router node status [--admin-port PORT] [--json]
       egress-router node remove

The node agent (a DaemonSet, host network, NET_ADMIN): enforces the egress firewall
(EgressNetworkPolicy) of this node's pods in its own nftables table, inet egress_router_node, one
atomic transaction per change. SIGTERM leaves the rules in place; 'node remove' deletes them.
See docs/node-agent.md.

Options:
  --source SOURCE            dir:PATH (a directory of manifests, followed live) or kubernetes
                             (default: kubernetes in a cluster or with KUBECONFIG, else
                             dir:/etc/egress-router/cluster)
  --kubeconfig PATH          with --source kubernetes (default: in-cluster, then KUBECONFIG)
  --lease-namespace NS       with --source kubernetes: where the node Leases of automatic egress
                             IPs are (default: POD_NAMESPACE, else egress-router)
  --node-name NAME           this node (default: NODE_NAME, the downward API's spec.nodeName)
  --cluster-network CIDRS    the pod networks, comma-separated (default 10.128.0.0/14)
  --service-network CIDRS    the service networks (default 172.30.0.0/16)
  --config FILE              YAML or JSON with any of: source, kubeconfig, nodeName,
                             clusterNetwork, serviceNetwork, adminPort, statusFile,
                             verifyInterval (flags win)
  --admin-port PORT          /healthz, /readyz, /metrics, /status (default 9093; 0: none)
  --status-file PATH         written after every reconcile (default /run/egress-router/node-status.json)
  --verify-interval SECONDS  how often the rules in the kernel are checked (the table also when
                             the ruleset changed); what someone else removed is restored
                             (default 10; 0: never)
  --debug                    log every DNS lookup

Subcommands:
  status   print the agent's status: each namespace's firewall state and why, per-rule counters,
           dnsNames and their addresses, objects left out (from the admin port, else the status file)
  remove   delete the agent's nftables table, admin chain included (stop the agent first)
`;

const FLAGS = {
  source: { type: 'string' },
  kubeconfig: { type: 'string' },
  'lease-namespace': { type: 'string' },
  'node-name': { type: 'string' },
  'cluster-network': { type: 'string' },
  'service-network': { type: 'string' },
  config: { type: 'string' },
  'admin-port': { type: 'string' },
  'status-file': { type: 'string' },
  'verify-interval': { type: 'string' },
  debug: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/**
 * \`egress-router node\`: runs the agent until SIGTERM or SIGINT; \`node status\`, \`node remove\`.
 *
 * @param args the arguments after \`node\`
 * @param env the environment (NODE_NAME, KUBECONFIG, KUBERNETES_SERVICE_HOST)
 * @param stdout where help, status and the logs go
 * @throws ExitError with one line on bad options, an unreadable source, or nft failing
 */
export async function runNode(
  args: string[],
  env: NodeJS.ProcessEnv,
  stdout: NodeJS.WritableStream,
): Promise<void> {
  const { values, positionals } = parseCommandArgs('node', args, FLAGS, 1);
  if (values.help) {
    stdout.write(NODE_HELP);
    return;
  }
  const [sub] = positionals;
  if (sub === 'remove') return removeTable(stdout);
  const config = values.config ? await readConfig(values.config) : {};
  const { parseNodeOptions, DEFAULT_NODE_ADMIN_PORT, DEFAULT_STATUS_FILE } = await import(
    '../node/options.js'
  );
  if (sub === 'status') {
    const { readNodeStatus } = await import('../node/read-status.js');
    const port = Number(values['admin-port'] ?? config.adminPort ?? DEFAULT_NODE_ADMIN_PORT);
    const status = await readNodeStatus(
      port,
      values['status-file'] ?? config.statusFile ?? DEFAULT_STATUS_FILE,
    );
    if (values.json) {
      stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    } else {
      const { formatStatus } = await import('../node/status.js');
      stdout.write(formatStatus(status));
    }
    return;
  }
  if (sub !== undefined)
    throw new ExitError(`node: unknown subcommand '${sub}' (see 'egress-router node --help')`);
  const parsed = parseNodeOptions(
    {
      source: values.source ?? config.source,
      kubeconfig: values.kubeconfig ?? config.kubeconfig,
      leaseNamespace: values['lease-namespace'] ?? config.leaseNamespace,
      nodeName: values['node-name'] ?? config.nodeName,
      clusterNetwork: values['cluster-network'] ?? config.clusterNetwork,
      serviceNetwork: values['service-network'] ?? config.serviceNetwork,
      adminPort: values['admin-port'] ?? config.adminPort,
      statusFile: values['status-file'] ?? config.statusFile,
      verifyInterval: values['verify-interval'] ?? config.verifyInterval,
      debug: values.debug,
    },
    env,
  );
  if (!parsed.ok) throw new ExitError(parsed.error);
  const { runNodeAgent } = await import('../node/run.js');
  await runNodeAgent(parsed.options, stdout);
}

type NodeConfig = Partial<
  Record<
    | 'source'
    | 'kubeconfig'
    | 'leaseNamespace'
    | 'nodeName'
    | 'clusterNetwork'
    | 'serviceNetwork'
    | 'adminPort'
    | 'statusFile'
    | 'verifyInterval',
    string
  >
>;

/** The config file: YAML or JSON, a mapping of the flags' camelCase names; lists become commas. */
async function readConfig(path: string): Promise<NodeConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ExitError(
      `node: cannot read --config '${path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  let raw: unknown;
  try {
    const { parse } = await import('yaml');
    raw = parse(text);
  } catch (error) {
    throw new ExitError(`node: --config '${path}' is not YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ExitError(`node: --config '${path}' is not a mapping`);
  const known = [
    'source',
    'kubeconfig',
    'leaseNamespace',
    'nodeName',
    'clusterNetwork',
    'serviceNetwork',
    'adminPort',
    'statusFile',
    'verifyInterval',
  ];
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!known.includes(key))
      throw new ExitError(`node: --config '${path}': unknown key '${key}' (known: ${known.join(', ')})`);
    out[key] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return out;
}

async function removeTable(stdout: NodeJS.WritableStream): Promise<void> {
  const [{ applyRuleset, NftError }, { NODE_TABLE }, { readExistingTable }] = await Promise.all([
    import('../nat/apply.js'),
    import('../firewall/ruleset.js'),
    import('../firewall/apply.js'),
  ]);
  try {
    const existing = await readExistingTable();
    if (existing.chains.size === 0 && existing.sets.size === 0) {
      stdout.write(`no table ${NODE_TABLE.family} ${NODE_TABLE.name}: nothing to remove\n`);
      return;
    }
    await applyRuleset({
      nftables: [{ delete: { table: { family: NODE_TABLE.family, name: NODE_TABLE.name } } }],
    });
  } catch (error) {
    if (error instanceof NftError) throw new ExitError(`node remove: ${error.message}`);
    throw error;
  }
  stdout.write(
    `removed table ${NODE_TABLE.family} ${NODE_TABLE.name} (the egress firewall and the admin chain)\n`,
  );
  await removeOverlay(stdout);
}

/** The egress IP overlay's device (its routes and neighbours go with it), when there is one. */
async function removeOverlay(stdout: NodeJS.WritableStream): Promise<void> {
  const [{ withNetlink }, { linkByName }, { deleteLink }, { OVERLAY }, { LinkNotFoundError }] =
    await Promise.all([
      import('../network/handle.js'),
      import('../network/links.js'),
      import('../network/lab.js'),
      import('../egress-ip/overlay-plan.js'),
      import('../network/errors.js'),
    ]);
  const removed = await withNetlink(async (handle) => {
    try {
      await deleteLink(handle, (await linkByName(handle, OVERLAY.device)).index);
      return true;
    } catch (error) {
      if (error instanceof LinkNotFoundError) return false;
      throw error;
    }
  });
  if (removed) stdout.write(`removed the egress IP overlay device ${OVERLAY.device} (and its routes)\n`);
}
