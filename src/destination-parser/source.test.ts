import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Cidr, IpAddress } from './address.js';
import { type PerFamily, parseGateway, parseSource, perFamilyFamilies, perFamilyValues } from './source.js';

const v4: Cidr = { address: '192.168.12.99', family: 4, prefix: 24 };
const v6: Cidr = { address: '2001:db8:12::99', family: 6, prefix: 64 };

describe('parseSource()', () => {
  const cases: [string | undefined, PerFamily<Cidr> | undefined][] = [
    ['1.2.3.4', { ipv4: { address: '1.2.3.4', family: 4, prefix: 32 } }],
    ['192.168.12.99/24', { ipv4: v4 }],
    ['2001:db8:12::99/64', { ipv6: v6 }],
    ['192.168.12.99/24,2001:db8:12::99/64', { ipv4: v4, ipv6: v6 }],
    ['2001:db8:12::99/64,192.168.12.99/24', { ipv4: v4, ipv6: v6 }],
    [' 192.168.12.99/24 , 2001:DB8:12:0::99/64 ', { ipv4: v4, ipv6: v6 }],
    [undefined, undefined],
    ['', undefined],
    ['   ', undefined],
    ['not an IP address', undefined],
    ['not\nan\nIP\naddress', undefined],
    ['300.1.2.3', undefined],
    ['1.2.3.4/33', undefined],
    ['1.2.3.4/0', undefined],
    ['1.2.3.4,', undefined],
    [',1.2.3.4', undefined],
    ['1.2.3.4,1.2.3.5', undefined],
    ['2001:db8::1,2001:db8::2', undefined],
    ['1.2.3.4,2001:db8::1,1.2.3.5', undefined],
    ['1.2.3.4 2001:db8::1', undefined],
    ['0.0.0.0', undefined],
    ['127.0.0.1', undefined],
    ['224.0.0.1', undefined],
    ['255.255.255.255', undefined],
    ['::', undefined],
    ['::1', undefined],
    ['ff02::1', undefined],
  ];
  for (const [value, expected] of cases) {
    test(`parseSource(${JSON.stringify(value)}) is ${expected ? 'valid' : 'invalid'}`, () => {
      assert.deepEqual(parseSource(value), expected);
    });
  }
});

describe('parseGateway()', () => {
  const cases: [string | undefined, PerFamily<IpAddress> | undefined][] = [
    ['1.1.1.1', { ipv4: { address: '1.1.1.1', family: 4 } }],
    ['fe80::1', { ipv6: { address: 'fe80::1', family: 6 } }],
    [
      '192.168.12.1,2001:db8:12::1',
      { ipv4: { address: '192.168.12.1', family: 4 }, ipv6: { address: '2001:db8:12::1', family: 6 } },
    ],
    [undefined, undefined],
    ['', undefined],
    ['not an IP address', undefined],
    ['1.1.1.1/24', undefined],
    ['1.1.1.1,1.1.1.2', undefined],
    ['0.0.0.0', undefined],
    ['127.0.0.1', undefined],
    ['ff02::2', undefined],
  ];
  for (const [value, expected] of cases) {
    test(`parseGateway(${JSON.stringify(value)}) is ${expected ? 'valid' : 'invalid'}`, () => {
      assert.deepEqual(parseGateway(value), expected);
    });
  }
});

test('perFamilyValues() lists IPv4 before IPv6 and skips a missing family', () => {
  assert.deepEqual(perFamilyValues({ ipv6: v6, ipv4: v4 }), [v4, v6]);
  assert.deepEqual(perFamilyValues({ ipv6: v6 }), [v6]);
  assert.deepEqual(perFamilyValues({}), []);
});

test('perFamilyFamilies() names the families that have a value', () => {
  assert.deepEqual([...perFamilyFamilies({ ipv4: v4, ipv6: v6 })], [4, 6]);
  assert.deepEqual([...perFamilyFamilies({ ipv6: v6 })], [6]);
  assert.deepEqual([...perFamilyFamilies({})], []);
});
