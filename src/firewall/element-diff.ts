/**
 * A set's element changes in the element batches' terms (src/network/nft-elements.ts): what to add and
 * delete to turn one set's elements into another's, and one element as an op. Pure.
 */
import type { ElementChange, ElementVerdict } from '../network/nft-elements.js';
import type { DesiredElement, DesiredSet, Verdict } from './ruleset.js';

/**
 * The deletes and adds that turn `before`'s elements into `after`'s: an element whose value changed
 * is deleted and added again (so it gets a fresh counter).
 *
 * @param kernelName the set's name in the kernel
 */
export function elementDiff(kernelName: string, before: DesiredSet, after: DesiredSet): ElementChange[] {
  const ops: ElementChange[] = [];
  for (const [key, element] of before.elements) {
    const now = after.elements.get(key);
    if (!now || !sameValue(now, element)) ops.push(elementOp('delete', kernelName, before, element));
  }
  for (const [key, element] of after.elements) {
    const was = before.elements.get(key);
    if (!was || !sameValue(was, element)) ops.push(elementOp('add', kernelName, after, element));
  }
  return ops;
}

/** One element as an add or a delete of the set's kernel name (a map element's value on adds only). */
export function elementOp(
  op: 'add' | 'delete',
  set: string,
  declared: DesiredSet,
  element: DesiredElement,
): ElementChange {
  return {
    op,
    set,
    interval: declared.interval,
    family: element.range.family,
    start: element.range.start,
    end: element.range.end,
    ...(op === 'add' && element.verdict ? { verdict: elementVerdict(element.verdict) } : {}),
    ...(op === 'add' && element.value ? { value: element.value.bytes } : {}),
  };
}

function elementVerdict(verdict: Verdict): ElementVerdict {
  if ('drop' in verdict) return 'drop';
  if ('return' in verdict) return 'return';
  return { jump: verdict.jump.target };
}

function sameValue(a: DesiredElement, b: DesiredElement): boolean {
  return sameVerdict(a.verdict, b.verdict) && a.value?.text === b.value?.text;
}

function sameVerdict(a: Verdict | undefined, b: Verdict | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  if ('jump' in a) return 'jump' in b && a.jump.target === b.jump.target;
  return 'drop' in a ? 'drop' in b : 'return' in b;
}
