/**
 * The agent's check that its rules are still in the kernel as it left them (docs/node-agent.md,
 * "Restoring what someone else changed"): every interval, the table's chains, rule counts and sets
 * (nfnetlink, no element read) and the egress IP overlay, and soon after the kernel tells of a
 * deletion; anything missing makes the next reconcile rebuild it whole, in one transaction.
 */

import { readTableShape } from '../firewall/apply.js';
import { tableDrift } from '../firewall/drift.js';
import type { AppliedTable } from '../firewall/transaction.js';
import { watchDeletions } from '../network/kernel-events.js';
import type { NodeEgressIps } from './egress-ips.js';

/** How often the agent checks, by default. */
export const DEFAULT_VERIFY_INTERVAL_MS = 10_000;

/**
 * What someone else changed in the agent's table and overlay since the last reconcile.
 *
 * @param applied what the last transaction applied (nothing to compare when undefined)
 * @param egressIps the egress IP side (resets its overlay when it finds a difference)
 * @returns one line per difference
 */
export async function findDrift(
  applied: AppliedTable | undefined,
  egressIps: Pick<NodeEgressIps, 'verify'>,
): Promise<string[]> {
  const table = applied ? tableDrift(applied, await readTableShape()) : [];
  return [...table, ...(await egressIps.verify())];
}

/** How long after a deletion notice the check runs (the notices of one change come together). */
const AFTER_NOTICE_MS = 50;

/**
 * Runs `check` every `intervalMs`, and `AFTER_NOTICE_MS` after the kernel tells of a deletion of a
 * table, chain, rule, set, link, address or routing rule; never two at once.
 *
 * @param intervalMs the period (0: never, and no notices followed)
 * @param check one check; it decides whether anything is to be restored
 * @returns a handle whose `close` stops both
 */
export function startVerifier(intervalMs: number, check: () => Promise<void>): { close(): void } {
  if (intervalMs <= 0) return { close() {} };
  let closed = false;
  let checking = false;
  let pending = false;
  let soon: NodeJS.Timeout | undefined;
  const once = async () => {
    if (checking) {
      pending = true;
      return;
    }
    checking = true;
    try {
      do {
        pending = false;
        await check();
      } while (pending && !closed);
    } finally {
      checking = false;
    }
  };
  const periodic = setInterval(() => void once(), intervalMs).unref();
  const events = watchDeletions(() => {
    if (closed || soon) return;
    soon = setTimeout(() => {
      soon = undefined;
      void once();
    }, AFTER_NOTICE_MS).unref();
  });
  return {
    close() {
      closed = true;
      clearInterval(periodic);
      clearTimeout(soon);
      events?.close();
    },
  };
}
