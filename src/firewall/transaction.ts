import type { NftCommand, NftDocument } from '../nat/ruleset.js';
import type { ElementChange, ElementOp } from '../network/nft-elements.js';
import { elementDiff, elementOp } from './element-diff.js';
import { ADMIN_CHAIN, type DesiredChain, type DesiredSet, type DesiredTable, NODE_TABLE } from './ruleset.js';

/** What is in our table before the first transaction of a run: names only (`nft -t` lists no elements). */
export interface ExistingTable {
  readonly chains: ReadonlySet<string>;
  /** Sets and maps, by their names in the kernel. */
  readonly sets: ReadonlySet<string>;
  /** Which of those are maps (deleted as `map`). */
  readonly maps?: ReadonlySet<string>;
}

/** What our table holds after a transaction: the plan it was made from, and the kernel's names. */
export interface AppliedTable {
  readonly table: DesiredTable;
  /** A set's name in the plan (`fw4-<namespace>`) → its name in the kernel (`fw4-<namespace>.<generation>`). */
  readonly physical: ReadonlyMap<string, string>;
  /** Each chain's rules as applied (JSON, with the kernel's set names). */
  readonly chains: ReadonlyMap<string, string>;
}

/**
 * One change of the table, in four steps that each are one kernel transaction or inert:
 *
 * 1. `prepare` (nft): the table and the admin chain (`add`: an existing one is left as it is), new
 *    sets and maps, new non-base chains. Nothing refers to them yet: no packet sees them.
 * 2. `fill` (element batches): the elements of the sets `prepare` made. Still nothing refers to them,
 *    so it may take several batches.
 * 3. `switch` (one element batch, all or nothing): the element changes of the sets in use (a rule
 *    edited, a DNS answer, a pod), including the pods' jumps to new namespace chains.
 * 4. `finish` (nft): new base chains, chains whose rules changed (flushed and refilled: now with the
 *    new sets), then what is no longer wanted: sets, then chains.
 *
 * A packet sees the table before step 3, between 3 and 4, or after 4: each a whole table. The element
 * steps go over nfnetlink, not nft: nft 1.0.6 reads every element of the ruleset before any element
 * command (about 1 s with 100,000 loaded); its steps here never hold an element.
 */
export interface FirewallTransaction {
  readonly prepare: NftDocument;
  readonly fill: readonly ElementOp[];
  readonly switch: readonly ElementOp[];
  readonly finish: NftDocument;
  /**
   * After `switch` and `finish`: the allowed-pairs caches flushed once more, a moment later (a packet
   * the kernel was still taking through the old table when a step committed may have added its pair
   * after that step's own flush).
   */
  readonly settle: readonly ElementOp[];
  /** What the table holds once all four steps succeeded. */
  readonly applied: AppliedTable;
}

/** Options of planTransaction. */
export interface TransactionOptions {
  /**
   * The largest element batch the kernel socket takes, in bytes: a `switch` that would not fit moves
   * its largest sets to new generations (filled in several batches, switched by `finish`).
   */
  readonly maxSwitchBytes?: number;
}

const T = NODE_TABLE;
/** Bytes an element op may take in a batch (an IPv6 range with its end element, or a jump). */
const OP_BYTES = 120;

/**
 * The transaction that turns our table from what it holds into `desired`. Pure.
 *
 * - `applied` known (this run's last transaction): element differences for the sets in use (so the
 *   unchanged elements keep their counters), chains rewritten only when their rules changed.
 * - `applied` unknown (the first transaction of a run; the table may have been left by an earlier
 *   run, with elements we do not know): every set is made anew under its next generation's name and
 *   every existing chain rewritten to it in `finish`; the old generation is deleted there. The admin
 *   chain is only ever created.
 *
 * @param desired the table wanted
 * @param applied what this run's last transaction made, if any
 * @param existing without `applied`: the names the table holds now (none when it does not exist)
 * @returns the four steps; {@link isEmpty} when nothing changes
 */
