import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CONTRACT_EXAMPLE, DUAL_ENV, IPV4_ENV, mustParse } from '../destination-parser/_testing.js';
import type { RouterEnv } from '../destination-parser/config.js';
import { planRouter } from '../destination-parser/plan.js';
import {
  asCreation,
  buildRuleset,
  mapGroups,
  mapNames,
  type NftCommand,
  TABLE_FAMILY,
  TABLE_NAME,
} from './ruleset.js';

function commands(env: RouterEnv): NftCommand[] {
  return buildRuleset(planRouter(mustParse(env)).nat).nftables;
}

/** The object an `add` command adds, by kind (`map`, `chain`, `rule`, …). */
function added(list: NftCommand[], kind: string): Record<string, unknown>[] {
  return list.flatMap((command) => {
    const body = (command.add as Record<string, Record<string, unknown>> | undefined)?.[kind];
    return body === undefined ? [] : [body];
  });
}

const iif = (name: string) => ({ match: { op: '==', left: { meta: { key: 'iifname' } }, right: name } });
const oif = (name: string) => ({ match: { op: '==', left: { meta: { key: 'oifname' } }, right: name } });
const nfproto = (name: string) => ({ match: { op: '==', left: { meta: { key: 'nfproto' } }, right: name } });
const l4proto = (name: string) => ({ match: { op: '==', left: { meta: { key: 'l4proto' } }, right: name } });
const at = { family: 'inet', table: 'egress_router' };

