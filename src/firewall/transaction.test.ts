import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ClusterState, EgressRuleInput } from '../cluster/types.js';
import type { NftCommand } from '../nat/ruleset.js';
import type { ElementOp } from '../network/nft-elements.js';
import { parseCanonicalCidr } from './ip-range.js';
import { planFirewall } from './plan.js';
import { ADMIN_CHAIN, buildFirewallTable, type DesiredTable } from './ruleset.js';
import { type AppliedTable, isEmpty, logicalName, planTransaction } from './transaction.js';

const net = (text: string) => {
  const parsed = parseCanonicalCidr(text);
  if (!parsed.ok) throw new Error(text);
  return parsed.range;
};

/** A state: namespace → its policy's rules (CIDRs, `!` for Deny), one pod each on node-1. */
function state(policies: Record<string, readonly string[]>): ClusterState {
  const s = {
    namespaces: new Map<string, { name: string }>(),
    pods: new Map(),
    egressNetworkPolicies: new Map(),
    netNamespaces: new Map(),
    hostSubnets: new Map(),
    problems: [],
  };
  let n = 2;
  for (const [namespace, rules] of Object.entries(policies)) {
    s.namespaces.set(namespace, { name: namespace });
    const egress: EgressRuleInput[] = rules.map((r) => ({
      type: r.startsWith('!') ? 'Deny' : 'Allow',
      to: { cidrSelector: r.replace('!', '') },
    }));
    s.egressNetworkPolicies.set(`${namespace}/p`, {
      namespace,
      name: 'p',
      creationTimestamp: undefined,
      egress,
    });
    s.pods.set(`${namespace}/pod`, {
      namespace,
      name: 'pod',
      nodeName: 'node-1',
      hostNetwork: false,
      phase: 'Running',
      ips: [`10.128.0.${n++}`],
    });
  }
  return s;
}

function table(policies: Record<string, readonly string[]>): DesiredTable {
  const plan = planFirewall({
    state: state(policies),
    nodeName: 'node-1',
    clusterNetworks: [net('10.128.0.0/14')],
    serviceNetworks: [net('172.30.0.0/16')],
    dns: new Map(),
  });
  return buildFirewallTable(plan);
}

const verbs = (commands: readonly NftCommand[]) =>
  commands.map((c) => `${Object.keys(c)[0]} ${Object.keys(Object.values(c)[0] as object)[0]}`);
const touches = (commands: readonly NftCommand[], name: string) => JSON.stringify(commands).includes(name);