export function planTransaction(
  desired: DesiredTable,
  applied: AppliedTable | undefined,
  existing?: ExistingTable,
  options: TransactionOptions = {},
): FirewallTransaction {
  const maxSwitchBytes = options.maxSwitchBytes ?? Number.POSITIVE_INFINITY;
  const existingSets = applied ? new Set(applied.physical.values()) : new Set(existing?.sets ?? []);
  const existingMaps = applied
    ? new Set(
        [...applied.physical].filter(([l]) => applied.table.sets.get(l)?.kind === 'map').map(([, p]) => p),
      )
    : new Set(existing?.maps ?? []);
  const existingChains = applied ? new Set(applied.chains.keys()) : new Set(existing?.chains ?? []);
  existingChains.delete(ADMIN_CHAIN);

  // Sets: in use (element differences) or a new generation (declared, filled).
  const physical = new Map<string, string>();
  const live: { name: string; ops: ElementChange[] }[] = [];
  const fresh: string[] = [];
  for (const [name, set] of desired.sets) {
    const before = applied?.table.sets.get(name);
    const inKernel = applied?.physical.get(name);
    if (before && inKernel && sameDeclaration(before, set)) {
      physical.set(name, inKernel);
      if (before !== set) live.push({ name, ops: elementDiff(inKernel, before, set) });
    } else {
      fresh.push(name);
    }
  }
  // A switch too large for one batch: its largest sets are made anew instead.
  live.sort((a, b) => b.ops.length - a.ops.length);
  let switchSize = live.reduce((sum, l) => sum + l.ops.length, 0);
  while (live.length > 0 && switchSize * OP_BYTES > maxSwitchBytes) {
    const largest = live.shift() as { name: string; ops: ElementChange[] };
    switchSize -= largest.ops.length;
    physical.delete(largest.name);
    fresh.push(largest.name);
  }
  const prepare: NftCommand[] = [
    { add: { table: { family: T.family, name: T.name } } },
    { add: { chain: { family: T.family, table: T.name, name: ADMIN_CHAIN } } },
  ];
  const fill: ElementOp[] = [];
  /**
   * New caches are declared in the nft step that adds the rule filling them: nft then marks them
   * dynamic (its JSON has no such flag), as it does for `nft -f`.
   */
  const freshCaches: NftCommand[] = [];
  const taken = new Set([...existingSets, ...physical.values()]);
  for (const name of fresh) {
    const set = desired.sets.get(name) as DesiredSet;
    const kernelName = nextGeneration(name, taken);
    taken.add(kernelName);
    physical.set(name, kernelName);
    if (set.cache) {
      freshCaches.push({ add: { [set.kind]: declaration(kernelName, set) } });
      continue;
    }
    prepare.push({ add: { [set.kind]: declaration(kernelName, set) } });
    for (const element of set.elements.values()) fill.push(elementOp('add', kernelName, set, element));
  }
  const switchDeletes = live.flatMap((l) => l.ops.filter((op) => op.op === 'delete'));
  const switchAdds = live.flatMap((l) => l.ops.filter((op) => op.op === 'add'));
  // The caches of allowed pairs that are in use before and after this change.
  const caches = [...desired.sets]
    .filter(([name, set]) => set.cache && physical.has(name) && !fresh.includes(name))
    .map(([name]) => physical.get(name) as string);

  // Chains: new ones in prepare (base chains in finish: they are live once made), changed ones
  // rewritten in finish.
  const chains = new Map<string, string>();
  const prepareRules: NftCommand[] = [];
  const finishHead: NftCommand[] = [];
  const finishRules: NftCommand[] = [];
  for (const [name, chain] of desired.chains) {
    const rules = resolve(chain.rules, physical);
    const text = JSON.stringify(rules);
    chains.set(name, text);
    if (!existingChains.has(name)) {
      const target = chain.base ? finishHead : prepare;
      target.push({ add: { chain: chainDeclaration(name, chain) } });
      pushRules(chain.base ? finishRules : prepareRules, name, rules);
    } else if (applied?.chains.get(name) !== text) {
      if (!applied) finishHead.push({ add: { chain: chainDeclaration(name, chain) } });
      finishHead.push({ flush: { chain: { family: T.family, table: T.name, name } } });
      pushRules(finishRules, name, rules);
    }
  }
  const wanted = new Set(physical.values());
  const staleSets: NftCommand[] = [];
  for (const name of existingSets) {
    if (wanted.has(name)) continue;
    const kind = existingMaps.has(name) ? 'map' : 'set';
    staleSets.push({ delete: { [kind]: { family: T.family, table: T.name, name } } });
  }
  const staleChains: NftCommand[] = [];
  for (const name of existingChains) {
    if (desired.chains.has(name)) continue;
    finishHead.push({ flush: { chain: { family: T.family, table: T.name, name } } });
    staleChains.push({ delete: { chain: { family: T.family, table: T.name, name } } });
  }
  const inPrepare = JSON.stringify(prepareRules);
  for (const command of freshCaches) {
    const name = (Object.values(command.add as object)[0] as { name: string }).name;
    // After the table and the admin chain in prepare; first in finish, before the rules using it.
    if (inPrepare.includes(`"@${name}"`)) prepare.splice(2, 0, command);
    else finishHead.unshift(command);
  }
  const prepareCommands = [...prepare, ...prepareRules];
  const finishCommands = [...finishHead, ...finishRules, ...staleSets, ...staleChains];
  // Every change of what packets see flushes the caches in the same kernel transaction.
  const flushes: ElementOp[] = caches.map((set) => ({ op: 'flush', set }));
  const switchOps = [...switchDeletes, ...switchAdds];
  const switchStep = switchOps.length > 0 ? [...flushes, ...switchOps] : [];
  const allCaches = [...desired.sets]
    .filter(([, set]) => set.cache)
    .map(([name]) => physical.get(name) as string);
  const finishStep =
    finishCommands.length > 0
      ? [
          ...finishCommands,
          ...allCaches.map((name) => ({ flush: { set: { family: T.family, table: T.name, name } } })),
        ]
      : [];
  const changed = switchStep.length > 0 || finishStep.length > 0;
  return {
    // With nothing new, `prepare` would only re-add what is there: left out once a run has applied.
    prepare: { nftables: applied && prepareCommands.length === 2 ? [] : prepareCommands },
    fill,
    switch: switchStep,
    finish: { nftables: finishStep },
    settle: changed ? allCaches.map((set) => ({ op: 'flush' as const, set })) : [],
    applied: { table: desired, physical, chains },
  };
}

