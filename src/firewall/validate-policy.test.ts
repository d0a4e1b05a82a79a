import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { readClusterObject } from '../cluster/objects.js';
import type { EgressNetworkPolicyObject } from '../cluster/types.js';
import { bigIntToIp, parseCanonicalCidr } from './ip-range.js';
import { isDns1123Subdomain, MAX_EGRESS_RULES, validatePolicy } from './validate-policy.js';

/** A policy as a manifest gives it, read as a source reads it. */
function policy(spec: unknown): EgressNetworkPolicyObject {
  const read = readClusterObject({
    apiVersion: 'network.openshift.io/v1',
    kind: 'EgressNetworkPolicy',
    metadata: { name: 'default', namespace: 'myproject' },
    spec,
  });
  assert.ok(read.ok && read.object?.kind === 'EgressNetworkPolicy');
  return read.object.object;
}

const withRules = (...egress: unknown[]) => policy({ egress });
const cidr = (type: unknown, cidrSelector: string) => ({ type, to: { cidrSelector } });
const dns = (type: unknown, dnsName: string) => ({ type, to: { dnsName } });

/** Every message of a refused policy, in order. */
function messages(p: EgressNetworkPolicyObject, maxRules?: number): string[] {
  const result = validatePolicy(p, maxRules);
  assert.equal(result.ok, false, 'the policy was accepted');
  return result.ok ? [] : result.errors.map((e) => e.message);
}

function range(text: string) {
  const parsed = parseCanonicalCidr(text);
  assert.ok(parsed.ok, text);
  return parsed.range;
}

describe('validatePolicy() accepts', () => {
  test("validatePolicy() accepts the seed's example policy, rules typed in order", () => {
    const result = validatePolicy(
      withRules(cidr('Allow', '1.2.3.0/24'), dns('Allow', 'www.foo.com'), cidr('Deny', '0.0.0.0/0')),
    );
    assert.deepEqual(result, {
      ok: true,
      rules: [
        { index: 0, type: 'Allow', to: { kind: 'cidr', cidr: '1.2.3.0/24', range: range('1.2.3.0/24') } },
        { index: 1, type: 'Allow', to: { kind: 'dns', name: 'www.foo.com' } },
        { index: 2, type: 'Deny', to: { kind: 'cidr', cidr: '0.0.0.0/0', range: range('0.0.0.0/0') } },
      ],
    });
  });

  test('validatePolicy() accepts IPv6 CIDRs, in canonical text', () => {
    const result = validatePolicy(
      withRules(
        cidr('Allow', '2001:db8:123::/48'),
        cidr('Allow', '2001:DB8:0:0::1/128'),
        cidr('Deny', '::/0'),
      ),
    );
    assert.deepEqual(result, {
      ok: true,
      rules: [
        {
          index: 0,
          type: 'Allow',
          to: { kind: 'cidr', cidr: '2001:db8:123::/48', range: range('2001:db8:123::/48') },
        },
        {
          index: 1,
          type: 'Allow',
          to: { kind: 'cidr', cidr: '2001:db8::1/128', range: range('2001:db8::1/128') },
        },
        { index: 2, type: 'Deny', to: { kind: 'cidr', cidr: '::/0', range: range('::/0') } },
      ],
    });
  });

  test('validatePolicy() accepts 0.0.0.0/32 as written (the planner corrects it)', () => {
    const result = validatePolicy(withRules(cidr('Deny', '0.0.0.0/32')));
    assert.deepEqual(result, {
      ok: true,
      rules: [
        { index: 0, type: 'Deny', to: { kind: 'cidr', cidr: '0.0.0.0/32', range: range('0.0.0.0/32') } },
      ],
    });
  });

  test('validatePolicy() accepts a policy without rules', () => {
    assert.deepEqual(validatePolicy(withRules()), { ok: true, rules: [] });
  });

  test('validatePolicy() accepts a rule with an empty other field (what the API server saw of it)', () => {
    const result = validatePolicy(
      withRules(
        { type: 'Allow', to: { cidrSelector: '10.0.0.0/8', dnsName: '' } },
        { type: 'Deny', to: { cidrSelector: '', dnsName: 'a.example' } },
      ),
    );
    assert.ok(result.ok);
    assert.deepEqual(
      result.rules.map((r) => r.to.kind),
      ['cidr', 'dns'],
    );
  });

  test(`validatePolicy() accepts exactly MAX_EGRESS_RULES (${MAX_EGRESS_RULES}) rules`, () => {
    assert.equal(MAX_EGRESS_RULES, 10_000);
    const egress = Array.from({ length: MAX_EGRESS_RULES }, (_, i) =>
      cidr('Deny', `10.${i >> 8}.${i & 255}.0/24`),
    );
    const result = validatePolicy(withRules(...egress));
    assert.ok(result.ok);
    assert.equal(result.rules.length, MAX_EGRESS_RULES);
    assert.equal(result.rules.at(-1)?.index, MAX_EGRESS_RULES - 1);
  });

  test('validatePolicy() keeps every canonical CIDR of either family, its range and its position (property)', () => {
    const network = (bits: 32 | 128, family: 4 | 6) =>
      fc
        .record({ value: fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }), prefix: fc.nat(bits) })
        .map(({ value, prefix }) => {
          const host = BigInt(bits - prefix);
          return `${bigIntToIp((value >> host) << host, family)}/${prefix}`;
        });
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            type: fc.constantFrom('Allow', 'Deny'),
            cidr: fc.oneof(network(32, 4), network(128, 6)),
          }),
          { maxLength: 30 },
        ),
        (rules) => {
          const result = validatePolicy(withRules(...rules.map((r) => cidr(r.type, r.cidr))));
          assert.deepEqual(result, {
            ok: true,
            rules: rules.map((r, index) => ({
              index,
              type: r.type,
              to: { kind: 'cidr', cidr: r.cidr, range: range(r.cidr) },
            })),
          });
        },
      ),
    );
  });
});

