import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileFirstMatch, lookupCompiled, type RuleRange } from './compile-intervals.js';
import { bigIntToIp, ipToBigInt, parseCanonicalCidr } from './ip-range.js';

/** The linear reference: the first rule in order whose range holds the address. */
function firstMatch(ranges: readonly RuleRange[], address: bigint): number | undefined {
  let best: number | undefined;
  for (const range of ranges) {
    if (address >= range.start && address <= range.end && (best === undefined || range.rule < best))
      best = range.rule;
  }
  return best;
}

/** Ordered CIDR rules of one family: rule i is the i-th, as a policy lists them. */
function cidrRules(bits: number) {
  return fc
    .array(
      fc.record({
        value: fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }),
        prefix: fc.integer({ min: 0, max: bits }),
      }),
      { maxLength: 40 },
    )
    .map((cidrs) =>
      cidrs.map(({ value, prefix }, rule) => {
        const host = BigInt(bits - prefix);
        const start = (value >> host) << host;
        return { start, end: start | ((1n << host) - 1n), rule };
      }),
    );
}

describe('compileFirstMatch()', () => {
  test('a later wide rule is split around an earlier narrow one (the seed example order)', () => {
    const all = parseCanonicalCidr('0.0.0.0/0');
    const net = parseCanonicalCidr('1.2.3.0/24');
    assert.ok(all.ok && net.ok);
    const compiled = compileFirstMatch([
      { ...net.range, rule: 0 },
      { ...all.range, rule: 2 },
    ]);
    assert.deepEqual(
      compiled.map((r) => [bigIntToIp(r.start, 4), bigIntToIp(r.end, 4), r.rule]),
      [
        ['0.0.0.0', '1.2.2.255', 2],
        ['1.2.3.0', '1.2.3.255', 0],
        ['1.2.4.0', '255.255.255.255', 2],
      ],
    );
  });

  test('an earlier wide rule hides every later one', () => {
    const compiled = compileFirstMatch([
      { start: 0n, end: 100n, rule: 0 },
      { start: 10n, end: 20n, rule: 1 },
    ]);
    assert.deepEqual(compiled, [{ start: 0n, end: 100n, rule: 0 }]);
  });

  test('neighbouring ranges of one rule are merged; gaps stay uncovered', () => {
    const compiled = compileFirstMatch([
      { start: 0n, end: 9n, rule: 3 },
      { start: 10n, end: 19n, rule: 3 },
      { start: 30n, end: 39n, rule: 1 },
    ]);
    assert.deepEqual(compiled, [
      { start: 0n, end: 19n, rule: 3 },
      { start: 30n, end: 39n, rule: 1 },
    ]);
    assert.equal(lookupCompiled(compiled, 25n), undefined);
  });

  for (const [family, bits] of [
    ['IPv4', 32],
    ['IPv6', 128],
  ] as const) {
    test(`equals the linear first match on random ordered ${family} rule lists`, () => {
      fc.assert(
        fc.property(
          cidrRules(bits),
          fc.array(fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n })),
          (rules, probes) => {
            const compiled = compileFirstMatch(rules);
            for (let k = 1; k < compiled.length; k++) assert.ok(compiled[k - 1]!.end < compiled[k]!.start);
            const edges = rules.flatMap((r) => [r.start, r.end, r.start - 1n, r.end + 1n]);
            for (const address of [...probes, ...edges]) {
              assert.equal(lookupCompiled(compiled, address), firstMatch(rules, address));
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});

describe('ip-range', () => {
  test('parseCanonicalCidr() refuses host bits and says the network', () => {
    assert.deepEqual(parseCanonicalCidr('1.2.3.4/24'), {
      ok: false,
      reason: 'noncanonical',
      canonical: '1.2.3.0/24',
    });
    assert.deepEqual(parseCanonicalCidr('2001:db8::1/32'), {
      ok: false,
      reason: 'noncanonical',
      canonical: '2001:db8::/32',
    });
    for (const bad of ['1.2.3.0', '1.2.3.0/33', '300.1.1.0/24', '1.2.3.0/024', 'x/1', '::/129']) {
      assert.deepEqual(parseCanonicalCidr(bad), { ok: false, reason: 'invalid' }, bad);
    }
    const v6 = parseCanonicalCidr('::/0');
    assert.ok(v6.ok && v6.range.end === (1n << 128n) - 1n);
  });

  test('ipToBigInt() and bigIntToIp() round-trip', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (value) => {
        assert.equal(ipToBigInt(bigIntToIp(value, 6)), value);
        const v4 = value & 0xffffffffn;
        assert.equal(ipToBigInt(bigIntToIp(v4, 4)), v4);
      }),
    );
    assert.equal(ipToBigInt('::ffff:1.2.3.4'), 0xffff01020304n);
  });
});
