import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { embeddedIpv4, type NumericIp, numberToIpv4, numericIpToString, toNumericIp } from './ip.js';

const v4 = (text: string): NumericIp => ({
  family: 4,
  value: text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0),
});
const v6 = (value: bigint): NumericIp => ({ family: 6, value });

describe('toNumericIp()', () => {
  const cases: [string, NumericIp | undefined][] = [
    ['192.168.1.1', v4('192.168.1.1')],
    ['0.0.0.0', v4('0.0.0.0')],
    ['255.255.255.255', v4('255.255.255.255')],
    ['::', v6(0n)],
    ['::1', v6(1n)],
    ['2001:db8::1', v6(0x20010db8000000000000000000000001n)],
    ['2001:DB8:0:0:0:0:0:1', v6(0x20010db8000000000000000000000001n)],
    ['fe80::', v6(0xfe800000000000000000000000000000n)],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', v6((1n << 128n) - 1n)],
    ['::ffff:192.168.1.1', v4('192.168.1.1')],
    ['::ffff:c0a8:101', v4('192.168.1.1')],
    ['::FFFF:C0A8:0101', v4('192.168.1.1')],
    ['0:0:0:0:0:ffff:c0a8:101', v4('192.168.1.1')],
    ['64:ff9b::192.168.1.1', v6(0x0064ff9b0000000000000000c0a80101n)],
    ['::192.168.1.1', v6(0xc0a80101n)],
    ['fe80::1%eth0', undefined],
    ['192.168.1', undefined],
    ['3232235777', undefined],
    ['0xc0a80101', undefined],
    ['192.168.1.256', undefined],
    ['[::1]', undefined],
    ['example.com', undefined],
    ['', undefined],
  ];
  for (const [text, expected] of cases) {
    test(`toNumericIp() reads '${text}'`, () => {
      assert.deepEqual(toNumericIp(text), expected);
    });
  }
});

describe('embeddedIpv4()', () => {
  const cases: [string, string | undefined][] = [
    ['64:ff9b::c0a8:101', '192.168.1.1'],
    ['64:ff9b::203.0.113.25', '203.0.113.25'],
    ['::c0a8:101', '192.168.1.1'],
    ['::0.0.0.2', '0.0.0.2'],
    ['::1', undefined],
    ['::', undefined],
    ['64:ff9b:1::c0a8:101', undefined],
    ['2001:db8::c0a8:101', undefined],
    ['192.168.1.1', undefined],
  ];
  for (const [text, expected] of cases) {
    test(`embeddedIpv4() of ${text} is ${expected ?? 'none'}`, () => {
      const value = embeddedIpv4(toNumericIp(text)!);
      assert.equal(value === undefined ? undefined : numberToIpv4(value), expected);
    });
  }
});

describe('numericIpToString()', () => {
  test('numericIpToString() writes canonical text that toNumericIp() reads back', () => {
    const address = fc.oneof(
      fc.integer({ min: 0, max: 0xffffffff }).map((value): NumericIp => ({ family: 4, value })),
      fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map((value): NumericIp => ({ family: 6, value })),
    );
    fc.assert(
      fc.property(address, (ip) => {
        const text = numericIpToString(ip);
        const back = toNumericIp(text);
        // An IPv4-mapped IPv6 address reads back as the IPv4 address it maps.
        const mapped = ip.family === 6 && ip.value >> 32n === 0xffffn;
        assert.deepEqual(back, mapped ? { family: 4, value: Number(ip.value & 0xffffffffn) } : ip, text);
      }),
      { numRuns: 2000 },
    );
  });

  test('numericIpToString() compresses IPv6 the usual way', () => {
    assert.equal(numericIpToString(v6(0x20010db8000000000000000000000001n)), '2001:db8::1');
    assert.equal(numericIpToString(v6(0n)), '::');
    assert.equal(numericIpToString(v4('10.0.0.1')), '10.0.0.1');
  });
});
