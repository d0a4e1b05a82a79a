import { ExitError } from '../cli/exit-error.js';
import type { KubernetesApi } from '../cluster/kubernetes-api.js';
import type { ObjectSource } from '../cluster/types.js';
import type { Logger } from '../runtime/logger.js';
import type { NodeOptions } from './options.js';

/**
 * Runs the node agent until SIGTERM or SIGINT: its source, the agent, the admin endpoints. On a
 * signal it stops following the cluster and leaves the rules in place, so the datapath stays as it
 * is while the agent restarts.
 *
 * @param options validated settings
 * @param stdout where the log lines go
 * @throws ExitError when the source's first list fails or the admin port cannot be listened on
 */
export async function runNodeAgent(options: NodeOptions, stdout: NodeJS.WritableStream): Promise<void> {
  const [{ createLogger }, { Registry, collectDefaultMetrics }, { startNodeAgent }, { startAdminServer }] =
    await Promise.all([
      import('../runtime/logger.js'),
      import('prom-client'),
      import('./agent.js'),
      import('../runtime/admin-server.js'),
    ]);
  void stdout;
  const log = createLogger({ debug: options.debug, name: 'egress-router-node' });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'egress_router_node_' });
  const source = await createSource(options, log);
  log.info(
    {
      node: options.nodeName,
      source: source.description,
      clusterNetwork: options.clusterNetworkText,
      serviceNetwork: options.serviceNetworkText,
    },
    'node agent starting',
  );
  // The admin port first: /healthz answers while the first list and transaction run, /readyz
  // says 503 until the first transaction applied.
  let agent: Awaited<ReturnType<typeof startNodeAgent>> | undefined;
  let admin: Awaited<ReturnType<typeof startAdminServer>> | undefined;
  if (options.adminPort > 0) {
    try {
      admin = await startAdminServer({
        port: options.adminPort,
        registry,
        ready: () => agent?.ready() ?? false,
        json: {
          '/status': async () => {
            if (!agent) throw new Error('starting: no status yet');
            return agent.status();
          },
          // What the other nodes' agents ask, for automatic egress IPs (nothing held while starting).
          '/egress': async () => agent?.egress() ?? { node: options.nodeName, automatic: [] },
        },
      });
    } catch (error) {
      await source.close();
      throw new ExitError(
        `node: cannot listen on admin port ${options.adminPort}: ${(error as Error).message}`,
      );
    }
  }
  try {
    agent = await startNodeAgent({
      source,
      ...('api' in source && options.source.kind === 'kubernetes'
        ? { egressLeases: { api: source.api as KubernetesApi, namespace: options.source.leaseNamespace } }
        : {}),
      nodeName: options.nodeName,
      clusterNetworks: options.clusterNetworks,
      serviceNetworks: options.serviceNetworks,
      log,
      registry,
      statusFile: options.statusFile,
      adminPort: options.adminPort,
      verifyIntervalMs: options.verifyIntervalMs,
    });
  } catch (error) {
    await Promise.all([source.close(), admin?.close()]);
    throw new ExitError(`node: ${(error as Error).message}`);
  }
  log.info({ adminPort: admin?.port }, 'node agent running');
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'stopping; the rules stay in place');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await Promise.all([agent.close(), admin?.close()]);
}

async function createSource(
  options: NodeOptions,
  log: Logger,
): Promise<ObjectSource | (ObjectSource & { readonly api: KubernetesApi })> {
  if (options.source.kind === 'dir') {
    const { createDirSource } = await import('../cluster/dir-source.js');
    return createDirSource(options.source.path);
  }
  const { createKubernetesSource } = await import('../cluster/kubernetes-source.js');
  return createKubernetesSource({
    ...(options.source.kubeconfig ? { kubeconfig: options.source.kubeconfig } : {}),
    log: ({ msg: message, ...rest }) => log.info(rest, message),
  });
}
