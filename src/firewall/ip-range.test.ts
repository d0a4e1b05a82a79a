import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseIp } from '../destination-parser/address.js';
import {
  addressRange,
  bigIntToIp,
  ipToBigInt,
  networkOf,
  parseCanonicalCidr,
  prefixOf,
  within,
} from './ip-range.js';

const V4_MAX = (1n << 32n) - 1n;
const V6_MAX = (1n << 128n) - 1n;

/** A network of one family: its first address and prefix, host bits clear. */
function network(bits: 32 | 128) {
  return fc
    .record({
      value: fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }),
      prefix: fc.integer({ min: 0, max: bits }),
    })
    .map(({ value, prefix }) => {
      const host = BigInt(bits - prefix);
      return { start: (value >> host) << host, prefix, host };
    });
}

describe('parseCanonicalCidr()', () => {
  const accepted: [string, string, 4 | 6, bigint, bigint, number][] = [
    ['10.0.0.0/8', '10.0.0.0/8', 4, 0x0a000000n, 0x0affffffn, 8],
    ['1.2.3.0/24', '1.2.3.0/24', 4, 0x01020300n, 0x010203ffn, 24],
    ['1.2.3.4/32', '1.2.3.4/32', 4, 0x01020304n, 0x01020304n, 32],
    ['0.0.0.0/0', '0.0.0.0/0', 4, 0n, V4_MAX, 0],
    ['0.0.0.0/32', '0.0.0.0/32', 4, 0n, 0n, 32],
    ['::/0', '::/0', 6, 0n, V6_MAX, 0],
    ['2001:db8::/32', '2001:db8::/32', 6, 0x20010db8n << 96n, (0x20010db8n << 96n) | ((1n << 96n) - 1n), 32],
    [
      '2001:DB8:0:0::/32',
      '2001:db8::/32',
      6,
      0x20010db8n << 96n,
      (0x20010db8n << 96n) | ((1n << 96n) - 1n),
      32,
    ],
    ['2001:db8::1/128', '2001:db8::1/128', 6, (0x20010db8n << 96n) | 1n, (0x20010db8n << 96n) | 1n, 128],
  ];
  for (const [text, canonical, family, start, end, prefix] of accepted) {
    test(`parseCanonicalCidr() takes ${text} as ${canonical}`, () => {
      assert.deepEqual(parseCanonicalCidr(text), {
        ok: true,
        range: { family, start, end },
        prefix,
        text: canonical,
      });
    });
  }

  const noncanonical: [string, string][] = [
    ['1.2.3.4/24', '1.2.3.0/24'],
    ['10.1.0.0/8', '10.0.0.0/8'],
    ['0.0.0.1/0', '0.0.0.0/0'],
    ['2001:db8::1/64', '2001:db8::/64'],
    ['2001:DB8::1/32', '2001:db8::/32'],
    ['::1/0', '::/0'],
  ];
  for (const [text, canonical] of noncanonical) {
    test(`parseCanonicalCidr() refuses ${text}, which has host bits set, naming ${canonical}`, () => {
      assert.deepEqual(parseCanonicalCidr(text), { ok: false, reason: 'noncanonical', canonical });
    });
  }

  const invalid = [
    '',
    '1.2.3.4',
    '2001:db8::',
    '1.2.3.0/33',
    '2001:db8::/129',
    '1.2.3.0/-1',
    '1.2.3.0/ 24',
    '1.2.3.0/24 ',
    '1.2.3.0/024',
    '1.2.3.0/',
    '/24',
    '1.2.3.0/24/1',
    '01.2.3.0/24',
    '1.2.3/24',
    '300.1.2.0/24',
    'fe80::1%eth0/64',
    '[2001:db8::]/32',
    'example.com/24',
  ];
  for (const text of invalid) {
    test(`parseCanonicalCidr() refuses ${JSON.stringify(text)} as invalid`, () => {
      assert.deepEqual(parseCanonicalCidr(text), { ok: false, reason: 'invalid' });
    });
  }

  test('parseCanonicalCidr() takes every canonical network and gives its range (property)', () => {
    for (const [bits, family] of [
      [32, 4],
      [128, 6],
    ] as const) {
      fc.assert(
        fc.property(network(bits), ({ start, prefix, host }) => {
          const text = `${bigIntToIp(start, family)}/${prefix}`;
          const parsed = parseCanonicalCidr(text);
          assert.deepEqual(parsed, {
            ok: true,
            range: { family, start, end: start | ((1n << host) - 1n) },
            prefix,
            text,
          });
        }),
      );
    }
  });

  test('parseCanonicalCidr() refuses an address with host bits set, naming the network that holds it (property)', () => {
    for (const [bits, family] of [
      [32, 4],
      [128, 6],
    ] as const) {
      fc.assert(
        fc.property(
          network(bits).filter(({ prefix }) => prefix < bits),
          fc.bigInt({ min: 1n, max: V6_MAX }),
          ({ start, prefix, host }, offset) => {
            const address = start + (offset % ((1n << host) - 1n)) + 1n;
            const parsed = parseCanonicalCidr(`${bigIntToIp(address, family)}/${prefix}`);
            assert.deepEqual(parsed, {
              ok: false,
              reason: 'noncanonical',
              canonical: `${bigIntToIp(start, family)}/${prefix}`,
            });
          },
        ),
      );
    }
  });
});

