import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { holdsAny } from './kernel-events.js';

/** A netlink message header of this type and length (host byte order), padded to 4 bytes. */
function message(type: number, payload = 0): Buffer {
  const length = 16 + payload;
  const bytes = Buffer.alloc((length + 3) & ~3);
  bytes.writeUInt32LE(length, 0);
  bytes.writeUInt16LE(type, 4);
  return bytes;
}

describe('holdsAny', () => {
  const deletions = new Set([(10 << 8) | 2, (10 << 8) | 5]);
  test('finds a type in any message of a datagram, padding included', () => {
    assert.equal(holdsAny(message((10 << 8) | 2), deletions), true);
    assert.equal(
      holdsAny(Buffer.concat([message((10 << 8) | 3, 5), message((10 << 8) | 5)]), deletions),
      true,
    );
    assert.equal(
      holdsAny(Buffer.concat([message((10 << 8) | 3, 5), message((10 << 8) | 15)]), deletions),
      false,
    );
  });
  test('stops at a truncated or malformed header', () => {
    assert.equal(holdsAny(Buffer.alloc(8), deletions), false);
    const bad = message(1);
    bad.writeUInt32LE(4, 0);
    assert.equal(holdsAny(Buffer.concat([bad, message((10 << 8) | 2)]), deletions), false);
  });
});