describe("validatePolicy() refuses with the OpenShift 3.x API server's messages", () => {
  // The lines of docs/node-agent.md, as `oc create` printed them.
  const cases: [string, unknown, string][] = [
    [
      'an unknown type',
      cidr('Foo', '1.2.3.0/24'),
      'spec.egress[0].type: Invalid value: "Foo": invalid policy type',
    ],
    [
      'a type in the wrong case',
      cidr('allow', '1.2.3.0/24'),
      'spec.egress[0].type: Invalid value: "allow": invalid policy type',
    ],
    [
      'a rule without a target',
      { type: 'Allow', to: {} },
      'spec.egress[0].to: Invalid value: network.EgressNetworkPolicyPeer{CIDRSelector:"", DNSName:""}: must specify cidrSelector or dnsName',
    ],
    [
      'a rule with both targets',
      { type: 'Allow', to: { cidrSelector: '1.2.3.0/24', dnsName: 'a.com' } },
      'spec.egress[0].to: Invalid value: network.EgressNetworkPolicyPeer{CIDRSelector:"1.2.3.0/24", DNSName:"a.com"}: either specify cidrSelector or dnsName but not both',
    ],
    [
      'a prefix too long',
      cidr('Deny', '1.2.3.0/33'),
      'spec.egress[0].to.cidrSelector: Invalid value: "1.2.3.0/33": invalid CIDR address: 1.2.3.0/33',
    ],
    [
      'an address without a prefix',
      cidr('Deny', '1.2.3.4'),
      'spec.egress[0].to.cidrSelector: Invalid value: "1.2.3.4": invalid CIDR address: 1.2.3.4',
    ],
    [
      'no address at all',
      cidr('Deny', 'example.com'),
      'spec.egress[0].to.cidrSelector: Invalid value: "example.com": invalid CIDR address: example.com',
    ],
    [
      'a non-canonical IPv4 CIDR',
      cidr('Deny', '1.2.3.4/24'),
      'spec.egress[0].to.cidrSelector: Invalid value: "1.2.3.4/24": CIDR network specification "1.2.3.4/24" is not in canonical form (should be 1.2.3.0/24 or 1.2.3.4/32?)',
    ],
    [
      'a non-canonical IPv6 CIDR',
      cidr('Deny', '2001:db8::1/64'),
      'spec.egress[0].to.cidrSelector: Invalid value: "2001:db8::1/64": CIDR network specification "2001:db8::1/64" is not in canonical form (should be 2001:db8::/64 or 2001:db8::1/128?)',
    ],
    [
      'a dnsName in upper case',
      dns('Allow', 'Foo.com'),
      'spec.egress[0].to.dnsName: Invalid value: "Foo.com": must conform to DNS 952 subdomain conventions',
    ],
    [
      'a dnsName with a trailing dot',
      dns('Allow', 'foo.com.'),
      'spec.egress[0].to.dnsName: Invalid value: "foo.com.": must conform to DNS 952 subdomain conventions',
    ],
    [
      'a wildcard dnsName',
      dns('Allow', '*.foo.com'),
      'spec.egress[0].to.dnsName: Invalid value: "*.foo.com": must conform to DNS 952 subdomain conventions',
    ],
  ];
  for (const [what, rule, message] of cases) {
    test(`validatePolicy() refuses ${what}: ${message}`, () => {
      const result = validatePolicy(withRules(rule));
      assert.deepEqual(result, {
        ok: false,
        errors: [{ field: message.slice(0, message.indexOf(':')), message }],
      });
    });
  }

  test('validatePolicy() names the rule by its position in spec.egress', () => {
    assert.deepEqual(
      messages(withRules(cidr('Allow', '1.2.3.0/24'), dns('Allow', 'ok.example'), cidr('Bad', '::/0'))),
      ['spec.egress[2].type: Invalid value: "Bad": invalid policy type'],
    );
  });

  test('validatePolicy() prints a missing type as "" and a type of another kind as Go would not decode it, as JSON', () => {
    assert.deepEqual(messages(withRules({ to: { cidrSelector: '1.2.3.0/24' } })), [
      'spec.egress[0].type: Invalid value: "": invalid policy type',
    ]);
    assert.deepEqual(messages(withRules({ type: null, to: { cidrSelector: '1.2.3.0/24' } })), [
      'spec.egress[0].type: Invalid value: "": invalid policy type',
    ]);
    assert.deepEqual(messages(withRules({ type: 5, to: { cidrSelector: '1.2.3.0/24' } })), [
      'spec.egress[0].type: Invalid value: 5: invalid policy type',
    ]);
  });

  test('validatePolicy() takes a rule that is no object as a rule without type and target', () => {
    assert.deepEqual(messages(withRules(null)), [
      'spec.egress[0].type: Invalid value: "": invalid policy type',
      'spec.egress[0].to: Invalid value: network.EgressNetworkPolicyPeer{CIDRSelector:"", DNSName:""}: must specify cidrSelector or dnsName',
    ]);
    assert.deepEqual(messages(withRules({ type: 'Deny', to: '1.2.3.0/24' })), [
      'spec.egress[0].to: Invalid value: network.EgressNetworkPolicyPeer{CIDRSelector:"", DNSName:""}: must specify cidrSelector or dnsName',
    ]);
  });

  test('validatePolicy() refuses a policy whose spec has no egress list', () => {
    for (const spec of [{}, { egress: null }, { egress: 'Deny 0.0.0.0/0' }, undefined]) {
      assert.deepEqual(validatePolicy(policy(spec)), {
        ok: false,
        errors: [{ field: 'spec.egress', message: 'spec.egress: Required value' }],
      });
    }
  });

  test('validatePolicy() with both targets also checks each of them', () => {
    assert.deepEqual(
      messages(withRules({ type: 'Allow', to: { cidrSelector: '1.2.3.4/24', dnsName: 'A.com' } })),
      [
        'spec.egress[0].to: Invalid value: network.EgressNetworkPolicyPeer{CIDRSelector:"1.2.3.4/24", DNSName:"A.com"}: either specify cidrSelector or dnsName but not both',
        'spec.egress[0].to.cidrSelector: Invalid value: "1.2.3.4/24": CIDR network specification "1.2.3.4/24" is not in canonical form (should be 1.2.3.0/24 or 1.2.3.4/32?)',
        'spec.egress[0].to.dnsName: Invalid value: "A.com": must conform to DNS 952 subdomain conventions',
      ],
    );
  });

  test('validatePolicy() reports every problem at once: per rule type, target, CIDR, name, then the limit', () => {
    const p = withRules(
      cidr('Foo', '1.2.3.4/24'),
      cidr('Allow', '1.2.3.0/24'),
      { type: 'Deny', to: {} },
      dns('Permit', 'Bad_Name.com'),
    );
    assert.deepEqual(messages(p, 3), [
      'spec.egress[0].type: Invalid value: "Foo": invalid policy type',
      'spec.egress[0].to.cidrSelector: Invalid value: "1.2.3.4/24": CIDR network specification "1.2.3.4/24" is not in canonical form (should be 1.2.3.0/24 or 1.2.3.4/32?)',
      'spec.egress[2].to: Invalid value: network.EgressNetworkPolicyPeer{CIDRSelector:"", DNSName:""}: must specify cidrSelector or dnsName',
      'spec.egress[3].type: Invalid value: "Permit": invalid policy type',
      'spec.egress[3].to.dnsName: Invalid value: "Bad_Name.com": must conform to DNS 952 subdomain conventions',
      'spec.egress: Invalid value: "": too many egress rules (max 3)',
    ]);
    const result = validatePolicy(p, 3);
    assert.ok(!result.ok);
    assert.deepEqual(
      result.errors.map((e) => e.field),
      [
        'spec.egress[0].type',
        'spec.egress[0].to.cidrSelector',
        'spec.egress[2].to',
        'spec.egress[3].type',
        'spec.egress[3].to.dnsName',
        'spec.egress',
      ],
    );
  });

  test(`validatePolicy() refuses more than MAX_EGRESS_RULES rules: too many egress rules (max ${MAX_EGRESS_RULES})`, () => {
    const egress = Array.from({ length: MAX_EGRESS_RULES + 1 }, () => cidr('Deny', '10.0.0.0/8'));
    assert.deepEqual(validatePolicy(withRules(...egress)), {
      ok: false,
      errors: [
        {
          field: 'spec.egress',
          message: 'spec.egress: Invalid value: "": too many egress rules (max 10000)',
        },
      ],
    });
  });

  test("validatePolicy() takes another limit, and OpenShift's 50 is within ours", () => {
    const fifty = Array.from({ length: 50 }, () => cidr('Deny', '10.0.0.0/8'));
    assert.equal(validatePolicy(withRules(...fifty)).ok, true);
    assert.equal(validatePolicy(withRules(...fifty), 50).ok, true);
    assert.deepEqual(messages(withRules(...fifty, cidr('Deny', '::/0')), 50), [
      'spec.egress: Invalid value: "": too many egress rules (max 50)',
    ]);
  });

  // Go's ValidateCIDRString prints the address part of its suggestion with `ip.String()`
  // (canonical text), so `2001:DB8::1/32` gets `2001:db8::1/128`. (IPv4 text is already canonical:
  // the parser refuses anything else.)
  test("validatePolicy() suggests the host CIDR in Go's canonical text (2001:DB8::1/32 → 2001:db8::1/128)", () => {
    assert.deepEqual(messages(withRules(cidr('Deny', '2001:DB8::1/32'))), [
      'spec.egress[0].to.cidrSelector: Invalid value: "2001:DB8::1/32": CIDR network specification "2001:DB8::1/32" is not in canonical form (should be 2001:db8::/32 or 2001:db8::1/128?)',
    ]);
    assert.deepEqual(messages(withRules(cidr('Deny', '2001:db8:0::1/32'))), [
      'spec.egress[0].to.cidrSelector: Invalid value: "2001:db8:0::1/32": CIDR network specification "2001:db8:0::1/32" is not in canonical form (should be 2001:db8::/32 or 2001:db8::1/128?)',
    ]);
  });
});

