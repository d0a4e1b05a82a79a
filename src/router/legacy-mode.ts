import { parseRouterConfig, type RouterConfig, type RouterEnv } from '../destination-parser/config.js';
import { planRouter, type RouterPlan } from '../destination-parser/plan.js';
import type { LogSink } from '../runtime/deferred-log.js';
import { followFile } from '../runtime/follow-file.js';
import type { SetUpEffects } from './set-up.js';

/**
 * What legacy mode does the same with names and without (run-router.ts, router-names/run-legacy.ts):
 * the set-up line, the second announcement, and following EGRESS_DESTINATION_FILE.
 */

/** The second announcement follows the first after this long (as the old image did). */
export const REANNOUNCE_DELAY_MS = 2000;

/**
 * Logs that the router is set up.
 *
 * @param config the configuration
 * @param plan its plan
 * @param started when the set-up began (process.hrtime.bigint())
 * @param log the logger
 * @param extra more fields (the names of a list with names)
 */
export function logSetUp(
  config: RouterConfig,
  plan: RouterPlan,
  started: bigint,
  log: LogSink,
  extra: Record<string, unknown> = {},
): void {
  log.info(
    {
      mode: config.mode,
      source: plan.addresses.map((a) => `${a.address}/${a.prefix}`),
      mappings: plan.nat.mappings.length,
      fallbacks: plan.nat.fallbacks.map((f) => f.destination.address),
      ...extra,
      ms: elapsedMs(started),
    },
    'egress router set up',
  );
}

/**
 * Announces the egress interface's addresses again after REANNOUNCE_DELAY_MS.
 *
 * @returns the timer (cleared when the router stops first)
 */
export async function scheduleReannounce(
  plan: RouterPlan,
  effects: SetUpEffects,
  log: LogSink,
): Promise<NodeJS.Timeout> {
  const egress = await effects.linkIndex(plan.egressInterface);
  return setTimeout(() => {
    effects.announce(egress).then(
      () => log.debug({ step: 'announce' }, 'addresses announced again'),
      (error: Error) => log.warn({ err: error }, 'second announcement failed'),
    );
  }, REANNOUNCE_DELAY_MS);
}

/**
 * Applies a new destination list: resolves with the fields its log line adds, rejects when the
 * kernel refused it (the running rules then stay).
 */
export type ApplyList = (plan: RouterPlan) => Promise<Record<string, unknown>>;

/**
 * Follows EGRESS_DESTINATION_FILE: each new text is parsed and, when valid, applied; an unreadable
 * file, an invalid list or a refused apply is logged and the running rules stay. Changes are
 * applied one at a time, in order.
 *
 * @param path the file
 * @param initial the text the running rules were made from
 * @param env the environment the list is parsed with
 * @param log the logger
 * @param apply applies a valid list's plan
 * @returns close: stops following and waits for the change being applied
 */
export function followDestinationFile(
  path: string,
  initial: string,
  env: RouterEnv,
  log: LogSink,
  apply: ApplyList,
): { close(): Promise<void> } {
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
        const fields = await apply(plan);
        log.info(
          { file: path, mappings: plan.nat.mappings.length, ...fields, ms: elapsedMs(started) },
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
 * Whole milliseconds since `started` (process.hrtime.bigint()). Not performance.now(): the global
 * `performance` loads perf_hooks on first use, which init mode would pay for at start-up.
 */
export function elapsedMs(started: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - started) / 1e6);
}
