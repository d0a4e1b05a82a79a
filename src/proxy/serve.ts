import { startAdminServer } from '../runtime/admin-server.js';
import { followFile } from '../runtime/follow-file.js';
import { batchedStdout, createLogger } from '../runtime/logger.js';
import type { WorkerLink } from '../runtime/workers-link.js';
import { ProxyStartError } from './errors.js';
import { type LoadedPolicy, loadPolicy } from './load-policy.js';
import { createSelfCheck } from './local-addresses.js';
import { createProxyMetrics } from './metrics.js';
import type { CompiledPolicy } from './policy/compile-policy.js';
import { createEgressProxy } from './server.js';
import type { ProxySettings } from './settings.js';
import { createResolver } from './upstream.js';

/**
 * Runs the HTTP proxy until SIGTERM or SIGINT: listens on the proxy port (both families), serves
 * the admin endpoints, follows EGRESS_HTTP_PROXY_DESTINATION_FILE, and on a signal stops accepting,
 * drains open requests and tunnels for `settings.drainMs`, then returns.
 *
 * @param env the environment (for reloads)
 * @param settings the validated settings
 * @param initial the policy loaded at start
 * @param worker as a worker of superviseHttpProxy: the supervisor's link (logs, reloads, metrics, stop)
 * @throws ProxyStartError when a port cannot be listened on (its message is the line to print)
 */
export async function serveHttpProxy(
  env: NodeJS.ProcessEnv,
  settings: ProxySettings,
  initial: LoadedPolicy & { ok: true },
  worker?: WorkerLink,
): Promise<void> {
  // One line per request: written in batches (batchedStdout).
  const log =
    worker?.logger({ debug: settings.debug, name: 'egress-http-proxy' }) ??
    createLogger({ debug: settings.debug, name: 'egress-http-proxy', destination: batchedStdout() });
  const metrics = createProxyMetrics();
  let policy: CompiledPolicy = initial.compiled;
  metrics.rules.set(policy.rules.length);
  let ready = false;
  const proxy = createEgressProxy({
    policy: () => policy,
    settings,
    log,
    metrics,
    isSelf: createSelfCheck(),
    resolve: createResolver(),
  });

  await listen(proxy.server, settings.port);
  const admin =
    settings.adminPort === 0
      ? undefined
      : await startAdminServer({
          port: settings.adminPort,
          registry: metrics.registry,
          ready: () => ready,
        }).catch((error: NodeJS.ErrnoException) => {
          proxy.server.close();
          throw new ProxyStartError(
            'ADMIN_LISTEN_FAILED',
            `http-proxy: cannot listen on admin port ${settings.adminPort}: ${error.code ?? error.message}`,
            { cause: error },
          );
        });

  // A worker's policy comes from the supervisor, which follows the file.
  const path = worker ? undefined : env.EGRESS_HTTP_PROXY_DESTINATION_FILE;
  const follower = path
    ? followFile(path, initial.text, (change) => {
        if ('error' in change) {
          metrics.reloads.inc({ result: 'unreadable' });
          log.error({ file: path, err: change.error }, 'policy file unreadable; the running policy stays');
          return;
        }
        const next = loadPolicy(env, { text: change.text });
        if (!next.ok) {
          metrics.reloads.inc({ result: 'invalid' });
          const first = next.errors[0]!;
          log.error(
            { file: path, line: first.line, error: first.message },
            'new policy is invalid; the running policy stays',
          );
          return;
        }
        policy = next.compiled;
        metrics.rules.set(policy.rules.length);
        metrics.reloads.inc({ result: 'applied' });
        log.info(
          { file: path, rules: policy.rules.length, allowRest: policy.policy.allowRest },
          'policy reloaded',
        );
      })
    : undefined;

  ready = true;
  worker?.serve({
    registry: metrics.registry,
    reload(text) {
      const next = loadPolicy(env, { text });
      if (!next.ok) return { ok: false, error: next.errors[0]!.message };
      policy = next.compiled;
      metrics.rules.set(policy.rules.length);
      log.info({ rules: policy.rules.length, allowRest: policy.policy.allowRest }, 'policy reloaded');
      return { ok: true };
    },
  });
  log.info(
    {
      port: settings.port,
      adminPort: settings.adminPort || undefined,
      rules: policy.rules.length,
      allowRest: policy.policy.allowRest,
    },
    'egress HTTP proxy listening',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
    worker?.onStop(() => resolve());
  });
  ready = false;
  follower?.close();
  log.info({ drainMs: settings.drainMs }, 'stopping: draining open requests and tunnels');
  await proxy.drain(settings.drainMs);
  await admin?.close();
  log.info({}, 'stopped');
  worker?.close();
}

async function listen(server: import('node:net').Server, port: number): Promise<void> {
  const attempt = (host: string) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, ipv6Only: false }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await attempt('::');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') {
      throw new ProxyStartError(
        'LISTEN_FAILED',
        `http-proxy: cannot listen on port ${port}: ${code ?? (error as Error).message}`,
        { cause: error },
      );
    }
    await attempt('0.0.0.0');
  }
}
