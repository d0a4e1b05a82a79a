import { applyRuleset, NftError, queryNft } from '../nat/apply.js';
import type { NftDocument } from '../nat/ruleset.js';
import { withNetlink } from '../network/handle.js';
import type { ElementSender } from '../network/nft-batch.js';
import { listTableShape, nftGeneration, nftTableHandle, type TableShape } from '../network/nftables.js';
import { ADMIN_CHAIN, NODE_TABLE } from './ruleset.js';
import { type ExistingTable, type FirewallTransaction, logicalName } from './transaction.js';

/** Packets and bytes a counter saw. */
export interface Counter {
  readonly packets: number;
  readonly bytes: number;
}

/** The counters of our table: per map element (by map, then key text) and per chain. */
export interface TableCounters {
  /** `fw4-<namespace>` (without the generation) → key text (`1.2.3.0/24`, `a-b`, an address) → counter. */
  readonly elements: ReadonlyMap<string, ReadonlyMap<string, Counter>>;
  /** The counter of each chain's rule that has one (`ns-<namespace>`: no match, or drop when closed). */
  readonly chains: ReadonlyMap<string, Counter>;
}

const TABLE_ARGS = [NODE_TABLE.family, NODE_TABLE.name];

/**
 * The names of the chains and sets in our table now (`nft -t`: no elements), for the first
 * transaction of a run. Read-only.
 *
 * @returns the names; empty when the table does not exist
 * @throws NftError when nft fails for another reason
 */
export async function readExistingTable(): Promise<ExistingTable> {
  let text: string;
  try {
    text = await queryNft(['-t', '-j', 'list', 'table', ...TABLE_ARGS]);
  } catch (error) {
    if (error instanceof NftError && /No such file or directory/.test(error.message)) {
      return { chains: new Set(), sets: new Set(), maps: new Set() };
    }
    throw error;
  }
  const chains = new Set<string>();
  const sets = new Set<string>();
  const maps = new Set<string>();
  for (const entry of nftEntries(text)) {
    if (entry.chain) chains.add(String(entry.chain.name));
    if (entry.set) sets.add(String(entry.set.name));
    if (entry.map) {
      sets.add(String(entry.map.name));
      maps.add(String(entry.map.name));
    }
  }
  return { chains, sets, maps };
}

/**
 * Our table's handle, chains (with rule counts) and sets, over nfnetlink (no process, no element
 * read): undefined when it is gone, `changing` when a transaction (anyone's) committed while it was
 * listed (the nf_tables generation moved), so that the listing may mix two states.
 */
export function readTableShape(): Promise<TableShape | undefined | 'changing'> {
  return withNetlink(
    async (handle) => {
      const before = await nftGeneration(handle);
      const shape = await listTableShape(handle, NODE_TABLE.family, NODE_TABLE.name);
      return (await nftGeneration(handle)) === before ? shape : 'changing';
    },
    { protocol: 'netfilter' },
  );
}

/** Our table's handle (undefined when it does not exist): read after a transaction, compared by the check. */
export function readTableHandle(): Promise<bigint | undefined> {
  return withNetlink((handle) => nftTableHandle(handle, NODE_TABLE.family, NODE_TABLE.name), {
    protocol: 'netfilter',
  });
}

/** One step of a transaction failed: the steps before it stay (see FirewallTransaction). */
export class FirewallApplyError extends Error {
  override readonly name = 'FirewallApplyError';
  /** Which step: `prepare`, `fill`, `switch`, `finish` or `settle`. */
  readonly step: string;
  constructor(step: string, cause: Error) {
    super(`${step}: ${cause.message}`, { cause });
    this.step = step;
  }
}

/**
 * Applies a transaction's four steps in order (see FirewallTransaction): what a packet sees changes
 * only at `switch` and at `finish`, each all or nothing. A step that fails stops it: the steps before
 * it leave only unused sets and chains, which the next transaction (planned without `applied`)
 * deletes.
 *
 * @throws FirewallApplyError naming the step, with nft's or the kernel's refusal as its cause
 */
export async function applyTransaction(
  transaction: FirewallTransaction,
  sender: ElementSender,
): Promise<void> {
  const step = async (name: string, run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (error) {
      throw new FirewallApplyError(name, error as Error);
    }
  };
  await step('prepare', () => applyFirewall(transaction.prepare));
  await step('fill', () => sender.send(NODE_TABLE.name, transaction.fill));
  // planTransaction keeps a switch within the socket's batch size: one kernel transaction.
  await step('switch', () => sender.send(NODE_TABLE.name, transaction.switch, { atomic: true }));
  await step('finish', () => applyFirewall(transaction.finish));
  if (transaction.settle.length > 0) {
    // A grace period for packets the kernel was still taking through the table before the commit.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    await step('settle', () => sender.send(NODE_TABLE.name, transaction.settle, { atomic: true }));
  }
}

/** How long after a change the allowed-pairs caches are flushed once more. */
export const SETTLE_MS = 5;

/**
 * Applies one transaction (all of it or nothing).
 *
 * @throws NftError when nft refuses it
 */
export async function applyFirewall(document: NftDocument): Promise<void> {
  if (document.nftables.length === 0) return;
  await applyRuleset(document);
}

/**
 * Reads every counter of our table (one `nft -j list table`). Read-only.
 *
 * @returns the counters; empty when the table does not exist
 */
export async function readCounters(): Promise<TableCounters> {
  const elements = new Map<string, Map<string, Counter>>();
  const chains = new Map<string, Counter>();
  let text: string;
  try {
    text = await queryNft(['-j', 'list', 'table', ...TABLE_ARGS]);
  } catch (error) {
    if (error instanceof NftError && /No such file or directory/.test(error.message))
      return { elements, chains };
    throw error;
  }
  for (const entry of nftEntries(text)) {
    const map = entry.map ?? entry.set;
    if (map && Array.isArray(map.elem)) {
      const counters = new Map<string, Counter>();
      for (const item of map.elem as unknown[]) {
        const element = Array.isArray(item) ? item[0] : item;
        const inner = (element as { elem?: { val: unknown; counter?: Counter } })?.elem;
        if (inner?.counter) counters.set(keyText(inner.val), inner.counter);
      }
      elements.set(logicalName(String(map.name)), counters);
    }
    const rule = entry.rule as { chain?: string; expr?: unknown[] } | undefined;
    if (rule?.chain && rule.chain !== ADMIN_CHAIN && Array.isArray(rule.expr)) {
      for (const expr of rule.expr) {
        const counter = (expr as { counter?: Counter }).counter;
        if (counter && typeof counter.packets === 'number') chains.set(rule.chain, counter);
      }
    }
  }
  return { elements, chains };
}

/** The key text our ruleset builder uses (rangeElement), from nft's JSON of an element. */
export function keyText(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as { prefix?: { addr: string; len: number }; range?: [string, string] };
  if (v?.prefix) return `${v.prefix.addr}/${v.prefix.len}`;
  if (v?.range) return `${v.range[0]}-${v.range[1]}`;
  return JSON.stringify(value);
}

function nftEntries(text: string): Record<string, Record<string, unknown> | undefined>[] {
  const parsed = JSON.parse(text) as { nftables?: Record<string, Record<string, unknown>>[] };
  return parsed.nftables ?? [];
}
