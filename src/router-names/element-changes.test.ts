import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { assignSlots, slotAddresses } from '../nat/name-slots.js';
import { bytesToIp } from '../network/encoding.js';
import type { ElementChange } from '../network/nft-elements.js';
import { nameElementChanges, slotKey } from './element-changes.js';

/** Applies element ops to a map of key to address, as the kernel would (a clash throws). */
function apply(map: Map<bigint, string>, ops: readonly ElementChange[]): void {
  for (const op of ops) {
    if (op.op === 'delete') {
      assert.ok(map.delete(op.start), `delete of a missing key ${op.start}`);
    } else {
      assert.ok(!map.has(op.start), `add over an existing key ${op.start}`);
      map.set(op.start, bytesToIp(op.value as Uint8Array).address);
    }
  }
}

const ADDRESSES = fc.uniqueArray(fc.oneof(fc.ipV4(), fc.constantFrom('2001:db8::1', '2001:db8::2')), {
  maxLength: 6,
});

describe('nameElementChanges()', () => {
  test('nameElementChanges() turns one map into the other, deletes first, touching changed slots only', () => {
    fc.assert(
      fc.property(ADDRESSES, ADDRESSES, (first, second) => {
        const before = slotAddresses(first);
        const after = assignSlots(before, second);
        const ops = nameElementChanges('name4_tcp_80', before, after) as ElementChange[];
        const firstAdd = ops.findIndex((op) => op.op === 'add');
        assert.ok(firstAdd === -1 || ops.slice(firstAdd).every((op) => op.op === 'add'), 'deletes first');
        const map = new Map(before.map((address, slot) => [slotKey(slot), address]));
        apply(map, ops);
        assert.deepEqual(map, new Map(after.map((address, slot) => [slotKey(slot), address])));
        const changed = Array.from({ length: 60 }, (_, s) => s).filter((s) => before[s] !== after[s]).length;
        assert.ok(ops.length <= 2 * changed);
        assert.ok(ops.every((op) => op.set === 'name4_tcp_80' && !op.interval && op.family === 4));
      }),
    );
  });

  test('nameElementChanges() of equal maps is nothing', () => {
    const slots = slotAddresses(['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(nameElementChanges('m', slots, [...slots]), []);
  });

  test('slotKey() writes the slot in host byte order for a big-endian encoder', () => {
    assert.equal(slotKey(1, true), 0x01000000n);
    assert.equal(slotKey(0x0102, true), 0x02010000n);
    assert.equal(slotKey(59, false), 59n);
    assert.throws(() => slotKey(-1), RangeError);
  });
});