describe('isDns1123Subdomain()', () => {
  const max = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
  test('isDns1123Subdomain() takes lower-case labels of letters, digits and -, up to 253 characters', () => {
    assert.equal(max.length, 253);
    for (const name of [
      'a',
      'www.foo.com',
      'a-b.c0',
      '0.example',
      '123',
      'x--y.example',
      'a'.repeat(64),
      max,
    ]) {
      assert.equal(isDns1123Subdomain(name), true, name);
    }
  });

  test('isDns1123Subdomain() refuses upper case, trailing dots, empty labels, edges of -, other characters, 254 characters', () => {
    for (const name of [
      '',
      'Foo.com',
      'foo.com.',
      '.foo.com',
      'a..b',
      '-a.com',
      'a-.com',
      'a.-b',
      'a_b.com',
      '*.foo.com',
      'foo bar',
      'föö.com',
      'foo.com\n',
      `${max}e`,
    ]) {
      assert.equal(isDns1123Subdomain(name), false, JSON.stringify(name));
    }
  });

  test('validatePolicy() refuses a dnsName exactly when isDns1123Subdomain() does (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.domain(),
          fc.string({ minLength: 1, maxLength: 20 }),
          fc.stringMatching(/^[a-z0-9.-]{1,12}$/),
        ),
        (name) => {
          const result = validatePolicy(withRules(dns('Allow', name)));
          assert.equal(result.ok, isDns1123Subdomain(name));
          if (!result.ok)
            assert.deepEqual(
              result.errors.map((e) => e.message),
              [
                `spec.egress[0].to.dnsName: Invalid value: ${JSON.stringify(name)}: must conform to DNS 952 subdomain conventions`,
              ],
            );
        },
      ),
    );
  });
});
