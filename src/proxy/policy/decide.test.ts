import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type CompiledPolicy, compilePolicy } from './compile-policy.js';
import { type Decision, decide, denyByName } from './decide.js';
import { type NumericIp, numericIpToString, toNumericIp } from './ip.js';
import { type Policy, type PolicyRule, parsePolicy } from './parse-policy.js';

function policyOf(text: string): Policy {
  const parsed = parsePolicy(text);
  if (!parsed.ok) assert.fail(`invalid policy: ${parsed.errors.map((e) => e.message).join(', ')}`);
  return parsed.value;
}

function compiled(text: string): CompiledPolicy {
  return compilePolicy(policyOf(text));
}

function ip(text: string): NumericIp {
  const value = toNumericIp(text);
  assert.ok(value, `${text} is an address`);
  return value;
}

/** The decision in short: `allow 3`, `deny 2`, `allow *`, `deny -` (no rule). */
function verdict(decision: Decision): string {
  const by = decision.rule ? String(decision.rule.index) : decision.result === 'allow' ? '*' : '-';
  return `${decision.result} ${by}`;
}

function decideText(policy: CompiledPolicy, host: string | undefined, addresses: string[]): string {
  return verdict(decide(policy, host, addresses.map(ip)));
}

describe('decide(): first match wins, names and addresses alike', () => {
  const policy = compiled(
    [
      '!blocked.example.com', //    1
      '*.example.com', //           2
      '!*.example.com', //          3 (never decides: rule 2 comes first)
      'www.example.org', //         4
      '!192.168.1.1', //            5
      '192.168.1.0/24', //          6
      '!2001:db8::1', //            7
      '2001:db8::/32', //           8
      '!*.late.example.net', //     9
      '10.0.0.0/8', //             10
      '*.late.example.net', //     11 (never decides: rule 9 comes first)
    ].join('\n'),
  );
  const cases: [string, string | undefined, string[], string][] = [
    ['a deny name before the domain that allows', 'blocked.example.com', ['10.0.0.1'], 'deny 1'],
    ['the domain allows its names', 'www.example.com', ['203.0.113.1'], 'allow 2'],
    ['the domain allows the domain itself', 'example.com', ['203.0.113.1'], 'allow 2'],
    ['an exact name', 'www.example.org', ['203.0.113.1'], 'allow 4'],
    ['an exact name does not cover names under it', 'a.www.example.org', ['203.0.113.1'], 'deny -'],
    ['a denied address before its allowed range', undefined, ['192.168.1.1'], 'deny 5'],
    ['another address of the range', undefined, ['192.168.1.2'], 'allow 6'],
    ['a denied IPv6 address before its allowed range', undefined, ['2001:db8::1'], 'deny 7'],
    ['another IPv6 address of the range', undefined, ['2001:db8::2'], 'allow 8'],
    ['an address rule before a name rule decides', 'x.late.example.net', ['192.168.1.7'], 'allow 6'],
    ['a name rule before an address rule decides', 'x.late.example.net', ['10.1.1.1'], 'deny 9'],
    ['nothing matches: denied without a final *', 'other.example.net', ['203.0.113.1'], 'deny -'],
    ['a name rule decides for every address of the name', 'www.example.com', ['192.168.1.1'], 'allow 2'],
  ];
  for (const [what, host, addresses, expected] of cases) {
    test(`decide(): ${what}`, () => {
      assert.equal(decideText(policy, host, addresses), expected);
    });
  }

  test('decide() lets a final * allow what no rule decided, never what a rule denied', () => {
    const open = compiled('!*.example.com\n!192.168.0.0/16\n*');
    assert.equal(decideText(open, 'www.example.org', ['203.0.113.1']), 'allow *');
    assert.equal(decideText(open, undefined, ['203.0.113.1']), 'allow *');
    assert.equal(decideText(open, 'www.example.com', ['203.0.113.1']), 'deny 1');
    assert.equal(decideText(open, undefined, ['192.168.3.4']), 'deny 2');
  });

  test('decide() gives the reasons logged and sent in the 403 body', () => {
    const policy = compiled('!*.bad.example\nexample.org\n*');
    assert.equal(
      decide(policy, 'x.bad.example', [ip('203.0.113.1')]).reason,
      "denied by rule 1 '!*.bad.example'",
    );
    assert.equal(
      decide(policy, 'example.org', [ip('203.0.113.1')]).reason,
      "allowed by rule 2 'example.org'",
    );
    assert.equal(decide(policy, 'example.net', [ip('203.0.113.1')]).reason, "allowed by the final '*'");
    assert.equal(
      decide(compiled('example.org'), 'example.net', [ip('203.0.113.1')]).reason,
      'no rule allows this destination',
    );
  });
});

