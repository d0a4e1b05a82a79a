import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ClusterStateBuilder, readClusterObject } from '../cluster/objects.js';
import type { Family } from '../destination-parser/address.js';
import type { Counter, TableCounters } from './apply.js';
import { compileFirstMatch, type RuleRange } from './compile-intervals.js';
import { bigIntToIp, type IpRange, ipToBigInt, parseCanonicalCidr, prefixOf } from './ip-range.js';
import { type FirewallPlan, type NamespaceFirewall, planFirewall } from './plan.js';
import { countersByRule } from './rule-counters.js';
import type { EgressRule } from './validate-policy.js';

// The key texts below are written out as TableCounters documents them (`fw4-<namespace>`,
// `ns-<namespace>`; an element as `1.2.3.0/24`, `a-b` or an address), not taken from the
// ruleset builder, so that a change of either side's naming shows here.

function cidr(text: string): IpRange {
  const parsed = parseCanonicalCidr(text);
  assert.ok(parsed.ok, text);
  return parsed.range;
}

const cidrRule = (index: number, type: 'Allow' | 'Deny', text: string): EgressRule => ({
  index,
  type,
  to: { kind: 'cidr', cidr: text, range: cidr(text) },
});
const dnsRule = (index: number, type: 'Allow' | 'Deny', name: string): EgressRule => ({
  index,
  type,
  to: { kind: 'dns', name },
});

/** A disjoint range from address texts, decided by rule. */
const piece = (start: string, end: string, rule: number): RuleRange => ({
  start: ipToBigInt(start),
  end: ipToBigInt(end),
  rule,
});

function enforce(
  rules: readonly EgressRule[],
  ranges: { 4?: readonly RuleRange[]; 6?: readonly RuleRange[] },
): NamespaceFirewall {
  return { mode: 'enforce', policy: 'ns/default', rules, ranges: { 4: ranges[4] ?? [], 6: ranges[6] ?? [] } };
}

function planOf(namespaces: Record<string, NamespaceFirewall>): FirewallPlan {
  return {
    clusterNetworks: [cidr('10.128.0.0/14')],
    serviceNetworks: [cidr('172.30.0.0/16')],
    namespaces: new Map(Object.entries(namespaces)),
    pods: new Map(),
    statuses: [],
    dnsNames: new Set(),
  };
}

const c = (packets: number, bytes: number): Counter => ({ packets, bytes });

function countersOf(
  elements: Record<string, Record<string, Counter>>,
  chains: Record<string, Counter> = {},
): TableCounters {
  return {
    elements: new Map(Object.entries(elements).map(([map, keys]) => [map, new Map(Object.entries(keys))])),
    chains: new Map(Object.entries(chains)),
  };
}