describe('planTransaction', () => {
  const a = { a: ['!1.2.3.0/24', '0.0.0.0/0'], b: ['5.6.7.8/32'] };

  test('first apply: new sets and chains in prepare, their elements in fill, base chains last', () => {
    const tx = planTransaction(table(a), undefined, { chains: new Set(), sets: new Set() });
    assert.deepEqual(verbs(tx.prepare.nftables).slice(0, 2), ['add table', 'add chain']);
    assert.ok(tx.prepare.nftables.some((c) => JSON.stringify(c).includes('"fw4-a.1"')));
    assert.ok(!touches(tx.prepare.nftables, '"hook"'), 'no base chain before the elements are in');
    assert.deepEqual(tx.switch, []);
    assert.ok(tx.fill.length > 0);
    assert.ok(tx.fill.every((op) => op.op === 'add' && op.set.endsWith('.1')));
    const hooks = tx.finish.nftables.filter((c) => JSON.stringify(c).includes('"hook"'));
    assert.equal(hooks.length, 2, 'forward and input');
    assert.ok(touches(tx.finish.nftables, '@pods4.1'), 'rules name the sets by their kernel names');
  });

  test('the same table again changes nothing, and flushes no cache', () => {
    const first = planTransaction(table(a), undefined, { chains: new Set(), sets: new Set() });
    const again = planTransaction(table(a), first.applied);
    assert.ok(isEmpty(again));
    assert.deepEqual(again.settle, []);
  });

  test('the allowed-pairs caches: declared only, dynamic with a timeout, never filled', () => {
    const tx = planTransaction(table(a), undefined, { chains: new Set(), sets: new Set() });
    const declared = tx.prepare.nftables.find((c) => JSON.stringify(c).includes('"allowed4.1"'));
    assert.deepEqual(declared, {
      add: {
        set: {
          family: 'inet',
          table: 'egress_router_node',
          name: 'allowed4.1',
          type: ['ipv4_addr', 'ipv4_addr'],
          flags: ['timeout'],
          timeout: 60,
          size: 65_536,
        },
      },
    });
    assert.ok(tx.fill.every((op) => !op.set.startsWith('allowed')));
  });

  test("one namespace's rule changed: only that map's elements, in one switch", () => {
    const first = planTransaction(table(a), undefined, { chains: new Set(), sets: new Set() });
    const next = planTransaction(table({ ...a, a: ['1.2.3.0/24', '0.0.0.0/0'] }), first.applied);
    assert.deepEqual(next.prepare.nftables, []);
    assert.deepEqual(next.fill, []);
    assert.deepEqual(next.finish.nftables, []);
    assert.deepEqual(
      next.switch.map((op) => `${op.op} ${op.set}`),
      // The allowed-pairs caches flushed in the same kernel transaction as the change.
      ['flush allowed4.1', 'flush allowed6.1', 'delete fw4-a.1', 'add fw4-a.1'],
    );
    assert.deepEqual(
      next.settle.map((op) => `${op.op} ${op.set}`),
      ['flush allowed4.1', 'flush allowed6.1'],
    );
  });

  test('a namespace removed: its pod leaves in the switch, then its sets, then its chain', () => {
    const first = planTransaction(table(a), undefined, { chains: new Set(), sets: new Set() });
    const next = planTransaction(table({ a: a.a }), first.applied);
    assert.deepEqual(
      next.switch.map((op) => `${op.op} ${op.set}`),
      ['flush allowed4.1', 'flush allowed6.1', 'delete pods4.1'],
    );
    assert.ok(
      touches(
        next.finish.nftables,
        '{"flush":{"set":{"family":"inet","table":"egress_router_node","name":"allowed4.1"}}}',
      ),
    );
    const finish = next.finish.nftables.map((c) => JSON.stringify(c));
    const lastSet = finish.reduce(
      (last, c, i) => (c.includes('"delete"') && c.includes('"map"') ? i : last),
      -1,
    );
    const chain = finish.findIndex((c) => c.includes('"delete"') && c.includes('"ns-b"'));
    assert.ok(lastSet >= 0 && chain > lastSet, 'maps deleted before the chain');
    assert.ok(touches(next.finish.nftables, 'fw4-b.1') && touches(next.finish.nftables, 'fw6-b.1'));
  });

  test('a restart: every set anew under its next generation, chains rewritten to them, the old deleted', () => {
    const first = planTransaction(table(a), undefined, { chains: new Set(), sets: new Set() });
    const existing = {
      chains: new Set([...first.applied.chains.keys(), ADMIN_CHAIN]),
      sets: new Set(first.applied.physical.values()),
      maps: new Set(['fw4-a.1', 'fw6-a.1', 'fw4-b.1', 'fw6-b.1', 'pods4.1', 'pods6.1']),
    };
    const again = planTransaction(table(a), undefined, existing);
    assert.ok([...again.applied.physical.values()].every((name) => name.endsWith('.2')));
    assert.ok(again.fill.every((op) => op.set.endsWith('.2')));
    assert.deepEqual(again.switch, []);
    assert.ok(
      touches(
        again.finish.nftables,
        '{"delete":{"map":{"family":"inet","table":"egress_router_node","name":"fw4-a.1"}}}',
      ),
    );
    for (const command of [...again.prepare.nftables, ...again.finish.nftables]) {
      const [verb, objects] = Object.entries(command)[0] as [
        string,
        Record<string, { name?: string; chain?: string }>,
      ];
      const [kind, object] = Object.entries(objects)[0]!;
      const target = kind === 'rule' ? object.chain : kind === 'chain' ? object.name : undefined;
      if (target === ADMIN_CHAIN)
        assert.equal(`${verb} ${kind}`, 'add chain', 'the admin chain is only added');
    }
  });

  test('a switch larger than one batch makes the set anew instead', () => {
    const first = planTransaction(table(a), undefined, { chains: new Set(), sets: new Set() });
    const next = planTransaction(table({ ...a, a: ['1.2.3.0/24', '0.0.0.0/0'] }), first.applied, undefined, {
      maxSwitchBytes: 10,
    });
    assert.deepEqual(next.switch, []);
    assert.ok(next.fill.every((op) => op.set === 'fw4-a.2'));
    assert.ok(touches(next.finish.nftables, '@fw4-a.2'), 'ns-a rewritten to the new map');
    assert.ok(touches(next.finish.nftables, '"name":"fw4-a.1"'), 'the old map deleted');
  });

  test('logicalName strips a generation only', () => {
    assert.equal(logicalName('fw4-a.3'), 'fw4-a');
    assert.equal(logicalName('pods4'), 'pods4');
    assert.equal(logicalName('fw4-a.b'), 'fw4-a.b');
  });

  test('property: the switch applied to what the kernel held gives the desired elements', () => {
    const cidr = fc
      .tuple(
        fc.integer({ min: 1, max: 223 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 8, max: 32 }),
      )
      .map(([x, y, prefix]) => {
        const value = ((x << 24) | (y << 16)) >>> 0;
        const masked = prefix === 32 ? value : (value >>> (32 - prefix)) << (32 - prefix);
        const ip = [masked >>> 24, (masked >>> 16) & 255, (masked >>> 8) & 255, masked & 255].join('.');
        return `${ip}/${prefix}`;
      });
    const rules = fc.array(
      fc.tuple(fc.boolean(), cidr).map(([deny, c]) => (deny ? `!${c}` : c)),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(rules, rules, (before, after) => {
        const first = planTransaction(table({ a: before }), undefined, {
          chains: new Set(),
          sets: new Set(),
        });
        const kernel = model(first.fill);
        const next = planTransaction(table({ a: after }), first.applied as AppliedTable);
        const afterFill = model(next.fill, kernel);
        const result = model(next.switch, afterFill);
        const wanted = model(
          planTransaction(table({ a: after }), undefined, { chains: new Set(), sets: new Set() }).fill,
        );
        for (const set of ['fw4-a', 'fw6-a', 'pods4']) {
          const name = next.applied.physical.get(set) as string;
          assert.deepEqual(
            [...(result.get(name) ?? new Map())].sort(),
            [...(wanted.get(`${set}.1`) ?? new Map())].sort(),
          );
        }
      }),
      { numRuns: 60 },
    );
  });
});

/** Sets of elements (`start-end` → verdict) after ops, as the kernel would hold them. */
function model(ops: readonly ElementOp[], from = new Map<string, Map<string, string>>()) {
  const sets = new Map([...from].map(([k, v]) => [k, new Map(v)]));
  for (const op of ops) {
    if (op.op === 'flush') {
      sets.set(op.set, new Map());
      continue;
    }
    const elements = sets.get(op.set) ?? new Map<string, string>();
    sets.set(op.set, elements);
    const key = `${op.start}-${op.end}`;
    if (op.op === 'delete') {
      assert.ok(elements.has(key), `delete of an element not there: ${op.set} ${key}`);
      elements.delete(key);
    } else {
      elements.set(key, JSON.stringify(op.verdict ?? null));
    }
  }
  return sets;
}