describe('decide(): name rules', () => {
  const policy = compiled('!*.example.com\nexact.example.org\n*');
  const cases: [string, string, string][] = [
    ['the domain itself', 'example.com', 'deny 1'],
    ['a name under the domain', 'www.example.com', 'deny 1'],
    ['a name deep under the domain', 'a.b.c.example.com', 'deny 1'],
    ['a name that only ends with the same letters', 'notexample.com', 'allow *'],
    ['a name with the domain in the middle', 'example.com.evil.net', 'allow *'],
    ['the parent of the domain', 'com', 'allow *'],
    ['the exact name', 'exact.example.org', 'allow 2'],
  ];
  for (const [what, host, expected] of cases) {
    test(`decide() on *.example.com and an exact name: ${what} (${host})`, () => {
      assert.equal(decideText(policy, host, ['203.0.113.1']), expected);
    });
  }

  test('decide() never matches a name rule for an IP literal (no reverse DNS)', () => {
    const allowName = compiled('example.com');
    assert.equal(decideText(allowName, undefined, ['203.0.113.1']), 'deny -');
    const denyName = compiled('!example.com\n*');
    assert.equal(decideText(denyName, undefined, ['203.0.113.1']), 'allow *');
  });
});

describe('decide(): address rules of both families and embedded IPv4 addresses', () => {
  const policy = compiled(
    ['!192.168.1.0/24', '!2001:db8:bad::/48', '10.0.0.0/8', 'fd00::/8', '!0.0.0.0/0', '*'].join('\n'),
  );
  const cases: [string, string, string][] = [
    ['an IPv4 address in a denied range', '192.168.1.200', 'deny 1'],
    ['the IPv4-mapped form (read as IPv4)', '::ffff:192.168.1.1', 'deny 1'],
    ['the hex IPv4-mapped form', '::ffff:c0a8:101', 'deny 1'],
    ['the NAT64 form (64:ff9b::/96)', '64:ff9b::c0a8:101', 'deny 1'],
    ['the NAT64 form, dotted', '64:ff9b::192.168.1.1', 'deny 1'],
    ['the IPv4-compatible form', '::c0a8:101', 'deny 1'],
    ['an IPv6 address in a denied range', '2001:db8:bad:1::5', 'deny 2'],
    ['an IPv6 address just outside it', '2001:db8:bae::5', 'allow *'],
    ['an allowed IPv4 range', '10.200.0.1', 'allow 3'],
    ['NAT64 of an allowed IPv4 address', '64:ff9b::a01:203', 'allow 3'],
    ['an allowed IPv6 range', 'fd12::1', 'allow 4'],
    ['::/0 is not IPv4: other IPv4 is denied by 0.0.0.0/0', '203.0.113.1', 'deny 5'],
    ['IPv6 outside every rule goes to the final *', '2001:db8:1::1', 'allow *'],
    ['::1 does not embed IPv4', '::1', 'allow *'],
  ];
  for (const [what, address, expected] of cases) {
    test(`decide(): ${what} ${address}`, () => {
      assert.equal(decideText(policy, undefined, [address]), expected);
    });
  }

  test('decide() matches /0, /32, /128 and odd prefixes exactly at their edges', () => {
    const edges = compiled(['192.168.1.64/27', '2001:db8::/33', '203.0.113.7/32', '::2/128'].join('\n'));
    const table: [string, string][] = [
      ['192.168.1.63', 'deny -'],
      ['192.168.1.64', 'allow 1'],
      ['192.168.1.95', 'allow 1'],
      ['192.168.1.96', 'deny -'],
      ['2001:db8:7fff:ffff::1', 'allow 2'],
      ['2001:db8:8000::', 'deny -'],
      ['203.0.113.7', 'allow 3'],
      ['203.0.113.6', 'deny -'],
      ['::2', 'allow 4'],
      ['::3', 'deny -'],
    ];
    for (const [address, expected] of table)
      assert.equal(decideText(edges, undefined, [address]), expected, address);
    assert.equal(decideText(compiled('0.0.0.0/0'), undefined, ['255.255.255.255']), 'allow 1');
    assert.equal(decideText(compiled('::/0'), undefined, ['ffff::1']), 'allow 1');
  });
});