describe('buildRuleset()', () => {
  test('buildRuleset() builds the whole transaction for the CONTRACT example', () => {
    const byPort = (map: string) => ({
      map: { key: { payload: { protocol: 'tcp', field: 'dport' } }, data: `@${map}` },
    });
    assert.deepEqual(commands({ ...IPV4_ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE }), [
      { add: { table: { family: 'inet', name: 'egress_router' } } },
      { delete: { table: { family: 'inet', name: 'egress_router' } } },
      { add: { table: { family: 'inet', name: 'egress_router' } } },
      {
        add: {
          map: {
            ...at,
            name: 'dnat4_tcp_addr',
            type: 'inet_service',
            map: 'ipv4_addr',
            elem: [
              [80, '10.4.5.6'],
              [8080, '10.7.8.9'],
            ],
          },
        },
      },
      {
        add: {
          map: {
            ...at,
            name: 'dnat4_tcp_port',
            type: 'inet_service',
            map: 'inet_service',
            elem: [
              [80, 80],
              [8080, 80],
            ],
          },
        },
      },
      {
        add: {
          chain: { ...at, name: 'prerouting', type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' },
        },
      },
      {
        add: {
          rule: {
            ...at,
            chain: 'prerouting',
            expr: [
              iif('eth0'),
              nfproto('ipv4'),
              l4proto('tcp'),
              { dnat: { family: 'ip', addr: byPort('dnat4_tcp_addr'), port: byPort('dnat4_tcp_port') } },
            ],
          },
        },
      },
      {
        add: {
          rule: {
            ...at,
            chain: 'prerouting',
            expr: [iif('eth0'), nfproto('ipv4'), { dnat: { family: 'ip', addr: '10.1.2.3' } }],
          },
        },
      },
      {
        add: {
          chain: {
            ...at,
            name: 'postrouting',
            type: 'nat',
            hook: 'postrouting',
            prio: 100,
            policy: 'accept',
          },
        },
      },
      {
        add: {
          rule: {
            ...at,
            chain: 'postrouting',
            expr: [oif('macvlan0'), nfproto('ipv4'), { snat: { family: 'ip', addr: '1.2.3.4' } }],
          },
        },
      },
    ]);
  });

  test('buildRuleset() replaces its own table first: add, delete, add, and touches no other table', () => {
    const list = commands({ ...DUAL_ENV, EGRESS_DESTINATION: '80 tcp 10.4.5.6\n53 udp 2001:db8::53' });
    assert.deepEqual(list.slice(0, 3), [
      { add: { table: { family: TABLE_FAMILY, name: TABLE_NAME } } },
      { delete: { table: { family: TABLE_FAMILY, name: TABLE_NAME } } },
      { add: { table: { family: TABLE_FAMILY, name: TABLE_NAME } } },
    ]);
    for (const command of list.slice(3)) {
      assert.deepEqual(Object.keys(command), ['add']);
      const [body] = Object.values(command.add as Record<string, Record<string, unknown>>);
      assert.equal(body?.family, 'inet');
      assert.equal(body?.table, 'egress_router');
    }
  });

  test('buildRuleset() keeps one pair of maps per family and protocol, in list order', () => {
    const list = commands({
      ...DUAL_ENV,
      EGRESS_DESTINATION:
        '53 udp 192.0.2.53\n443 tcp 2001:db8::5 8443\n80 tcp 10.4.5.6\n53 udp 2001:db8::53\n8080 tcp 10.7.8.9 80',
    });
    assert.deepEqual(
      added(list, 'map').map(({ name, map, elem }) => [name, map, elem]),
      [
        [
          'dnat4_tcp_addr',
          'ipv4_addr',
          [
            [80, '10.4.5.6'],
            [8080, '10.7.8.9'],
          ],
        ],
        [
          'dnat4_tcp_port',
          'inet_service',
          [
            [80, 80],
            [8080, 80],
          ],
        ],
        ['dnat4_udp_addr', 'ipv4_addr', [[53, '192.0.2.53']]],
        ['dnat4_udp_port', 'inet_service', [[53, 53]]],
        ['dnat6_tcp_addr', 'ipv6_addr', [[443, '2001:db8::5']]],
        ['dnat6_tcp_port', 'inet_service', [[443, 8443]]],
        ['dnat6_udp_addr', 'ipv6_addr', [[53, '2001:db8::53']]],
        ['dnat6_udp_port', 'inet_service', [[53, 53]]],
      ],
    );
    const dnats = added(list, 'rule')
      .filter((rule) => rule.chain === 'prerouting')
      .map((rule) => (rule.expr as unknown[]).slice(1));
    assert.deepEqual(
      dnats.map(([family, proto, dnat]) => [
        family,
        proto,
        (dnat as { dnat: { family: string } }).dnat.family,
      ]),
      [
        [nfproto('ipv4'), l4proto('tcp'), 'ip'],
        [nfproto('ipv4'), l4proto('udp'), 'ip'],
        [nfproto('ipv6'), l4proto('tcp'), 'ip6'],
        [nfproto('ipv6'), l4proto('udp'), 'ip6'],
      ],
    );
  });

  test('buildRuleset() SNATs each source family on the egress interface only', () => {
    const list = commands({
      ...DUAL_ENV,
      EGRESS_DESTINATION: '10.1.2.3',
      EGRESS_ROUTER_EGRESS_INTERFACE: 'ens3',
    });
    assert.deepEqual(
      added(list, 'rule').filter((rule) => rule.chain === 'postrouting'),
      [
        {
          ...at,
          chain: 'postrouting',
          expr: [oif('ens3'), nfproto('ipv4'), { snat: { family: 'ip', addr: '192.168.12.99' } }],
        },
        {
          ...at,
          chain: 'postrouting',
          expr: [oif('ens3'), nfproto('ipv6'), { snat: { family: 'ip6', addr: '2001:db8:12::99' } }],
        },
      ],
    );
  });

  test('buildRuleset() refuses unmapped TCP and UDP from the pod interface when there is no fallback', () => {
    const list = commands({ ...IPV4_ENV, EGRESS_DESTINATION: '80 tcp 10.4.5.6' });
    assert.deepEqual(added(list, 'chain').at(-1), {
      ...at,
      name: 'input',
      type: 'filter',
      hook: 'input',
      prio: 0,
      policy: 'accept',
    });
    assert.deepEqual(
      added(list, 'rule')
        .filter((rule) => rule.chain === 'input')
        .map((rule) => rule.expr),
      [
        [
          { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } },
          { accept: null },
        ],
        [iif('eth0'), nfproto('ipv4'), l4proto('tcp'), { reject: { type: 'tcp reset' } }],
        [
          iif('eth0'),
          nfproto('ipv4'),
          l4proto('udp'),
          { reject: { type: 'icmpx', expr: 'port-unreachable' } },
        ],
      ],
    );
  });

  const refuseCases: [string, RouterEnv, string[]][] = [
    ['a fallback', { ...IPV4_ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE }, []],
    ['no fallback', { ...IPV4_ENV, EGRESS_DESTINATION: '80 tcp 10.4.5.6' }, ['ipv4']],
    ['comments only', { ...IPV4_ENV, EGRESS_DESTINATION: '# none' }, ['ipv4']],
    ['http-proxy mode', { ...IPV4_ENV, EGRESS_ROUTER_MODE: 'http-proxy' }, []],
    ['dns-proxy mode', { ...DUAL_ENV, EGRESS_ROUTER_MODE: 'dns-proxy' }, []],
    ['dual stack, no fallback', { ...DUAL_ENV, EGRESS_DESTINATION: '80 tcp 10.4.5.6' }, ['ipv4', 'ipv6']],
    ['dual stack, an IPv4 fallback only', { ...DUAL_ENV, EGRESS_DESTINATION: '10.1.2.3' }, ['ipv6']],
    ['dual stack, both fallbacks', { ...DUAL_ENV, EGRESS_DESTINATION: '2001:db8::1\n10.1.2.3' }, []],
  ];
  for (const [name, env, families] of refuseCases) {
    test(`buildRuleset() with ${name} refuses ${families.length === 0 ? 'nothing' : families.join(' and ')}`, () => {
      const list = commands(env);
      const input = added(list, 'chain').filter((chain) => chain.name === 'input');
      assert.equal(input.length, families.length === 0 ? 0 : 1);
      const refused = added(list, 'rule')
        .filter((rule) => rule.chain === 'input')
        .map((rule) => rule.expr as { match?: { right: unknown } }[])
        .filter((expr) => expr.some((e) => 'reject' in e))
        .map((expr) => expr[1]?.match?.right);
      assert.deepEqual([...new Set(refused)], families);
    });
  }

  test('buildRuleset() in the proxy modes only SNATs', () => {
    const list = commands({ ...IPV4_ENV, EGRESS_ROUTER_MODE: 'http-proxy' });
    assert.deepEqual(added(list, 'map'), []);
    assert.deepEqual(
      added(list, 'chain').map((chain) => chain.name),
      ['prerouting', 'postrouting'],
    );
    assert.deepEqual(
      added(list, 'rule').map((rule) => rule.chain),
      ['postrouting'],
    );
  });

  test('buildRuleset() is plain JSON', () => {
    const document = buildRuleset(
      planRouter(mustParse({ ...DUAL_ENV, EGRESS_DESTINATION: '80 tcp 10.4.5.6' })).nat,
    );
    assert.deepEqual(JSON.parse(JSON.stringify(document)), document);
  });
});