describe('countersByRule(): element counters summed per rule', () => {
  test('countersByRule() of an empty plan is empty, whatever the table counted', () => {
    const counters = countersOf({ 'fw4-gone': { '1.2.3.0/24': c(1, 60) } }, { 'ns-gone': c(2, 120) });
    assert.deepEqual(countersByRule(planOf({}), counters), []);
  });

  test('countersByRule() sums every piece of a rule that an earlier rule split', () => {
    // Allow 10.1.0.0/16, then Deny 10.0.0.0/8: the Deny decides the two pieces around the Allow.
    const plan = planOf({
      alpha: enforce([cidrRule(0, 'Allow', '10.1.0.0/16'), cidrRule(1, 'Deny', '10.0.0.0/8')], {
        4: [
          piece('10.0.0.0', '10.0.255.255', 1),
          piece('10.1.0.0', '10.1.255.255', 0),
          piece('10.2.0.0', '10.255.255.255', 1),
        ],
      }),
    });
    const counters = countersOf(
      {
        'fw4-alpha': {
          '10.0.0.0/16': c(3, 300),
          '10.1.0.0/16': c(5, 500),
          '10.2.0.0-10.255.255.255': c(7, 700),
        },
      },
      { 'ns-alpha': c(11, 1100) },
    );
    assert.deepEqual(countersByRule(plan, counters), [
      {
        namespace: 'alpha',
        rules: [
          { index: 0, type: 'Allow', to: '10.1.0.0/16', packets: 5, bytes: 500 },
          { index: 1, type: 'Deny', to: '10.0.0.0/8', packets: 10, bytes: 1000 },
        ],
        unmatched: { packets: 11, bytes: 1100 },
        failedClosed: false,
      },
    ]);
  });

  test('countersByRule() finds an element by its key text: an address, a prefix or a range, IPv4 and IPv6', () => {
    const plan = planOf({
      alpha: enforce(
        [
          dnsRule(0, 'Allow', 'www.example.com'),
          cidrRule(1, 'Allow', '2001:db8::/32'),
          cidrRule(2, 'Deny', '192.0.2.0/24'),
          cidrRule(3, 'Deny', '::/0'),
        ],
        {
          4: [
            piece('192.0.2.0', '192.0.2.9', 2),
            piece('192.0.2.10', '192.0.2.10', 0),
            piece('192.0.2.11', '192.0.2.255', 2),
          ],
          6: [
            piece('::', '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', 3),
            piece('2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 1),
            piece('2001:db9::', '2001:db9::', 3),
            piece('2001:db9::1', '2001:db9::1', 0),
            piece('2001:db9::2', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 3),
          ],
        },
      ),
    });
    const counters = countersOf({
      'fw4-alpha': {
        '192.0.2.0-192.0.2.9': c(1, 10),
        '192.0.2.10': c(2, 20),
        '192.0.2.11-192.0.2.255': c(4, 40),
      },
      'fw6-alpha': {
        '::-2001:db7:ffff:ffff:ffff:ffff:ffff:ffff': c(8, 80),
        '2001:db8::/32': c(16, 160),
        '2001:db9::': c(32, 320),
        '2001:db9::1': c(64, 640),
        '2001:db9::2-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff': c(128, 1280),
      },
    });
    const [alpha] = countersByRule(plan, counters);
    assert.deepEqual(alpha?.rules, [
      { index: 0, type: 'Allow', to: 'www.example.com', packets: 66, bytes: 660 },
      { index: 1, type: 'Allow', to: '2001:db8::/32', packets: 16, bytes: 160 },
      { index: 2, type: 'Deny', to: '192.0.2.0/24', packets: 5, bytes: 50 },
      { index: 3, type: 'Deny', to: '::/0', packets: 168, bytes: 1680 },
    ]);
  });

  test('countersByRule() lists every rule in order, 0 for one that decides no range (shadowed, a dnsName without address)', () => {
    const plan = planOf({
      alpha: enforce(
        [
          cidrRule(0, 'Deny', '10.0.0.0/8'),
          cidrRule(1, 'Allow', '10.1.0.0/16'),
          dnsRule(2, 'Allow', 'nothing-yet.example.com'),
        ],
        { 4: [piece('10.0.0.0', '10.255.255.255', 0)] },
      ),
    });
    const counters = countersOf({ 'fw4-alpha': { '10.0.0.0/8': c(9, 900) } });
    assert.deepEqual(countersByRule(plan, counters)[0]?.rules, [
      { index: 0, type: 'Deny', to: '10.0.0.0/8', packets: 9, bytes: 900 },
      { index: 1, type: 'Allow', to: '10.1.0.0/16', packets: 0, bytes: 0 },
      { index: 2, type: 'Allow', to: 'nothing-yet.example.com', packets: 0, bytes: 0 },
    ]);
  });

  test('countersByRule() counts 0 for what the table does not have: no map, no element, no chain counter', () => {
    const firewall = enforce([cidrRule(0, 'Deny', '10.0.0.0/8'), cidrRule(1, 'Deny', 'fd00::/8')], {
      4: [piece('10.0.0.0', '10.255.255.255', 0)],
      6: [piece('fd00::', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 1)],
    });
    const plan = planOf({ alpha: firewall });
    const zeros = [
      {
        namespace: 'alpha',
        rules: [
          { index: 0, type: 'Deny', to: '10.0.0.0/8', packets: 0, bytes: 0 },
          { index: 1, type: 'Deny', to: 'fd00::/8', packets: 0, bytes: 0 },
        ],
        unmatched: { packets: 0, bytes: 0 },
        failedClosed: false,
      },
    ];
    // The table does not exist (readCounters() answers empty maps).
    assert.deepEqual(countersByRule(plan, countersOf({})), zeros);
    // The maps exist, without these elements' counters.
    assert.deepEqual(countersByRule(plan, countersOf({ 'fw4-alpha': {}, 'fw6-alpha': {} })), zeros);
    // Only the IPv6 map counted.
    const [alpha] = countersByRule(plan, countersOf({ 'fw6-alpha': { 'fd00::/8': c(2, 200) } }));
    assert.deepEqual(
      alpha?.rules.map((r) => [r.index, r.packets, r.bytes]),
      [
        [0, 0, 0],
        [1, 2, 200],
      ],
    );
  });

  test('countersByRule() ignores elements the plan does not have (a previous policy, another family)', () => {
    const plan = planOf({
      alpha: enforce([cidrRule(0, 'Deny', '10.0.0.0/8')], { 4: [piece('10.0.0.0', '10.255.255.255', 0)] }),
    });
    const counters = countersOf({
      'fw4-alpha': { '10.0.0.0/8': c(1, 100), '10.0.0.0/16': c(1000, 100000), '192.0.2.1': c(1000, 100000) },
      'fw6-alpha': { '10.0.0.0/8': c(1000, 100000), '::/0': c(1000, 100000) },
    });
    assert.deepEqual(countersByRule(plan, counters)[0]?.rules, [
      { index: 0, type: 'Deny', to: '10.0.0.0/8', packets: 1, bytes: 100 },
    ]);
  });

  test('countersByRule() gives a namespace failed closed its drop counter and no rules', () => {
    const plan = planOf({
      beta: { mode: 'closed', reason: 'multiple EgressNetworkPolicies in same network namespace' },
    });
    // A map left under its name (as from before it failed closed) is not read.
    const counters = countersOf({ 'fw4-beta': { '10.0.0.0/8': c(5, 500) } }, { 'ns-beta': c(42, 4200) });
    assert.deepEqual(countersByRule(plan, counters), [
      { namespace: 'beta', rules: [], unmatched: { packets: 42, bytes: 4200 }, failedClosed: true },
    ]);
    assert.deepEqual(countersByRule(plan, countersOf({})), [
      { namespace: 'beta', rules: [], unmatched: { packets: 0, bytes: 0 }, failedClosed: true },
    ]);
  });

  test("countersByRule() sorts by namespace and never gives one namespace another's counters", () => {
    const deny8 = () =>
      enforce([cidrRule(0, 'Deny', '10.0.0.0/8')], { 4: [piece('10.0.0.0', '10.255.255.255', 0)] });
    const plan = planOf({
      'a-b': deny8(),
      b: { mode: 'closed', reason: 'closed' },
      a: deny8(),
      ab: deny8(),
    });
    const counters = countersOf(
      {
        'fw4-a': { '10.0.0.0/8': c(1, 10) },
        'fw4-a-b': { '10.0.0.0/8': c(2, 20) },
        'fw4-ab': { '10.0.0.0/8': c(3, 30) },
      },
      { 'ns-a': c(4, 40), 'ns-a-b': c(5, 50), 'ns-ab': c(6, 60), 'ns-b': c(7, 70) },
    );
    const result = countersByRule(plan, counters);
    assert.deepEqual(
      result.map((n) => [n.namespace, n.rules[0]?.packets, n.unmatched.packets, n.failedClosed]),
      [
        ['a', 1, 4, false],
        ['a-b', 2, 5, false],
        ['ab', 3, 6, false],
        ['b', undefined, 7, true],
      ],
    );
  });

  test("countersByRule() of a plan from the seed's manifests: the documented status example", () => {
    const builder = new ClusterStateBuilder();
    for (const document of [
      {
        apiVersion: 'network.openshift.io/v1',
        kind: 'EgressNetworkPolicy',
        metadata: { name: 'default', namespace: 'alpha' },
        spec: {
          egress: [
            { type: 'Allow', to: { cidrSelector: '1.2.3.0/24' } },
            { type: 'Allow', to: { dnsName: 'www.foo.com' } },
            { type: 'Deny', to: { cidrSelector: '0.0.0.0/0' } },
          ],
        },
      },
    ]) {
      const read = readClusterObject(document);
      assert.ok(read.ok && read.object !== undefined);
      builder.add(read.object);
    }
    const plan = planFirewall({
      state: builder.build(),
      nodeName: 'node-1',
      clusterNetworks: [cidr('10.128.0.0/14')],
      serviceNetworks: [cidr('172.30.0.0/16')],
      dns: new Map([['www.foo.com', ['5.6.7.8']]]),
    });
    const counters = countersOf(
      {
        'fw4-alpha': {
          '0.0.0.0-1.2.2.255': c(1, 60),
          '1.2.3.0/24': c(12, 720),
          '1.2.4.0-5.6.7.7': c(1, 60),
          '5.6.7.8': c(40, 2400),
          '5.6.7.9-255.255.255.255': c(1, 60),
        },
      },
      { 'ns-alpha': c(0, 0) },
    );
    assert.deepEqual(countersByRule(plan, counters), [
      {
        namespace: 'alpha',
        rules: [
          { index: 0, type: 'Allow', to: '1.2.3.0/24', packets: 12, bytes: 720 },
          { index: 1, type: 'Allow', to: 'www.foo.com', packets: 40, bytes: 2400 },
          { index: 2, type: 'Deny', to: '0.0.0.0/0', packets: 3, bytes: 180 },
        ],
        unmatched: { packets: 0, bytes: 0 },
        failedClosed: false,
      },
    ]);
  });
});

/** The key text of a range, written here from TableCounters' description (not from the builder). */
function keyText(family: Family, start: bigint, end: bigint): string {
  const first = bigIntToIp(start, family);
  if (start === end) return first;
  const prefix = prefixOf({ family, start, end });
  return prefix === undefined ? `${first}-${bigIntToIp(end, family)}` : `${first}/${prefix}`;
}

const BITS = { 4: 32, 6: 128 } as const;

/** A canonical CIDR of the family: a random network and prefix. */
const network = (family: Family) =>
  fc
    .record({
      value: fc.bigInt({ min: 0n, max: (1n << BigInt(BITS[family])) - 1n }),
      prefix: fc.integer({ min: family === 4 ? 4 : 16, max: BITS[family] }),
    })
    .map(({ value, prefix }) => {
      const host = BigInt(BITS[family] - prefix);
      const start = (value >> host) << host;
      return {
        family,
        start,
        end: start | ((1n << host) - 1n),
        text: `${bigIntToIp(start, family)}/${prefix}`,
      };
    });

/** An IPv4 network inside 10.0.0.0/8, so that rules nest and overlap often. */
const nested4 = fc
  .record({
    value: fc.bigInt({ min: 0x0a000000n, max: 0x0affffffn }),
    prefix: fc.integer({ min: 8, max: 32 }),
  })
  .map(({ value, prefix }) => {
    const host = BigInt(32 - prefix);
    const start = (value >> host) << host;
    return {
      family: 4 as const,
      start,
      end: start | ((1n << host) - 1n),
      text: `${bigIntToIp(start, 4)}/${prefix}`,
    };
  });

const rulesArbitrary = fc.array(
  fc.record({
    type: fc.constantFrom('Allow' as const, 'Deny' as const),
    net: fc.oneof(
      { arbitrary: nested4, weight: 3 },
      { arbitrary: network(4), weight: 1 },
      { arbitrary: network(6), weight: 1 },
    ),
  }),
  { minLength: 1, maxLength: 12 },
);

describe('countersByRule(): properties over random policies', () => {
  test('countersByRule() credits each element to the first rule containing it, and loses or invents nothing', () => {
    fc.assert(
      fc.property(
        rulesArbitrary,
        fc.infiniteStream(fc.record({ packets: fc.nat(1_000_000), bytes: fc.nat(1_000_000_000) })),
        fc.nat(1000),
        (spec, counts, unmatchedPackets) => {
          const rules = spec.map(
            (r, index): EgressRule => ({
              index,
              type: r.type,
              to: {
                kind: 'cidr',
                cidr: r.net.text,
                range: { family: r.net.family, start: r.net.start, end: r.net.end },
              },
            }),
          );
          const compiled = (family: Family) =>
            compileFirstMatch(
              rules.flatMap((r) => {
                const to = r.to;
                return to.kind === 'cidr' && to.range.family === family
                  ? [{ start: to.range.start, end: to.range.end, rule: r.index }]
                  : [];
              }),
            );
          const ranges = { 4: compiled(4), 6: compiled(6) };
          const plan = planOf({ ns: enforce(rules, ranges) });

          const maps = { 4: {} as Record<string, Counter>, 6: {} as Record<string, Counter> };
          const expected = rules.map(() => ({ packets: 0, bytes: 0 }));
          let totalPackets = 0;
          const stream = counts[Symbol.iterator]();
          for (const family of [4, 6] as const) {
            for (const range of ranges[family]) {
              const counter = stream.next().value as Counter;
              maps[family][keyText(family, range.start, range.end)] = counter;
              totalPackets += counter.packets;
              // The oracle: the first rule, in order, whose CIDR holds the element's first address.
              const first = rules.find(
                (r) =>
                  r.to.kind === 'cidr' &&
                  r.to.range.family === family &&
                  r.to.range.start <= range.start &&
                  range.start <= r.to.range.end,
              );
              assert.ok(first);
              const sum = expected[first.index];
              assert.ok(sum);
              sum.packets += counter.packets;
              sum.bytes += counter.bytes;
            }
          }
          const result = countersByRule(
            plan,
            countersOf({ 'fw4-ns': maps[4], 'fw6-ns': maps[6] }, { 'ns-ns': c(unmatchedPackets, 0) }),
          );
          assert.equal(result.length, 1);
          const [ns] = result;
          assert.ok(ns);
          assert.deepEqual(
            ns.rules.map((r) => ({ packets: r.packets, bytes: r.bytes })),
            expected,
          );
          assert.deepEqual(
            ns.rules.map((r) => [r.index, r.type, r.to]),
            rules.map((r) => [r.index, r.type, r.to.kind === 'cidr' ? r.to.cidr : r.to.name]),
          );
          assert.equal(
            ns.rules.reduce((sum, r) => sum + r.packets, 0),
            totalPackets,
          );
          assert.deepEqual(ns.unmatched, { packets: unmatchedPackets, bytes: 0 });
        },
      ),
      { numRuns: 200 },
    );
  });
});
