import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesToIp, formatMac, ipToBytes } from './encoding.js';

describe('encoding', () => {
  test('IPv4 text and bytes round-trip', () => {
    assert.deepEqual([...ipToBytes('10.1.2.3')], [10, 1, 2, 3]);
    assert.deepEqual(bytesToIp(Buffer.from([192, 0, 2, 1])), { address: '192.0.2.1', family: 4 });
  });

  test('IPv6 text and bytes round-trip, canonical on the way back', () => {
    const cases: [string, string][] = [
      ['fe80::1', 'fe80::1'],
      ['::', '::'],
      ['2001:DB8:0:0:1::1', '2001:db8::1:0:0:1'],
      ['::ffff:1.2.3.4', '::ffff:102:304'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ];
    for (const [text, canonical] of cases) {
      const bytes = ipToBytes(text);
      assert.equal(bytes.length, 16);
      assert.deepEqual(bytesToIp(bytes), { address: canonical, family: 6 });
    }
    assert.deepEqual([...ipToBytes('fe80::1')], [0xfe, 0x80, ...Array(13).fill(0), 1]);
  });

  test('bad input is refused', () => {
    assert.throws(() => ipToBytes('10.0.0.256'), TypeError);
    assert.throws(() => bytesToIp(Buffer.alloc(5)), TypeError);
  });

  test('formatMac writes two lower-case hex digits per byte', () => {
    assert.equal(formatMac(Buffer.from([2, 0, 0xab, 0, 0, 0x0f])), '02:00:ab:00:00:0f');
  });
});