describe('addressRange()', () => {
  test('addressRange() is a range of one address, of its family', () => {
    assert.deepEqual(addressRange('1.2.3.4'), { family: 4, start: 0x01020304n, end: 0x01020304n });
    assert.deepEqual(addressRange('::1'), { family: 6, start: 1n, end: 1n });
    assert.deepEqual(addressRange('2001:DB8::1'), {
      family: 6,
      start: (0x20010db8n << 96n) | 1n,
      end: (0x20010db8n << 96n) | 1n,
    });
  });

  test('addressRange() keeps an IPv4-mapped IPv6 address IPv6', () => {
    assert.deepEqual(addressRange('::ffff:1.2.3.4'), {
      family: 6,
      start: 0xffff01020304n,
      end: 0xffff01020304n,
    });
  });

  test('addressRange() is undefined for what is not an address', () => {
    for (const text of ['', 'foo', '1.2.3.4/32', '1.2.3', '01.2.3.4', 'fe80::1%eth0', '[::1]', '1.2.3.4 ']) {
      assert.equal(addressRange(text), undefined, text);
    }
  });
});

describe('ipToBigInt() and bigIntToIp()', () => {
  test('ipToBigInt() gives the number of an address', () => {
    assert.equal(ipToBigInt('0.0.0.0'), 0n);
    assert.equal(ipToBigInt('0.0.0.1'), 1n);
    assert.equal(ipToBigInt('1.2.3.4'), 0x01020304n);
    assert.equal(ipToBigInt('255.255.255.255'), V4_MAX);
    assert.equal(ipToBigInt('::'), 0n);
    assert.equal(ipToBigInt('::1'), 1n);
    assert.equal(ipToBigInt('1::'), 1n << 112n);
    assert.equal(ipToBigInt('2001:db8::8:800:200c:417a'), 0x20010db80000000000080800200c417an);
    assert.equal(ipToBigInt('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), V6_MAX);
    assert.equal(ipToBigInt('::ffff:1.2.3.4'), 0xffff01020304n);
  });

  test('ipToBigInt() throws a RangeError naming what is not an address', () => {
    assert.throws(() => ipToBigInt('not-an-ip'), {
      name: 'RangeError',
      message: "not an IP address: 'not-an-ip'",
    });
    assert.throws(() => ipToBigInt('1.2.3.4/32'), RangeError);
  });

  test('bigIntToIp() writes IPv4 dotted and IPv6 in RFC 5952 form', () => {
    assert.equal(bigIntToIp(0n, 4), '0.0.0.0');
    assert.equal(bigIntToIp(0x01020304n, 4), '1.2.3.4');
    assert.equal(bigIntToIp(V4_MAX, 4), '255.255.255.255');
    assert.equal(bigIntToIp(0n, 6), '::');
    assert.equal(bigIntToIp(1n, 6), '::1');
    assert.equal(bigIntToIp(1n << 112n, 6), '1::');
    assert.equal(bigIntToIp((0x20010db8n << 96n) | 1n, 6), '2001:db8::1');
    // The first of two equally long runs of zeros is the one compressed; a single zero is not.
    assert.equal(bigIntToIp(0x20010db8000000000001000000000001n, 6), '2001:db8::1:0:0:1');
    assert.equal(bigIntToIp(0x20010db8000000010001000100010001n, 6), '2001:db8:0:1:1:1:1:1');
    assert.equal(bigIntToIp(V6_MAX, 6), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  });

  test('bigIntToIp() then ipToBigInt() gives the number back (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: V4_MAX }), (value) => {
        assert.equal(ipToBigInt(bigIntToIp(value, 4)), value);
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: V6_MAX }), (value) => {
        assert.equal(ipToBigInt(bigIntToIp(value, 6)), value);
      }),
    );
  });

  test('ipToBigInt() then bigIntToIp() gives the canonical text of any literal (property)', () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        assert.equal(bigIntToIp(ipToBigInt(text), 4), parseIp(text)?.address);
      }),
    );
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        assert.equal(bigIntToIp(ipToBigInt(text), 6), parseIp(text)?.address);
      }),
    );
  });
});