/** Whether a transaction changes nothing (`settle` only ever follows the others). */
export function isEmpty(transaction: FirewallTransaction): boolean {
  return transactionSize(transaction) === 0;
}

/** How many commands and element changes it holds (for logs and status). */
export function transactionSize(transaction: FirewallTransaction): number {
  return (
    transaction.prepare.nftables.length +
    transaction.fill.length +
    transaction.switch.length +
    transaction.finish.nftables.length
  );
}

/** A set's logical name without its generation (`fw4-a.3` → `fw4-a`). */
export function logicalName(kernelName: string): string {
  const dot = kernelName.lastIndexOf('.');
  return dot > 0 && /^\d+$/.test(kernelName.slice(dot + 1)) ? kernelName.slice(0, dot) : kernelName;
}

function nextGeneration(name: string, taken: ReadonlySet<string>): string {
  let generation = 0;
  for (const kernelName of taken) {
    if (logicalName(kernelName) !== name) continue;
    const dot = kernelName.lastIndexOf('.');
    const n = dot > 0 ? Number(kernelName.slice(dot + 1)) : 0;
    if (Number.isInteger(n) && n > generation) generation = n;
  }
  return `${name}.${generation + 1}`;
}

/** The rules with each `@set` reference given its kernel name. */
function resolve(rules: DesiredChain['rules'], physical: ReadonlyMap<string, string>): unknown[][] {
  const text = JSON.stringify(rules).replace(/"@([^"]+)"/g, (whole, name: string) => {
    const kernelName = physical.get(name);
    return kernelName ? JSON.stringify(`@${kernelName}`) : whole;
  });
  return JSON.parse(text) as unknown[][];
}

function pushRules(out: NftCommand[], chain: string, rules: readonly unknown[][]): void {
  for (const expr of rules) out.push({ add: { rule: { family: T.family, table: T.name, chain, expr } } });
}

function declaration(name: string, set: DesiredSet): Record<string, unknown> {
  if (set.cache) {
    return {
      family: T.family,
      table: T.name,
      name,
      type: [set.type, set.type],
      // nft 1.0.6's JSON has no `dynamic` flag; the kernel takes updates from rules into a set with a timeout.
      flags: ['timeout'],
      timeout: set.cache.timeoutSeconds,
      size: set.cache.size,
    };
  }
  return {
    family: T.family,
    table: T.name,
    name,
    type: set.type,
    ...(set.kind === 'map' ? { map: set.dataType ?? 'verdict' } : {}),
    ...(set.interval ? { flags: ['interval'] } : {}),
    ...(set.counter ? { stmt: [{ counter: null }] } : {}),
  };
}

function chainDeclaration(name: string, chain: DesiredChain): Record<string, unknown> {
  return { family: T.family, table: T.name, name, ...(chain.base ?? {}) };
}

function sameDeclaration(a: DesiredSet, b: DesiredSet): boolean {
  return (
    a.kind === b.kind &&
    a.type === b.type &&
    a.dataType === b.dataType &&
    a.interval === b.interval &&
    a.counter === b.counter &&
    a.cache?.timeoutSeconds === b.cache?.timeoutSeconds &&
    a.cache?.size === b.cache?.size
  );
}
