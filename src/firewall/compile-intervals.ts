/**
 * Ordered, possibly overlapping address ranges with a rule each (the first rule that contains an
 * address decides) compiled to disjoint ranges labelled with that first rule: what an nftables
 * interval verdict map holds, one lookup per packet however many rules there are.
 */

/** A range of one rule: `rule` is its position, lower first (it wins where ranges overlap). */
export interface RuleRange {
  readonly start: bigint;
  /** Inclusive. */
  readonly end: bigint;
  readonly rule: number;
}

/**
 * Compiles ordered rule ranges to disjoint ranges, each with the first rule (lowest `rule`) that
 * covers it, sorted by start; neighbouring ranges of the same rule are merged, addresses no rule
 * covers are in none. O(n log n) in the number of ranges. Pure.
 *
 * @param ranges the rules' ranges, any order, of one address family
 * @returns disjoint ranges with their deciding rule
 * @example compileFirstMatch([{start: 0n, end: 255n, rule: 1}, {start: 10n, end: 20n, rule: 0}])
 *   // [{0..9, rule 1}, {10..20, rule 0}, {21..255, rule 1}]
 */
export function compileFirstMatch(ranges: readonly RuleRange[]): RuleRange[] {
  if (ranges.length === 0) return [];
  // Events: a range opens at its start and closes at end + 1.
  const opens = [...ranges].sort((a, b) => compare(a.start, b.start));
  const closes = [...ranges].sort((a, b) => compare(a.end, b.end));
  const heap = new MinHeap();
  const open = new Map<number, number>(); // rule -> how many of its ranges are open
  const out: RuleRange[] = [];
  let i = 0;
  let j = 0;
  let cursor: bigint | undefined;
  const emit = (start: bigint, end: bigint) => {
    const rule = winner(heap, open);
    if (rule === undefined || start > end) return;
    const last = out[out.length - 1];
    if (last !== undefined && last.rule === rule && last.end + 1n === start) {
      out[out.length - 1] = { start: last.start, end, rule };
    } else {
      out.push({ start, end, rule });
    }
  };
  while (i < opens.length || j < closes.length) {
    const nextOpen = i < opens.length ? opens[i]!.start : undefined;
    const nextClose = j < closes.length ? closes[j]!.end + 1n : undefined;
    const point =
      nextOpen !== undefined && (nextClose === undefined || nextOpen <= nextClose) ? nextOpen : nextClose!;
    if (cursor !== undefined && point > cursor) emit(cursor, point - 1n);
    while (j < closes.length && closes[j]!.end + 1n === point) {
      const rule = closes[j++]!.rule;
      open.set(rule, (open.get(rule) ?? 1) - 1);
    }
    while (i < opens.length && opens[i]!.start === point) {
      const rule = opens[i++]!.rule;
      open.set(rule, (open.get(rule) ?? 0) + 1);
      heap.push(rule);
    }
    cursor = point;
  }
  return out;
}

/**
 * The rule deciding an address in compiled ranges (binary search), or undefined. Pure.
 *
 * @param compiled output of compileFirstMatch
 * @param address the address
 */
export function lookupCompiled(compiled: readonly RuleRange[], address: bigint): number | undefined {
  let low = 0;
  let high = compiled.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const range = compiled[mid]!;
    if (address < range.start) high = mid - 1;
    else if (address > range.end) low = mid + 1;
    else return range.rule;
  }
  return undefined;
}

function winner(heap: MinHeap, open: Map<number, number>): number | undefined {
  while (heap.size > 0 && (open.get(heap.peek()!) ?? 0) <= 0) heap.pop();
  return heap.peek();
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A binary min-heap of rule numbers (duplicates allowed; stale entries dropped by the caller). */
class MinHeap {
  readonly #items: number[] = [];
  get size(): number {
    return this.#items.length;
  }
  peek(): number | undefined {
    return this.#items[0];
  }
  push(value: number): void {
    const items = this.#items;
    items.push(value);
    let k = items.length - 1;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (items[parent]! <= value) break;
      items[k] = items[parent]!;
      k = parent;
    }
    items[k] = value;
  }
  pop(): void {
    const items = this.#items;
    const last = items.pop()!;
    if (items.length === 0) return;
    let k = 0;
    for (;;) {
      const left = 2 * k + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right]! < items[left]! ? right : left;
      if (items[child]! >= last) break;
      items[k] = items[child]!;
      k = child;
    }
    items[k] = last;
  }
}
