import { collectDefaultMetrics, Registry } from 'prom-client';
import { type DnsProxyConfig, parseDestinationText } from '../dns-proxy/config.js';
import { formatErrors } from '../dns-proxy/errors.js';
import { formatEntry } from '../dns-proxy/format-entries.js';
import { DnsProxyMetrics } from '../dns-proxy/metrics.js';
import { DnsProxy } from '../dns-proxy/proxy.js';
import { DnsProxyStartError } from '../dns-proxy/service.js';
import type { WorkerLink } from './workers-link.js';
import { superviseWorkers } from './workers-serve.js';

const NAME = 'egress-dns-proxy';

/**
 * The DNS proxy as a supervisor of `count` workers (EGRESS_DNS_PROXY_WORKERS above 1): see
 * superviseWorkers. The supervisor follows the list's file and validates each change once.
 *
 * @param config the validated configuration
 * @param count the number of workers
 * @throws WorkersStartError when the workers cannot start (its message is the worker's error line)
 */
export async function superviseDnsProxy(config: DnsProxyConfig, count: number): Promise<void> {
  const { settings, origin } = config;
  await superviseWorkers({
    name: NAME,
    debug: settings.debug,
    count,
    adminPort: settings.adminPort,
    drainMs: settings.drainTimeoutMs,
    metricPrefix: 'egress_dns_proxy',
    reloads: {
      name: 'egress_dns_proxy_reloads_total',
      help: 'Reloads of the destination file by result (applied, invalid, failed)',
      unreadable: 'invalid',
    },
    // Every worker resolves the names itself: the addresses of an entry are the same in each.
    aggregation: { egress_dns_proxy_addresses: 'max' },
    secondSignal: 'abort',
    list: {
      text: config.text,
      file: config.file,
      check(text) {
        const parsed = parseDestinationText(text, settings);
        if (parsed.ok)
          return {
            ok: true,
            line: [{ event: 'reload', origin }, 'valid destination list, sent to the workers'],
          };
        return {
          ok: false,
          line: [
            {
              event: 'reload',
              origin,
              error: parsed.errors[0]!.message,
              line: parsed.errors[0]!.line,
              errors: formatErrors(parsed.errors, origin),
            },
            'invalid destination list, the running list stays',
          ],
        };
      },
      unreadable: (error) => [
        { event: 'reload', file: config.file, error: error.message },
        'cannot read the destination file, the running list stays',
      ],
      failed: (errors) => [
        { event: 'reload', origin, errors },
        'a worker cannot apply the destination list, the running list stays in every worker',
      ],
      applied(text) {
        const parsed = parseDestinationText(text, settings);
        return [
          { event: 'reload', origin, entries: parsed.ok ? parsed.value.map(formatEntry) : [] },
          'destination list applied in every worker',
        ];
      },
    },
  });
}

/**
 * A worker of the DNS proxy: the proxy's listeners (shared with the other workers), no admin port
 * (the supervisor serves it) and no file to follow (the supervisor sends the lists). Runs until
 * the supervisor, SIGTERM or SIGINT says stop, then drains; a second stop ends the drain at once.
 *
 * @param config the validated configuration (its list is the supervisor's, `link.text`)
 * @param link the channel to the supervisor
 * @throws DnsProxyStartError when a proxy port cannot be listened on
 */
export async function runDnsProxyWorker(config: DnsProxyConfig, link: WorkerLink): Promise<void> {
  const { settings } = config;
  const log = link.logger({ debug: settings.debug, name: NAME });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = new DnsProxyMetrics(registry);
  const proxy = new DnsProxy({ settings, log, metrics });

  const abort = new AbortController();
  let stopRequested: () => void = () => {};
  const stopping = new Promise<void>((resolve) => {
    stopRequested = resolve;
  });
  let stops = 0;
  const stop = (): void => {
    if (++stops === 1) stopRequested();
    else abort.abort();
  };
  // The supervisor's first stop and this process's own signal (a signal to the process group)
  // are the same stop; only a second signal, or the supervisor's second, ends the drain.
  link.onStop((now) => (now ? abort.abort() : stopRequested()));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    const parsed = parseDestinationText(link.text, settings);
    if (!parsed.ok) throw new Error(`the supervisor's list is invalid: ${parsed.errors[0]!.message}`);
    const applied = await proxy.apply(parsed.value);
    if (!applied.ok) {
      await proxy.drain();
      const code = (applied.error as NodeJS.ErrnoException).code ?? applied.error.message;
      throw new DnsProxyStartError(`cannot listen on port ${applied.port}: ${code}`, {
        cause: applied.error,
      });
    }
    log.info(
      { event: 'started', origin: config.origin, entries: parsed.value.map(formatEntry) },
      'dns proxy started',
    );
    link.serve({
      registry,
      async reload(text) {
        const next = parseDestinationText(text, settings);
        if (!next.ok) return { ok: false, error: next.errors[0]!.message };
        const result = await proxy.apply(next.value);
        if (!result.ok) {
          const code = (result.error as NodeJS.ErrnoException).code ?? result.error.message;
          log.error({ event: 'reload', port: result.port, error: code }, 'cannot listen on a new port');
          return { ok: false, error: `cannot listen on port ${result.port}: ${code}` };
        }
        if (result.added.length + result.removed.length + result.changed.length > 0) {
          log.info(
            { event: 'reload', added: result.added, removed: result.removed, changed: result.changed },
            'destination list applied',
          );
        }
        return { ok: true };
      },
    });
    await stopping;
    log.info(
      { event: 'draining', open: proxy.activeConnections, drainMs: settings.drainTimeoutMs },
      'draining',
    );
    const result = await proxy.drain(abort.signal);
    log.info({ event: 'stopped', ...result }, 'dns proxy stopped');
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    link.close();
  }
}
