/**
 * The agent's check that its rules are still in the kernel as it left them (docs/node-agent.md,
 * "Restoring what someone else changed"): every interval, the table's chains, rule counts and sets
 * (nfnetlink, no element read) and the egress IP overlay; anything missing makes the next
 * reconcile rebuild it whole, in one transaction.
 */

import { readTableShape } from '../firewall/apply.js';
import { tableDrift } from '../firewall/drift.js';
import type { AppliedTable } from '../firewall/transaction.js';
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
