import { parseCommandArgs } from './args.js';
import { ExitError } from './exit-error.js';
import { readDestinationFile } from './read-config.js';

export const DNS_PROXY_HELP = `Usage: egress-router dns-proxy [--check]

Relays TCP connections to the destinations of EGRESS_DNS_PROXY_DESTINATION: one listener per entry,
names re-resolved while running (see docs/dns-proxy.md). The dns-proxy image's entrypoint.

Options:
  --check   validate the configuration, print the entries and settings, and exit (1 on error);
            also when EGRESS_DNS_PROXY_MODE=unit-test

Environment:
  EGRESS_DNS_PROXY_DESTINATION       the list: '<port> <ip or name> [<remote port>]' per line
  EGRESS_DNS_PROXY_DESTINATION_FILE  or a file holding it (a mounted ConfigMap, followed live)
  EGRESS_DNS_PROXY_DEBUG             non-empty: log every resolution round
  EGRESS_DNS_PROXY_ADMIN_PORT        /metrics, /healthz, /readyz (default 9091)
  EGRESS_DNS_PROXY_CONNECT_TIMEOUT_SECONDS  per connect attempt (default 10)
  EGRESS_DNS_PROXY_IDLE_TIMEOUT_SECONDS     close a connection idle this long, 0 never (default 60)
  EGRESS_DNS_PROXY_DRAIN_TIMEOUT_SECONDS    after SIGTERM, before open connections are cut (default 20)
  EGRESS_DNS_PROXY_MIN_TTL_SECONDS   re-resolve a name no sooner than this (default 1)
  EGRESS_DNS_PROXY_MAX_TTL_SECONDS   re-resolve a name at least this often (default 30)
  EGRESS_DNS_PROXY_NEGATIVE_HOLD_SECONDS  keep the addresses of a name gone from DNS (default 30)
  EGRESS_DNS_PROXY_MAX_CONNECTIONS   open connections at most, over all entries (default 4000)
  EGRESS_DNS_PROXY_WORKERS           worker processes; 0: as many as the CPUs the container may use,
                                     1: one process (default 0)
`;

/**
 * \`egress-router dns-proxy\`: the dns-proxy image's entrypoint. Runs until SIGTERM or SIGINT, then
 * drains; a second signal ends the drain at once.
 *
 * @param args the arguments after the command
 * @param env the process environment
 * @param stdout where help, --check output and the logs go
 * @throws ExitError with the first error (CONTRACT text) when the configuration is invalid (with
 *   --check: every error), or when a port cannot be listened on
 */
export async function runDnsProxy(
  args: string[],
  env: NodeJS.ProcessEnv,
  stdout: NodeJS.WritableStream,
): Promise<void> {
  const { values } = parseCommandArgs('dns-proxy', args, { check: { type: 'boolean' } }, 0);
  if (values.help) {
    stdout.write(DNS_PROXY_HELP);
    return;
  }
  const [{ parseDnsProxyConfig }, { formatErrors }] = await Promise.all([
    import('../dns-proxy/config.js'),
    import('../dns-proxy/errors.js'),
  ]);
  const check = values.check === true || env.EGRESS_DNS_PROXY_MODE === 'unit-test';
  // A worker of the supervisor (EGRESS_DNS_PROXY_WORKERS) starts with the supervisor's list, not the file's.
  const { connectToSupervisor, isWorkerProcess } = await import('../runtime/workers-link.js');
  const link = isWorkerProcess() && !check ? await connectToSupervisor() : undefined;
  const file = env.EGRESS_DNS_PROXY_DESTINATION_FILE;
  const result = parseDnsProxyConfig(env, link && file ? { text: link.text } : readDestinationFile(file));
  if (!result.ok) {
    if (!check) throw new ExitError(result.errors[0]!.message);
    const origin = env.EGRESS_DNS_PROXY_DESTINATION_FILE || 'EGRESS_DNS_PROXY_DESTINATION';
    const lines = formatErrors(result.errors, origin);
    const count = `${origin}: ${lines.length} problem${lines.length === 1 ? '' : 's'} found`;
    throw new ExitError([...lines, count].join('\n'));
  }
  const config = result.value;
  if (link) {
    const [{ runDnsProxyWorker }, { DnsProxyStartError }] = await Promise.all([
      import('../runtime/workers-dns-proxy.js'),
      import('../dns-proxy/service.js'),
    ]);
    try {
      await runDnsProxyWorker(config, link);
    } catch (error) {
      if (error instanceof DnsProxyStartError)
        throw new ExitError(`egress-router dns-proxy: ${error.message}`, 1, { cause: error });
      throw error;
    }
    return;
  }
  // Counted here, after a worker (link set, never with --check) has gone its way: only the check
  // and the supervisor need the count.
  const { availableCpus, workerCount } = await import('../runtime/cpus.js');
  const workers = workerCount('dns-proxy', config.settings.workers, availableCpus());
  if (check) {
    const { formatCheck } = await import('../dns-proxy/format-entries.js');
    stdout.write(`${formatCheck(config, workers).join('\n')}\n`);
    return;
  }
  if (workers > 1) {
    const [{ superviseDnsProxy }, { WorkersStartError }] = await Promise.all([
      import('../runtime/workers-dns-proxy.js'),
      import('../runtime/workers-serve.js'),
    ]);
    try {
      await superviseDnsProxy(config, workers);
    } catch (error) {
      if (error instanceof WorkersStartError) throw new ExitError(error.message, 1, { cause: error });
      throw error;
    }
    return;
  }

  const [
    { batchedStdout, createLogger },
    { Registry, collectDefaultMetrics },
    { startDnsProxyService, DnsProxyStartError },
  ] = await Promise.all([
    import('../runtime/logger.js'),
    import('prom-client'),
    import('../dns-proxy/service.js'),
  ]);
  // One line per connection: written in batches (batchedStdout).
  const log = createLogger({
    debug: config.settings.debug,
    name: 'egress-dns-proxy',
    destination: batchedStdout(),
  });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  // Signals are caught from the start: a SIGTERM during start-up stops the proxy once it runs.
  const abort = new AbortController();
  let stopRequested: () => void = () => {};
  const stopping = new Promise<void>((resolve) => {
    stopRequested = resolve;
  });
  let signals = 0;
  const onSignal = (): void => {
    if (++signals === 1) stopRequested();
    else abort.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    let service: Awaited<ReturnType<typeof startDnsProxyService>>;
    try {
      service = await startDnsProxyService(config, { log, registry });
    } catch (error) {
      if (error instanceof DnsProxyStartError) {
        log.error({ event: 'start', error: error.message }, 'dns proxy not started');
        throw new ExitError(`egress-router dns-proxy: ${error.message}`, 1, { cause: error });
      }
      throw error;
    }
    await stopping;
    await service.stop(abort.signal);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