describe('decide(): a name with several addresses', () => {
  const policy = compiled('!203.0.113.27\n203.0.113.0/24\n*');

  test('decide() denies the whole request when any address is denied by a rule', () => {
    const decision = decide(policy, 'both.example', [ip('203.0.113.25'), ip('203.0.113.27')]);
    assert.equal(verdict(decision), 'deny 1');
    assert.deepEqual(decision.allowed, []);
    assert.deepEqual(
      decision.perAddress.map((d) => `${numericIpToString(d.address)} ${d.result} ${d.rule?.index}`),
      ['203.0.113.25 allow 2', '203.0.113.27 deny 1'],
    );
  });

  test('decide() allows only the addresses a rule or the final * allowed, in resolver order', () => {
    const decision = decide(compiled('203.0.113.0/24'), 'mixed.example', [
      ip('198.51.100.1'),
      ip('203.0.113.26'),
      ip('203.0.113.25'),
    ]);
    assert.equal(verdict(decision), 'allow 1');
    assert.deepEqual(decision.allowed.map(numericIpToString), ['203.0.113.26', '203.0.113.25']);
  });

  test('decide() denies a name that resolves to nothing', () => {
    assert.equal(verdict(decide(policy, 'empty.example', [])), 'deny -');
  });
});

describe('denyByName()', () => {
  test('denyByName() denies before resolving when a deny name rule comes before every address rule', () => {
    const policy = compiled('!*.bad.example\n!evil.example\n10.0.0.0/8\n!late.example\n*');
    assert.equal(denyByName(policy, 'x.bad.example')?.rule?.index, 1);
    assert.equal(denyByName(policy, 'evil.example')?.reason, "denied by rule 2 '!evil.example'");
    assert.equal(denyByName(policy, 'late.example'), undefined, 'an address rule comes first');
    assert.equal(denyByName(policy, 'good.example'), undefined);
    assert.equal(denyByName(compiled('good.example\n!*.example'), 'good.example'), undefined);
  });
});

/**
 * The reference: a linear first-match over the rules, with addresses compared as bit strings, written
 * apart from the indexed implementation (no shared helper) so that the two can disagree.
 */
function bits(address: NumericIp): string {
  const width = address.family === 4 ? 32 : 128;
  return address.value.toString(2).padStart(width, '0');
}

const NAT64_BITS = (0x64ff9bn << 96n).toString(2).padStart(128, '0').slice(0, 96);

function referenceMatches(rule: PolicyRule, host: string | undefined, address: NumericIp): boolean {
  const match = rule.match;
  if (match.kind === 'name') return host === match.name;
  if (match.kind === 'domain')
    return host !== undefined && (host === match.domain || host.endsWith(`.${match.domain}`));
  const network = bits(match.network).slice(0, match.prefix);
  const candidates = [address];
  if (address.family === 6) {
    const b = bits(address);
    const low = Number.parseInt(b.slice(96), 2);
    if (b.slice(0, 96) === NAT64_BITS || (/^0{96}$/.test(b.slice(0, 96)) && low > 1)) {
      candidates.push({ family: 4, value: low });
    }
  }
  return candidates.some((a) => a.family === match.network.family && bits(a).startsWith(network));
}

