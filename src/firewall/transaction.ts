import type { NftCommand, NftDocument } from '../nat/ruleset.js';
import { ADMIN_CHAIN, type DesiredChain, type DesiredSet, type DesiredTable, NODE_TABLE } from './ruleset.js';

/** What is in our table before the first transaction of a run: names only (`nft -t` lists no elements). */
export interface ExistingTable {
  readonly chains: ReadonlySet<string>;
  readonly sets: ReadonlySet<string>;
}

const T = NODE_TABLE;

/**
 * The one nft transaction that turns our table from what it holds into `desired`. Pure.
 *
 * - `applied` known (what the last transaction of this run made): only the differences: new chains
 *   and maps, changed chains flushed and refilled, map elements added and deleted one by one (so
 *   unchanged elements keep their counters, and a DNS answer changes only its own elements).
 * - `applied` unknown (the agent's first transaction, the table maybe left by an earlier run):
 *   every chain and set of ours that exists is flushed and refilled, the ones no longer wanted
 *   deleted. The admin chain is only ever created (`add` leaves an existing one as it is).
 *
 * @param desired the table wanted
 * @param applied what this run's last transaction made, if any
 * @param existing without `applied`: the names the table holds now (none when it does not exist)
 * @returns the commands, in an order the kernel takes in one transaction; empty when nothing changes
 */
export function planTransaction(
  desired: DesiredTable,
  applied: DesiredTable | undefined,
  existing?: ExistingTable,
): NftDocument {
  const head: NftCommand[] = [];
  const flushes: NftCommand[] = [];
  const deleteElements: NftCommand[] = [];
  const addElements: NftCommand[] = [];
  const rules: NftCommand[] = [];
  const tail: NftCommand[] = [];

  const appliedChains = applied?.chains ?? new Map<string, DesiredChain>();
  const appliedSets = applied?.sets ?? new Map<string, DesiredSet>();
  const existingChains = applied ? new Set(appliedChains.keys()) : new Set(existing?.chains ?? []);
  const existingSets = applied ? new Set(appliedSets.keys()) : new Set(existing?.sets ?? []);
  existingChains.delete(ADMIN_CHAIN);

  for (const [name, set] of desired.sets) {
    const before = appliedSets.get(name);
    if (before && !sameDeclaration(before, set)) {
      // A set whose declaration changed is made anew (an upgrade of the agent).
      tail.unshift(); // nothing: handled as delete + add below
    }
    if (!existingSets.has(name)) {
      head.push({ add: { [set.kind]: declaration(name, set) } });
      pushElements(addElements, name, [...set.elements.values()]);
    } else if (!applied || !before) {
      flushes.push({ flush: { [set.kind]: { family: T.family, table: T.name, name } } });
      pushElements(addElements, name, [...set.elements.values()]);
    } else {
      const removed = [];
      const added = [];
      for (const [key, element] of before.elements) {
        const now = set.elements.get(key);
        if (!now || !sameVerdict(now, element)) removed.push(element);
      }
      for (const [key, element] of set.elements) {
        const was = before.elements.get(key);
        if (!was || !sameVerdict(was, element)) added.push(element);
      }
      if (removed.length > 0) {
        deleteElements.push({
          delete: { element: { family: T.family, table: T.name, name, elem: removed.map((e) => e.key) } },
        });
      }
      pushElements(addElements, name, added);
    }
  }
  for (const [name, chain] of desired.chains) {
    const before = appliedChains.get(name);
    if (!existingChains.has(name)) {
      head.push({ add: { chain: chainDeclaration(name, chain) } });
    } else if (applied && before && JSON.stringify(before) === JSON.stringify(chain)) {
      continue;
    } else {
      if (!applied) head.push({ add: { chain: chainDeclaration(name, chain) } });
      flushes.push({ flush: { chain: { family: T.family, table: T.name, name } } });
    }
    for (const expr of chain.rules) {
      rules.push({ add: { rule: { family: T.family, table: T.name, chain: name, expr } } });
    }
  }
  for (const name of existingChains) {
    if (desired.chains.has(name)) continue;
    flushes.push({ flush: { chain: { family: T.family, table: T.name, name } } });
    tail.push({ delete: { chain: { family: T.family, table: T.name, name } } });
  }
  const staleSets: NftCommand[] = [];
  for (const name of existingSets) {
    if (desired.sets.has(name)) continue;
    const kind = appliedSets.get(name)?.kind ?? 'set';
    staleSets.push({ delete: { [kind]: { family: T.family, table: T.name, name } } });
  }
  const changes = [...head, ...flushes, ...deleteElements, ...addElements, ...rules, ...tail, ...staleSets];
  if (applied && changes.length === 0) return { nftables: [] };
  return {
    nftables: [
      { add: { table: { family: T.family, name: T.name } } },
      { add: { chain: { family: T.family, table: T.name, name: ADMIN_CHAIN } } },
      ...changes,
    ],
  };
}

/** Elements in batches: one command per 10,000 keeps each JSON object of a sane size. */
function pushElements(
  out: NftCommand[],
  name: string,
  elements: readonly { key: unknown; verdict?: unknown }[],
): void {
  for (let i = 0; i < elements.length; i += 10_000) {
    const batch = elements.slice(i, i + 10_000);
    out.push({
      add: {
        element: {
          family: T.family,
          table: T.name,
          name,
          elem: batch.map((e) => (e.verdict === undefined ? e.key : [e.key, e.verdict])),
        },
      },
    });
  }
}

function declaration(name: string, set: DesiredSet): Record<string, unknown> {
  return {
    family: T.family,
    table: T.name,
    name,
    type: set.type,
    ...(set.kind === 'map' ? { map: 'verdict' } : {}),
    ...(set.interval ? { flags: ['interval'] } : {}),
    ...(set.counter ? { stmt: [{ counter: null }] } : {}),
  };
}

function chainDeclaration(name: string, chain: DesiredChain): Record<string, unknown> {
  return { family: T.family, table: T.name, name, ...(chain.base ?? {}) };
}

function sameDeclaration(a: DesiredSet, b: DesiredSet): boolean {
  return a.kind === b.kind && a.type === b.type && a.interval === b.interval && a.counter === b.counter;
}

function sameVerdict(a: { verdict?: unknown }, b: { verdict?: unknown }): boolean {
  return JSON.stringify(a.verdict) === JSON.stringify(b.verdict);
}
