import type { RouterConfig, RouterEnv } from '../destination-parser/config.js';
import { planRouter, type RouterPlan } from '../destination-parser/plan.js';
import { buildRuleset, TABLE_NAME } from '../nat/ruleset.js';
import { openElementSender } from '../network/nft-batch.js';
import { followDestinationFile, logSetUp, scheduleReannounce } from '../router/legacy-mode.js';
import { type SetUpEffects, setUp } from '../router/set-up.js';
import type { LogSink } from '../runtime/deferred-log.js';
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
  logSetUp(config, plan, started, log, { names: namesOf(plan) });
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

  const reannounce = await scheduleReannounce(plan, effects, log);
  const path = env.EGRESS_DESTINATION_FILE;
  // A new list replaces the table in one transaction, built with the addresses its names have now.
  const follower = path
    ? followDestinationFile(path, listText ?? '', env, log, async (next) => {
        await loop.reload(next.nat, (addresses) => effects.applyRuleset(buildRuleset(next.nat, addresses)));
        return { names: namesOf(next) };
      })
    : undefined;
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

/** The names of a list, each once. */
function namesOf(plan: RouterPlan): string[] {
  return [...new Set(plan.nat.names.map((n) => n.name))];
}
