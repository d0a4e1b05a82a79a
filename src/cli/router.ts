import { parseRouterConfig, type RouterConfig, type RouterEnv } from '../destination-parser/config.js';
import type { LogSink } from '../runtime/deferred-log.js';
import { ExitError } from './exit-error.js';
import { readDestinationFile } from './read-config.js';
import { runUnitTest } from './unit-test-mode.js';

export const ROUTER_HELP = `Environment (the old ose-egress-router image's variables):
  EGRESS_SOURCE           source address(es): A.B.C.D[/N], IPv6[/N], or one of each separated by ','
  EGRESS_GATEWAY          gateway address(es), one per family of EGRESS_SOURCE
  EGRESS_DESTINATION      the destination list (see docs/router.md); in legacy mode a DNS name may
                          stand for an address (resolved again at its TTL, spread over its addresses)
  EGRESS_DESTINATION_FILE or a file holding it (a mounted ConfigMap, followed live in legacy mode)
  EGRESS_ROUTER_MODE      init | legacy (default) | http-proxy | dns-proxy | unit-test
  EGRESS_ROUTER_DEBUG     non-empty: log every step
  EGRESS_ROUTER_POD_INTERFACE     the pod-network interface (default eth0)
  EGRESS_ROUTER_EGRESS_INTERFACE  the interface traffic leaves by (default macvlan0)
`;

/**
 * The image's entrypoint: runs the mode EGRESS_ROUTER_MODE names.
 *
 * @param env the process environment
 * @param stdout where unit-test mode prints its rules and the logs go
 * @param cliEntry the CLI's entry file (main.js, bundled or not), for the detached second announcement
 * @returns the exit status
 * @throws ExitError with the first CONTRACT error when the configuration is invalid, or with the
 *   failing step when set-up fails
 */
export async function runRouter(
  env: RouterEnv,
  stdout: NodeJS.WritableStream,
  cliEntry: string,
): Promise<number> {
  const file = readDestinationFile(env.EGRESS_DESTINATION_FILE);
  const result = parseRouterConfig(env, file);
  if (!result.ok) throw new ExitError(result.errors[0]!.message);
  const config = result.value;
  if (config.mode === 'unit-test') {
    runUnitTest(config, stdout);
    return 0;
  }
  // Loaded only here: unit-test mode, validate and plan never load netlink or the logger.
  const [{ DeferredLog }, { kernelEffects }, { runRouterMode }] = await Promise.all([
    import('../runtime/deferred-log.js'),
    import('../router/kernel.js'),
    import('../router/run-router.js'),
  ]);
  // pino is loaded while nft runs (or at the latest when set-up ends): until then lines are queued,
  // and carry the time they are written. With EGRESS_ROUTER_DEBUG it is loaded first, so that every
  // step's line carries its own time.
  const log = new DeferredLog(config.debug);
  let loading: Promise<void> | undefined;
  const loadLogger = () => {
    loading ??= import('../runtime/logger.js')
      .then(({ createLogger }) => log.attach(createLogger({ debug: config.debug, name: 'egress-router' })))
      .catch((error: Error) => {
        // Never expected (pino is in the bundle); the queued lines still go out, as plain JSON.
        process.stderr.write(`egress-router: cannot load the logger: ${error.message}\n`);
        log.attach(plainJsonLog(stdout));
      });
    return loading;
  };
  if (config.debug) await loadLogger();
  const effects = kernelEffects({ whileNftRuns: () => void loadLogger() });
  const stop = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  const listText = file && 'text' in file ? file.text : undefined;
  // Legacy mode stays until SIGTERM: signal handlers and unref'd timers do not keep Node's event
  // loop alive, and once the second announcement is sent nothing else may (without this the process
  // ended with status 0 about 2 s after set-up, and its pod restarted).
  const stayUp = config.mode === 'legacy' ? setInterval(() => {}, 2 ** 30) : undefined;
  try {
    if (usesNames(config, env)) {
      // Legacy mode with DNS names in the list (or a followed file that may get them): the name loop.
      const { runLegacyWithNames } = await import('../router-names/run-legacy.js');
      await runLegacyWithNames(config, listText, env, effects, log, stop);
    } else {
      await runRouterMode(config, listText, env, effects, log, stop, cliEntry);
    }
  } catch (error) {
    log.error({ err: error }, 'set-up failed');
    throw new ExitError(`egress-router: set-up failed: ${(error as Error).message}`, 1, { cause: error });
  } finally {
    clearInterval(stayUp);
    effects.close();
    await loadLogger();
  }
  return 0;
}

/**
 * Whether legacy mode must keep name maps: the list has DNS names, or is a followed file that may
 * get them (a table replaced without the name loop would have empty name maps).
 */
function usesNames(config: RouterConfig, env: RouterEnv): boolean {
  if (config.mode !== 'legacy') return false;
  return (
    Boolean(env.EGRESS_DESTINATION_FILE) ||
    config.destinations.some((d) => d.kind === 'name-mapping' || d.kind === 'name-fallback')
  );
}

/** A LogSink writing one JSON object per line (pino's levels and fields), for when pino cannot load. */
function plainJsonLog(out: NodeJS.WritableStream): LogSink {
  const at =
    (level: number) =>
    (fields: object, msg: string): void => {
      out.write(`${JSON.stringify({ level, time: Date.now(), name: 'egress-router', ...fields, msg })}\n`);
    };
  return { debug: at(20), info: at(30), warn: at(40), error: at(50) };
}
