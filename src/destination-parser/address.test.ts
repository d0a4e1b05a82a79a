import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Cidr, familyName, formatIpv6Pieces, type IpAddress, parseCidr, parseIp } from './address.js';

describe('parseIp()', () => {
  const cases: [string, IpAddress | undefined][] = [
    ['203.0.113.25', { address: '203.0.113.25', family: 4 }],
    ['0.0.0.0', { address: '0.0.0.0', family: 4 }],
    ['255.255.255.255', { address: '255.255.255.255', family: 4 }],
    ['2001:db8::1', { address: '2001:db8::1', family: 6 }],
    ['2001:DB8:0::1', { address: '2001:db8::1', family: 6 }],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', { address: '2001:db8::1', family: 6 }],
    ['2001:db8:0:0:1:0:0:1', { address: '2001:db8::1:0:0:1', family: 6 }],
    ['::ffff:1.2.3.4', { address: '::ffff:102:304', family: 6 }],
    ['::', { address: '::', family: 6 }],
    // Deviation: addresses are validated for real.
    ['300.1.2.3', undefined],
    ['256.0.0.1', undefined],
    ['1.2.3', undefined],
    ['1.2.3.4.5', undefined],
    ['01.2.3.4', undefined],
    ['1.2.3.04', undefined],
    ['0x1.2.3.4', undefined],
    ['1.2.3.4 ', undefined],
    [' 1.2.3.4', undefined],
    ['1.2.3.4/32', undefined],
    ['', undefined],
    ['fe80::1%eth0', undefined],
    ['[2001:db8::1]', undefined],
    ['2001:db8::1::2', undefined],
    ['2001:db8:::1', undefined],
    ['12345::1', undefined],
    ['example.com', undefined],
    ['localhost', undefined],
  ];
  for (const [text, expected] of cases) {
    test(`parseIp(${JSON.stringify(text)}) is ${expected ? `${expected.address} (IPv${expected.family})` : 'not an address'}`, () => {
      assert.deepEqual(parseIp(text), expected);
    });
  }
});

describe('parseCidr()', () => {
  const cases: [string, Cidr | undefined][] = [
    ['1.2.3.4', { address: '1.2.3.4', family: 4, prefix: 32 }],
    ['1.2.3.4/24', { address: '1.2.3.4', family: 4, prefix: 24 }],
    ['1.2.3.4/1', { address: '1.2.3.4', family: 4, prefix: 1 }],
    ['1.2.3.4/32', { address: '1.2.3.4', family: 4, prefix: 32 }],
    ['2001:db8::99', { address: '2001:db8::99', family: 6, prefix: 128 }],
    ['2001:DB8::99/64', { address: '2001:db8::99', family: 6, prefix: 64 }],
    ['2001:db8::99/128', { address: '2001:db8::99', family: 6, prefix: 128 }],
    // Deviation: a /33 is an error, not a rule that fails later.
    ['1.2.3.4/33', undefined],
    ['2001:db8::99/129', undefined],
    ['1.2.3.4/0', undefined],
    ['1.2.3.4/024', undefined],
    ['1.2.3.4/', undefined],
    ['1.2.3.4/+24', undefined],
    ['1.2.3.4/24/24', undefined],
    ['1.2.3.4/2 4', undefined],
    ['1.2.3.4/1000', undefined],
    ['300.1.2.3/24', undefined],
    ['/24', undefined],
    ['', undefined],
  ];
  for (const [text, expected] of cases) {
    test(`parseCidr(${JSON.stringify(text)}) is ${expected ? `${expected.address}/${expected.prefix}` : 'invalid'}`, () => {
      assert.deepEqual(parseCidr(text), expected);
    });
  }
});

test('familyName() spells the families as nftables and iproute2 do', () => {
  assert.equal(familyName(4), 'ipv4');
  assert.equal(familyName(6), 'ipv6');
});

describe('formatIpv6Pieces()', () => {
  test('compresses the first longest run of two or more zero pieces', () => {
    assert.equal(formatIpv6Pieces([0, 0, 0, 0, 0, 0, 0, 0]), '::');
    assert.equal(formatIpv6Pieces([0, 0, 0, 0, 0, 0, 0, 1]), '::1');
    assert.equal(formatIpv6Pieces([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]), '2001:db8::1:0:0:1');
    assert.equal(formatIpv6Pieces([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]), '2001:db8:0:1:1:1:1:1');
    assert.equal(formatIpv6Pieces([0xfe80, 0, 0, 0, 0xabcd, 0, 0, 0]), 'fe80::abcd:0:0:0');
    assert.equal(formatIpv6Pieces([1, 0, 0, 0, 0, 0, 0, 0]), '1::');
  });

  test('gives the same text as parseIp() of the uncompressed form, for any address', () => {
    const piece = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(piece, { minLength: 8, maxLength: 8 }), (pieces) => {
        const full = pieces.map((p) => p.toString(16)).join(':');
        assert.equal(formatIpv6Pieces(pieces), parseIp(full)?.address);
      }),
      { numRuns: 2000 },
    );
  });
});
