import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { assignSlots, NAME_SLOTS, slotAddresses } from './name-slots.js';

const ADDRESSES = fc.uniqueArray(fc.ipV4(), { minLength: 0, maxLength: 8 });

function counts(slots: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const address of slots) out.set(address, (out.get(address) ?? 0) + 1);
  return out;
}

describe('name slots', () => {
  test('slotAddresses() spreads the sorted addresses round robin over every slot', () => {
    const slots = slotAddresses(['10.0.0.2', '10.0.0.1']);
    assert.equal(slots.length, NAME_SLOTS);
    assert.deepEqual(slots.slice(0, 4), ['10.0.0.1', '10.0.0.2', '10.0.0.1', '10.0.0.2']);
    assert.deepEqual(slotAddresses([]), []);
  });

  test('assignSlots() gives each address its even share and keeps every slot it can', () => {
    fc.assert(
      fc.property(ADDRESSES, ADDRESSES, (first, second) => {
        const before = slotAddresses(first);
        const after = assignSlots(before, second);
        if (second.length === 0) {
          assert.deepEqual(after, []);
          return;
        }
        assert.equal(after.length, NAME_SLOTS);
        const share = counts(after);
        assert.deepEqual([...share.keys()].sort(), [...second].sort());
        const low = Math.floor(NAME_SLOTS / second.length);
        for (const n of share.values()) assert.ok(n === low || n === low + 1);
        // The fewest moves an even spread allows: each address keeps min(share, held) slots.
        const held = counts(before);
        const kept = after.filter((address, slot) => before[slot] === address).length;
        const best = [...share].reduce((sum, [address, n]) => sum + Math.min(n, held.get(address) ?? 0), 0);
        if (before.length > 0) assert.equal(kept, best);
      }),
    );
  });

  test('assignSlots() moves nothing for the same set, a third of the slots for a third address', () => {
    const two = slotAddresses(['a', 'b']);
    assert.deepEqual(assignSlots(two, ['b', 'a']), two);
    const three = assignSlots(two, ['a', 'b', 'c']);
    assert.equal(three.filter((address, slot) => two[slot] === address).length, 40);
    // Consecutive slots still alternate: no run of one address longer than 2.
    assert.ok(!/(.)\1\1/.test(three.join('')), three.join(''));
  });
});
