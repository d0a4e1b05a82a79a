import type { Registry } from 'prom-client';
import { type AdminServer, startAdminServer } from '../runtime/admin-server.js';
import { type FileFollower, followFile } from '../runtime/follow-file.js';
import type { Logger } from '../runtime/logger.js';
import { type DnsProxyConfig, parseDestinationText } from './config.js';
import type { LookupName } from './dns-lookup.js';
import { formatErrors } from './errors.js';
import { formatEntry } from './format-entries.js';
import { DnsProxyMetrics } from './metrics.js';
import { DnsProxy, type DrainResult } from './proxy.js';

/** A running DNS proxy with its admin endpoints and its followed file. */
export interface DnsProxyService {
  readonly proxy: DnsProxy;
  readonly admin: AdminServer;
  /**
   * Applies a new list text, as a change of the followed file does: an invalid list or one that
   * cannot be applied is logged and the running list stays.
   *
   * @returns whether the new list runs now
   */
  reload(text: string): Promise<boolean>;
  /**
   * Stops: stops following the file, drains (see {@link DnsProxy.drain}), closes the admin server.
   *
   * @param abort ends the drain early
   */
  stop(abort?: AbortSignal): Promise<DrainResult>;
}

/** A start-up failure a user must act on (a port that cannot be listened on). */
export class DnsProxyStartError extends Error {
  readonly code = 'DNS_PROXY_START_FAILED';
}

/** Options of {@link startDnsProxyService}. */
export interface DnsProxyServiceOptions {
  readonly log: Logger;
  readonly registry: Registry;
  /** The DNS (default: the nameservers of /etc/resolv.conf). */
  readonly lookup?: LookupName;
}

/**
 * Starts the DNS proxy: every listener of the list, the admin server (/metrics, /healthz, /readyz),
 * and, when the list came from a file, follows it.
 *
 * @param config a validated configuration
 * @param options logger, registry, DNS
 * @returns the running service
 * @throws DnsProxyStartError when a proxy port or the admin port cannot be listened on (nothing
 *   is left running)
 */
export async function startDnsProxyService(
  config: DnsProxyConfig,
  options: DnsProxyServiceOptions,
): Promise<DnsProxyService> {
  const { log, registry } = options;
  const { settings } = config;
  const metrics = new DnsProxyMetrics(registry);
  const proxy = new DnsProxy({
    settings,
    log,
    metrics,
    ...(options.lookup ? { lookup: options.lookup } : {}),
  });
  const started = Date.now();
  const applied = await proxy.apply(config.entries);
  if (!applied.ok) {
    await proxy.drain();
    throw new DnsProxyStartError(`cannot listen on port ${applied.port}: ${describe(applied.error)}`, {
      cause: applied.error,
    });
  }
  let admin: AdminServer;
  try {
    admin = await startAdminServer({ port: settings.adminPort, registry, ready: () => proxy.ready });
  } catch (error) {
    await proxy.drain();
    throw new DnsProxyStartError(
      `cannot listen on the admin port ${settings.adminPort}: ${describe(error as Error)}`,
      { cause: error },
    );
  }
  log.info(
    {
      event: 'started',
      origin: config.origin,
      entries: config.entries.map(formatEntry),
      adminPort: admin.port,
      ms: Date.now() - started,
    },
    'dns proxy started',
  );

  const reload = (text: string) => reloadList(text, config, proxy, metrics, log);
  let follower: FileFollower | undefined;
  if (config.file !== undefined) {
    const file = config.file;
    follower = followFile(file, config.text, (change) => {
      if ('error' in change) {
        metrics.reloads.inc({ result: 'invalid' });
        log.error(
          { event: 'reload', file, error: change.error.message },
          'cannot read the destination file, the running list stays',
        );
        return;
      }
      void reload(change.text);
    });
  }

  return {
    proxy,
    admin,
    reload,
    async stop(abort) {
      follower?.close();
      log.info(
        { event: 'draining', open: proxy.activeConnections, drainMs: settings.drainTimeoutMs },
        'draining',
      );
      const result = await proxy.drain(abort);
      await admin.close();
      log.info({ event: 'stopped', ...result }, 'dns proxy stopped');
      return result;
    },
  };
}

async function reloadList(
  text: string,
  config: DnsProxyConfig,
  proxy: DnsProxy,
  metrics: DnsProxyMetrics,
  log: Logger,
): Promise<boolean> {
  const parsed = parseDestinationText(text, config.settings);
  if (!parsed.ok) {
    metrics.reloads.inc({ result: 'invalid' });
    const errors = formatErrors(parsed.errors, config.origin);
    log.error(
      {
        event: 'reload',
        origin: config.origin,
        error: parsed.errors[0]!.message,
        line: parsed.errors[0]!.line,
        errors,
      },
      'invalid destination list, the running list stays',
    );
    return false;
  }
  const applied = await proxy.apply(parsed.value);
  if (!applied.ok) {
    metrics.reloads.inc({ result: 'failed' });
    log.error(
      { event: 'reload', origin: config.origin, port: applied.port, error: describe(applied.error) },
      'cannot listen on a new port, the running list stays',
    );
    return false;
  }
  metrics.reloads.inc({ result: 'applied' });
  log.info(
    {
      event: 'reload',
      origin: config.origin,
      entries: parsed.value.map(formatEntry),
      added: applied.added,
      removed: applied.removed,
      changed: applied.changed,
    },
    'destination list applied',
  );
  return true;
}

function describe(error: Error): string {
  return (error as NodeJS.ErrnoException).code ?? error.message;
}