function referenceDecide(
  policy: Policy,
  host: string | undefined,
  addresses: readonly NumericIp[],
): Decision {
  const perAddress = addresses.map((address) => {
    const rule = policy.rules.find((r) => referenceMatches(r, host, address));
    const result: 'allow' | 'deny' = rule ? rule.action : policy.allowRest ? 'allow' : 'deny';
    return { address, result, rule };
  });
  for (const d of perAddress) {
    if (d.result === 'deny' && d.rule) {
      return {
        result: 'deny',
        allowed: [],
        rule: d.rule,
        reason: `denied by rule ${d.rule.index} '${d.rule.text}'`,
        perAddress,
      };
    }
  }
  const allowed = perAddress.filter((d) => d.result === 'allow');
  if (allowed.length === 0) {
    return {
      result: 'deny',
      allowed: [],
      rule: undefined,
      reason: 'no rule allows this destination',
      perAddress,
    };
  }
  const rule = allowed.find((d) => d.rule)?.rule;
  return {
    result: 'allow',
    allowed: allowed.map((d) => d.address),
    rule,
    reason: rule ? `allowed by rule ${rule.index} '${rule.text}'` : "allowed by the final '*'",
    perAddress,
  };
}

// Small pools, so that random rules and random requests meet often.
const label = fc.constantFrom('a', 'b', 'c', 'example', 'test', 'x-y');
const hostName = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));
const octet = fc.constantFrom(0, 1, 2, 10, 127, 168, 192, 255);
const ipv4Value = fc
  .tuple(octet, octet, octet, octet)
  .map(([a, b, c, d]) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0);
const group = fc.constantFrom(0, 1, 0x64, 0xff9b, 0x2001, 0xdb8, 0xfe80, 0xffff);
const ipv6Value = fc.oneof(
  fc
    .array(group, { minLength: 8, maxLength: 8 })
    .map((groups) => groups.reduce((v, g) => (v << 16n) | BigInt(g), 0n)),
  ipv4Value.map((v) => (0x64ff9bn << 96n) | BigInt(v)), // NAT64
  ipv4Value.map((v) => BigInt(v)), // IPv4-compatible
);
/** An address as the resolver or the target parser gives it (IPv4-mapped read as IPv4). */
const address: fc.Arbitrary<NumericIp> = fc
  .oneof(
    ipv4Value.map((value): NumericIp => ({ family: 4, value })),
    ipv6Value.map((value): NumericIp => ({ family: 6, value })),
  )
  .map((a) => toNumericIp(numericIpToString(a))!);
const ruleText = fc
  .tuple(
    fc.boolean(),
    fc.oneof(
      hostName,
      hostName.map((n) => `*.${n}`),
      fc
        .tuple(ipv4Value, fc.integer({ min: 0, max: 32 }))
        .map(([v, p]) => `${numericIpToString({ family: 4, value: v })}/${p}`),
      fc
        .tuple(ipv6Value, fc.integer({ min: 0, max: 128 }))
        .map(([v, p]) => `${numericIpToString({ family: 6, value: v })}/${p}`),
      ipv4Value.map((v) => numericIpToString({ family: 4, value: v })),
    ),
  )
  .map(([deny, text]) => `${deny ? '!' : ''}${text}`)
  .filter((text) => parsePolicy(text).ok);
const policyText = fc
  .tuple(fc.array(ruleText, { maxLength: 40 }), fc.boolean())
  .map(([rules, rest]) => [...rules, ...(rest ? ['*'] : [])].join('\n'))
  .filter((text) => text !== '');
const request = fc.tuple(
  fc.option(hostName, { nil: undefined }),
  fc.array(address, { minLength: 1, maxLength: 4 }),
);

