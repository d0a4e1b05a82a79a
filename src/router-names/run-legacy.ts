import { parseRouterConfig, type RouterConfig, type RouterEnv } from '../destination-parser/config.js';
import { planRouter } from '../destination-parser/plan.js';
import { buildRuleset, TABLE_NAME } from '../nat/ruleset.js';
import { openElementSender } from '../network/nft-batch.js';
import { REANNOUNCE_DELAY_MS } from '../router/run-router.js';
import { type SetUpEffects, setUp } from '../router/set-up.js';
import type { LogSink } from '../runtime/deferred-log.js';
import { followFile } from '../runtime/follow-file.js';
import { NameLoop, type NameLoopOptions } from './name-loop.js';

/**
 * Legacy mode with names: sets up as run-router does (the table with empty name maps: those ports
 * refused until their names resolve), then keeps the name maps up to date (NameLoop), re-announces
 * after REANNOUNCE_DELAY_MS, follows EGRESS_DESTINATION_FILE (a new list replaces the table in one
 * transaction, built with the addresses the names it keeps have now), and returns when `stop`
 * resolves.
 *
 * @param config the validated configuration (legacy mode)
 * @param listText the text of EGRESS_DESTINATION_FILE config was parsed from, if any
 * @param env the environment (for reloading the list)
 * @param effects the kernel side effects
 * @param log the logger
 * @param stop resolves when the process should stop
 * @param loopOptions the name loop's DNS, checks and bounds (tests); default the real ones
 * @throws set-up's first failing step
 */
export async function runLegacyWithNames(
  config: RouterConfig,
  listText: string | undefined,
  env: RouterEnv,
  effects: SetUpEffects,
  log: LogSink,
  stop: Promise<void>,
  loopOptions: Partial<Pick<NameLoopOptions, 'lookup' | 'probe' | 'bounds' | 'healthIntervalMs'>> = {},
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
      names: [...new Set(plan.nat.names.map((n) => n.name))],
      ms: elapsedMs(started),
    },
    'egress router set up',
  );
  const sender = openElementSender();
  const loop = new NameLoop({
    plan: plan.nat,
    current: new Map(),
    send: async (ops) => {
      await sender.send(TABLE_NAME, ops, { atomic: true });
    },
    log,
    ...loopOptions,
  });

  const egress = await effects.linkIndex(plan.egressInterface);
  const reannounce = setTimeout(() => {
    effects.announce(egress).then(
      () => log.debug({ step: 'announce' }, 'addresses announced again'),
      (error: Error) => log.warn({ err: error }, 'second announcement failed'),
    );
  }, REANNOUNCE_DELAY_MS);

  const path = env.EGRESS_DESTINATION_FILE;
  const follower = path ? follow(path, listText ?? '', env, effects, loop, log) : undefined;
  try {
    await stop;
  } finally {
    clearTimeout(reannounce);
    await follower?.close();
    await loop.close();
    sender.close();
  }
  log.info({ mode: config.mode }, 'stopping');
}

function follow(
  path: string,
  initial: string,
  env: RouterEnv,
  effects: SetUpEffects,
  loop: NameLoop,
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
        await loop.reload(plan.nat, (addresses) => effects.applyRuleset(buildRuleset(plan.nat, addresses)));
        log.info(
          {
            file: path,
            mappings: plan.nat.mappings.length,
            names: [...new Set(plan.nat.names.map((n) => n.name))],
            ms: elapsedMs(started),
          },
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

function elapsedMs(started: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - started) / 1e6);
}