test('mapNames() names the address and port maps of a family and protocol', () => {
  assert.deepEqual(mapNames(4, 'tcp'), { addr: 'dnat4_tcp_addr', port: 'dnat4_tcp_port' });
  assert.deepEqual(mapNames(6, 'udp'), { addr: 'dnat6_udp_addr', port: 'dnat6_udp_port' });
});

test('mapGroups() groups mappings by family then protocol and skips empty groups', () => {
  const plan = planRouter(
    mustParse({ ...DUAL_ENV, EGRESS_DESTINATION: '53 udp 2001:db8::53\n80 tcp 10.4.5.6\n53 udp 10.0.0.53' }),
  ).nat;
  assert.deepEqual(
    mapGroups(plan).map(({ family, protocol, mappings }) => [family, protocol, mappings.map((m) => m.line)]),
    [
      [4, 'tcp', [2]],
      [4, 'udp', [3]],
      [6, 'udp', [1]],
    ],
  );
});

describe('asCreation()', () => {
  test('turns the replacement of our table into its creation, keeping every other command in order', () => {
    const document = buildRuleset(
      planRouter(mustParse({ ...IPV4_ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE })).nat,
    );
    const creation = asCreation(document);
    const table = { family: TABLE_FAMILY, name: TABLE_NAME };
    assert.deepEqual(creation?.nftables[0], { create: { table } });
    assert.deepEqual(creation?.nftables.slice(1), document.nftables.slice(3));
  });

  test('leaves documents alone that do not start by replacing our table', () => {
    const table = { family: TABLE_FAMILY, name: TABLE_NAME };
    const other = { family: 'inet', name: 'other' };
    assert.equal(asCreation({ nftables: [] }), undefined);
    assert.equal(asCreation({ nftables: [{ add: { table } }, { add: { table } }] }), undefined);
    assert.equal(
      asCreation({
        nftables: [{ add: { table: other } }, { delete: { table: other } }, { add: { table: other } }],
      }),
      undefined,
    );
    assert.equal(
      asCreation({
        nftables: [{ add: { table } }, { delete: { table }, flush: { table } }, { add: { table } }],
      }),
      undefined,
    );
  });
});