describe('decide() agrees with a linear first-match reference', () => {
  test('decide() gives the reference decision for random policies and requests', () => {
    fc.assert(
      fc.property(policyText, fc.array(request, { minLength: 1, maxLength: 10 }), (text, requests) => {
        const policy = policyOf(text);
        const indexed = compilePolicy(policy);
        for (const [host, addresses] of requests) {
          assert.deepEqual(decide(indexed, host, addresses), referenceDecide(policy, host, addresses));
          const early = host === undefined ? undefined : denyByName(indexed, host);
          if (early) {
            const full = decide(indexed, host, addresses);
            assert.equal(full.result, 'deny', 'denyByName never denies what decide allows');
            assert.equal(full.rule, early.rule);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  // One policy of 10,000 rules, the same for every run.
  const bigPolicyText = fc.sample(fc.array(ruleText, { minLength: 10_000, maxLength: 10_000 }), {
    numRuns: 1,
    seed: 4,
  })[0]!;
  const bigPolicy = policyOf([...bigPolicyText, '*'].join('\n'));
  const bigIndexed = compilePolicy(bigPolicy);

  test('decide() over 10,000 rules gives the reference decision', () => {
    assert.equal(bigPolicy.rules.length, 10_000);
    fc.assert(
      fc.property(request, ([host, addresses]) => {
        assert.deepEqual(decide(bigIndexed, host, addresses), referenceDecide(bigPolicy, host, addresses));
      }),
      { numRuns: 300 },
    );
  });
});

describe('decide() costs the same with 10 rules or 10,000 (indexes)', () => {
  /** A policy of `count` rules using the same prefix lengths and name shapes whatever its size. */
  function sizedPolicy(count: number): Policy {
    const lines: string[] = [];
    for (let i = 0; lines.length < count; i++) {
      const a = (i >> 8) & 255;
      const b = i & 255;
      const forms = [
        `!n${i}.example.com`,
        `*.d${i}.example.org`,
        `10.${a}.${b}.0/24`,
        `!172.${a % 16}.${b}.7/32`,
        `11.${a}.0.0/16`,
        `2001:db8:${a.toString(16)}:${b.toString(16)}::/64`,
        `!fd00:${a.toString(16)}:${b.toString(16)}::1/128`,
        `2001:db9:${i.toString(16)}::/48`,
        `12.0.0.0/8`,
        `2001:dba::/32`,
      ];
      lines.push(forms[lines.length % forms.length]!);
    }
    return policyOf([...lines, '*'].join('\n'));
  }

  const requests: [string | undefined, NumericIp[]][] = [
    ['www.n5.example.com', [ip('203.0.113.1')]],
    ['a.b.c.d9.example.org', [ip('198.51.100.7'), ip('2001:db8:ffff::1')]],
    [undefined, [ip('10.0.3.9')]],
    [undefined, [ip('fd00:1:2::1')]],
    ['nothing.example.net', [ip('192.0.2.1'), ip('2001:db8:1::1')]],
  ];

  /** Nanoseconds per decision: the best of several rounds, so that a busy machine hurts less. */
  function nsPerDecision(
    run: (host: string | undefined, addresses: NumericIp[]) => unknown,
    rounds: number,
  ): number {
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 5; round++) {
      const started = process.hrtime.bigint();
      for (let i = 0; i < rounds; i++) {
        const [host, addresses] = requests[i % requests.length]!;
        run(host, addresses);
      }
      best = Math.min(best, Number(process.hrtime.bigint() - started) / rounds);
    }
    return best;
  }

  test('decide() takes about as long per decision with 10,000 rules as with 10, where a linear scan takes far longer', (t) => {
    const small = sizedPolicy(10);
    const large = sizedPolicy(10_000);
    const smallIndexed = compilePolicy(small);
    const largeIndexed = compilePolicy(large);
    const indexedSmall = nsPerDecision((h, a) => decide(smallIndexed, h, a), 20_000);
    const indexedLarge = nsPerDecision((h, a) => decide(largeIndexed, h, a), 20_000);
    const linearSmall = nsPerDecision((h, a) => referenceDecide(small, h, a), 2_000);
    const linearLarge = nsPerDecision((h, a) => referenceDecide(large, h, a), 10);
    t.diagnostic(
      `ns per decision: indexed ${indexedSmall.toFixed(0)} / ${indexedLarge.toFixed(0)}, linear ${linearSmall.toFixed(0)} / ${linearLarge.toFixed(0)} (10 / 10,000 rules)`,
    );
    assert.ok(
      indexedLarge < indexedSmall * 4,
      `indexed: ${indexedSmall.toFixed(0)} ns with 10 rules, ${indexedLarge.toFixed(0)} ns with 10,000`,
    );
    assert.ok(
      linearLarge > linearSmall * 50,
      `the check can tell a linear scan: ${linearSmall.toFixed(0)} ns with 10 rules, ${linearLarge.toFixed(0)} ns with 10,000`,
    );
  });
});