describe('prefixOf()', () => {
  test('prefixOf() gives the prefix of a range that is one network', () => {
    for (const text of ['0.0.0.0/0', '10.0.0.0/8', '1.2.3.4/32', '::/0', '2001:db8::/32', '::1/128']) {
      const parsed = parseCanonicalCidr(text);
      assert.ok(parsed.ok, text);
      assert.equal(prefixOf(parsed.range), parsed.prefix, text);
    }
  });

  test('prefixOf() is undefined for a range whose size is no power of two or whose start is not aligned', () => {
    assert.equal(prefixOf({ family: 4, start: 0n, end: 2n }), undefined);
    assert.equal(prefixOf({ family: 4, start: 1n, end: 2n }), undefined);
    assert.equal(prefixOf({ family: 4, start: 0x01020380n, end: 0x0102047fn }), undefined);
    assert.equal(prefixOf({ family: 6, start: 1n << 64n, end: (3n << 64n) - 1n }), undefined);
  });

  test('prefixOf() of a parsed network is its prefix (property)', () => {
    for (const [bits, family] of [
      [32, 4],
      [128, 6],
    ] as const) {
      fc.assert(
        fc.property(network(bits), ({ start, prefix, host }) => {
          assert.equal(prefixOf({ family, start, end: start | ((1n << host) - 1n) }), prefix);
        }),
      );
    }
  });
});

describe('networkOf() and within()', () => {
  test('networkOf() is the canonical network of an interface address, IPv4 and IPv6', () => {
    assert.equal(networkOf('192.168.50.11', 24)?.text, '192.168.50.0/24');
    assert.equal(networkOf('192.168.50.0', 24)?.text, '192.168.50.0/24');
    assert.equal(networkOf('fd00:50::11', 64)?.text, 'fd00:50::/64');
    assert.equal(networkOf('nope', 24), undefined);
  });

  test('within() holds a range wholly inside a network of its family only', () => {
    const net = (t: string) => {
      const r = parseCanonicalCidr(t);
      if (!r.ok) throw new Error(t);
      return r.range;
    };
    const nets = [net('10.128.0.0/14'), net('fd01::/48')];
    assert.equal(within(addressRange('10.130.1.2')!, nets), true);
    assert.equal(within(addressRange('10.132.0.0')!, nets), false);
    assert.equal(within(net('10.128.0.0/13'), nets), false, 'a range reaching outside');
    assert.equal(within(addressRange('fd01::5')!, nets), true);
    assert.equal(within(addressRange('::ffff:10.128.0.1')!, nets), false);
  });
});
