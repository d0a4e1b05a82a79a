/**
 * Whether the agent's table is still as its last transaction left it: what someone else changed
 * (a `nft flush ruleset`, the nftables service restarted, a chain flushed or deleted by hand).
 * Pure: the applied plan and the kernel's listing in, the differences out. Elements are not
 * compared (the listing holds none); the admin chain's rules are the admins' and are not either.
 */
import type { TableShape } from '../network/nftables.js';
import { ADMIN_CHAIN, NODE_TABLE } from './ruleset.js';
import type { AppliedTable } from './transaction.js';

/** Each chain's rule count as applied, by applied table (its chains' JSON is parsed once). */
const ruleCounts = new WeakMap<AppliedTable, ReadonlyMap<string, number>>();

/**
 * The differences between what the last transaction applied and what the kernel holds.
 *
 * @param applied the last transaction's result
 * @param listed the table's handle, chains (with rule counts) and sets, undefined when the table is gone
 * @param handle the table's handle after that transaction, when known: another one means the table
 *   was deleted and made again (a saved ruleset loaded back), whatever it holds
 * @returns one short line per difference; none when the table is as applied
 */
export function tableDrift(applied: AppliedTable, listed: TableShape | undefined, handle?: bigint): string[] {
  const table = `table ${NODE_TABLE.family} ${NODE_TABLE.name}`;
  if (listed === undefined) return [`${table} is gone`];
  if (handle !== undefined && listed.handle !== handle)
    return [`${table} was deleted and made again by someone else (handle ${listed.handle}, ours ${handle})`];
  let counts = ruleCounts.get(applied);
  if (counts === undefined) {
    counts = new Map(
      [...applied.chains].map(([name, rules]) => [name, (JSON.parse(rules) as unknown[]).length]),
    );
    ruleCounts.set(applied, counts);
  }
  const drift: string[] = [];
  if (!listed.chains.has(ADMIN_CHAIN)) drift.push(`chain ${ADMIN_CHAIN} is gone`);
  for (const [chain, count] of counts) {
    const present = listed.chains.get(chain);
    if (present === undefined) drift.push(`chain ${chain} is gone`);
    else if (present !== count) drift.push(`chain ${chain} has ${present} rules, ${count} applied`);
  }
  for (const set of applied.physical.values()) {
    if (!listed.sets.has(set)) drift.push(`set ${set} is gone`);
  }
  return drift;
}
