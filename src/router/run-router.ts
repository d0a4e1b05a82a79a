import { spawn } from 'node:child_process';
import type { RouterConfig, RouterEnv } from '../destination-parser/config.js';
import { planRouter } from '../destination-parser/plan.js';
import { buildRuleset } from '../nat/ruleset.js';
import type { LogSink } from '../runtime/deferred-log.js';
import { followDestinationFile, logSetUp, REANNOUNCE_DELAY_MS, scheduleReannounce } from './legacy-mode.js';
import { type SetUpEffects, setUp } from './set-up.js';

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
  logSetUp(config, plan, started, log);
  if (config.mode !== 'legacy') {
    if (plan.announce.length > 0) scheduleDetachedAnnounce(cliEntry, plan.egressInterface);
    return;
  }

  const reannounce = await scheduleReannounce(plan, effects, log);
  const path = env.EGRESS_DESTINATION_FILE;
  const follower = path
    ? followDestinationFile(path, listText ?? '', env, log, async (next) => {
        await effects.applyRuleset(buildRuleset(next.nat));
        return {};
      })
    : undefined;
  await stop;
  clearTimeout(reannounce);
  await follower?.close();
  log.info({ mode: config.mode }, 'stopping');
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
