import { spawn } from 'node:child_process';
import { parseRouterConfig, type RouterConfig, type RouterEnv } from '../destination-parser/config.js';
import { planRouter } from '../destination-parser/plan.js';
import { buildRuleset } from '../nat/ruleset.js';
import type { LogSink } from '../runtime/deferred-log.js';
import { followFile } from '../runtime/follow-file.js';
import { type SetUpEffects, setUp } from './set-up.js';

/** The second announcement follows the first after this long (as the old image did). */
export const REANNOUNCE_DELAY_MS = 2000;

/**
 * Sets the network up for a validated configuration (every mode but unit-test), then, in legacy
 * mode, stays: re-announces after REANNOUNCE_DELAY_MS, follows EGRESS_DESTINATION_FILE, and returns
 * when `stop` resolves (SIGTERM). Other modes schedule the second announcement in a detached process
 * and return at once.
 *
 * @param config the validated configuration
 * @param listText the text of EGRESS_DESTINATION_FILE that config was parsed from, if any
 * @param env the environment (for reloading the list)
 * @param effects the kernel side effects
 * @param log the logger
 * @param stop resolves when the process should stop (legacy mode)
 * @param cliEntry the CLI's entry file, which the detached second announcement runs (`announce`)
 */
export async function runRouterMode(
  config: RouterConfig,
  listText: string | undefined,
  env: RouterEnv,
  effects: SetUpEffects,
  log: LogSink,
  stop: Promise<void>,
  cliEntry: string,
): Promise<void> {
  const started = process.hrtime.bigint();
  const plan = planRouter(config);
  await setUp(plan, buildRuleset(plan.nat), effects, log);
  log.info(
    {
      mode: config.mode,
      source: plan.addresses.map((a) => `${a.address}/${a.prefix}`),
      mappings: plan.nat.mappings.length,
      fallbacks: plan.nat.fallbacks.map((f) => f.destination.address),
      ms: elapsedMs(started),
    },
    'egress router set up',
  );
  if (config.mode !== 'legacy') {
    if (plan.announce.length > 0) scheduleDetachedAnnounce(cliEntry, plan.egressInterface);
    return;
  }

  const egress = await effects.linkIndex(plan.egressInterface);
  const reannounce = setTimeout(() => {
    effects.announce(egress).then(
      () => log.debug({ step: 'announce' }, 'addresses announced again'),
      (error: Error) => log.warn({ err: error }, 'second announcement failed'),
    );
  }, REANNOUNCE_DELAY_MS);

  const path = env.EGRESS_DESTINATION_FILE;
  const follower = path ? followDestinationFile(path, listText ?? '', env, effects, log) : undefined;
  await stop;
  clearTimeout(reannounce);
  await follower?.close();
  log.info({ mode: config.mode }, 'stopping');
}

function followDestinationFile(
  path: string,
  initial: string,
  env: RouterEnv,
  effects: SetUpEffects,
  log: LogSink,
) {
  let applying: Promise<void> = Promise.resolve();
  const follower = followFile(path, initial, (change) => {
    applying = applying.then(async () => {
      if ('error' in change) {
        log.error({ file: path, err: change.error }, 'destination list unreadable; the running rules stay');
        return;
      }
      const result = parseRouterConfig(env, { text: change.text });
      if (!result.ok) {
        const first = result.errors[0]!;
        log.error(
          { file: path, line: first.line, error: first.message, errors: result.errors.length },
          'new destination list is invalid; the running rules stay',
        );
        return;
      }
      const started = process.hrtime.bigint();
      const plan = planRouter(result.value);
      try {
        await effects.applyRuleset(buildRuleset(plan.nat));
        log.info(
          { file: path, mappings: plan.nat.mappings.length, ms: elapsedMs(started) },
          'destination list reloaded',
        );
      } catch (error) {
        log.error(
          { file: path, err: error },
          'applying the new destination list failed; the running rules stay',
        );
      }
    });
  });
  return {
    async close() {
      follower.close();
      await applying;
    },
  };
}

/**
 * Starts `egress-router announce --delay 2000 <interface>` detached, so that init mode can exit at
 * once. In a container the runtime may kill it when the init container exits (as it killed the old
 * image's background arping); see docs/router.md.
 */
function scheduleDetachedAnnounce(cliEntry: string, ifname: string): void {
  const child = spawn(
    process.execPath,
    [cliEntry, 'announce', '--delay', String(REANNOUNCE_DELAY_MS), ifname],
    {
      detached: true,
      stdio: 'ignore',
    },
  );
  child.on('error', () => {});
  child.unref();
}

/**
 * Whole milliseconds since `started` (process.hrtime.bigint()). Not performance.now(): the global
 * `performance` loads perf_hooks on first use, which init mode would pay for at start-up.
 */
function elapsedMs(started: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - started) / 1e6);
}
