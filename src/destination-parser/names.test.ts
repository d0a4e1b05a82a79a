import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Family } from './address.js';
import { namePolicyOf, parseRouterConfig } from './config.js';
import { parseDestinationList } from './destination-list.js';
import { nameMapName, planRouter } from './plan.js';

const IPV4: ReadonlySet<Family> = new Set([4]);
const DUAL: ReadonlySet<Family> = new Set([4, 6]);
const allowed = { names: 'allowed' } as const;

describe('parseDestinationList() with DNS names', () => {
  test('parseDestinationList() reads a name mapping, with and without a remote port, canonical', () => {
    const { destinations, errors } = parseDestinationList(
      '80 tcp DB.Example.com.\n8080 tcp db.example.com 5432\n53 udp dns.example.com',
      IPV4,
      allowed,
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(destinations, [
      {
        kind: 'name-mapping',
        line: 1,
        protocol: 'tcp',
        localPort: 80,
        name: 'db.example.com',
        remotePort: 80,
        families: [4],
      },
      {
        kind: 'name-mapping',
        line: 2,
        protocol: 'tcp',
        localPort: 8080,
        name: 'db.example.com',
        remotePort: 5432,
        families: [4],
      },
      {
        kind: 'name-mapping',
        line: 3,
        protocol: 'udp',
        localPort: 53,
        name: 'dns.example.com',
        remotePort: 53,
        families: [4],
      },
    ]);
  });

  test('parseDestinationList() gives a name the source families (both when the source is unknown)', () => {
    for (const [families, expected] of [
      [DUAL, [4, 6]],
      [new Set<Family>([6]), [6]],
      [undefined, [4, 6]],
    ] as const) {
      const { destinations } = parseDestinationList('80 tcp db.example.com', families, allowed);
      assert.deepEqual(destinations[0]?.kind === 'name-mapping' && destinations[0].families, expected);
    }
  });

  test('parseDestinationList() takes a name as the fallback, only as the last line', () => {
    const ok = parseDestinationList('80 tcp 10.0.0.1\nall.example.com', DUAL, allowed);
    assert.deepEqual(ok.errors, []);
    assert.deepEqual(ok.destinations[1], {
      kind: 'name-fallback',
      line: 2,
      name: 'all.example.com',
      families: [4, 6],
    });
    const notLast = 'EGRESS_DESTINATION fallback IP must be the last line';
    for (const text of [
      'all.example.com\n80 tcp 10.0.0.1',
      'all.example.com\n2001:db8::1',
      'all.example.com\nother.example.com',
      '10.0.0.1\nall.example.com',
    ]) {
      const { errors } = parseDestinationList(text, DUAL, allowed);
      assert.deepEqual(
        errors.map((e) => [e.code, e.message, e.line]),
        [['FALLBACK_NOT_LAST', notLast, 2]],
        text,
      );
    }
  });

  test('parseDestinationList() counts a name mapping as its local port in every family', () => {
    const { errors } = parseDestinationList(
      '80 tcp 2001:db8::1\n80 tcp db.example.com\n80 udp db.example.com',
      DUAL,
      allowed,
    );
    assert.deepEqual(errors, [
      {
        code: 'PORT_IN_USE',
        message: 'EGRESS_DESTINATION localport 80 is already used, must be unique for each destination',
        line: 2,
      },
    ]);
  });

  test('parseDestinationList() still refuses what is neither an address nor a name', () => {
    for (const text of [
      '80 tcp 300.1.2.3',
      '80 tcp localhost',
      '80 tcp -db.example.com',
      '80 tcp db..example.com',
      'localhost',
    ]) {
      const { errors } = parseDestinationList(text, IPV4, allowed);
      assert.deepEqual(
        errors.map((e) => e.message),
        [`EGRESS_DESTINATION value '${text}' is invalid`],
      );
    }
  });

  test("parseDestinationList() refuses names as the old image did by default ('invalid'), or says why ('needs-legacy')", () => {
    for (const text of ['80 tcp db.example.com', '8080 tcp db.example.com 5432', 'db.example.com']) {
      assert.deepEqual(parseDestinationList(text, IPV4).errors, [
        { code: 'DESTINATION_INVALID', message: `EGRESS_DESTINATION value '${text}' is invalid`, line: 1 },
      ]);
      assert.deepEqual(parseDestinationList(text, IPV4, { names: 'needs-legacy' }).errors, [
        {
          code: 'DESTINATION_NAME_NEEDS_LEGACY',
          message: `EGRESS_DESTINATION value '${text}' is invalid: a DNS name needs EGRESS_ROUTER_MODE legacy`,
          line: 1,
        },
      ]);
    }
  });
});

describe('names by mode', () => {
  test('namePolicyOf() allows names in legacy mode only, keeps the old error in unit-test mode', () => {
    assert.equal(namePolicyOf('legacy'), 'allowed');
    assert.equal(namePolicyOf(undefined), 'allowed');
    assert.equal(namePolicyOf('unit-test'), 'invalid');
    assert.equal(namePolicyOf('init'), 'needs-legacy');
  });

  test('parseRouterConfig() takes names in legacy mode (the default) and refuses them in init and unit-test modes', () => {
    const env = {
      EGRESS_SOURCE: '1.2.3.4',
      EGRESS_GATEWAY: '1.2.3.1',
      EGRESS_DESTINATION: '80 tcp db.example.com',
    };
    assert.equal(parseRouterConfig(env).ok, true);
    assert.equal(parseRouterConfig({ ...env, EGRESS_ROUTER_MODE: 'legacy' }).ok, true);
    const init = parseRouterConfig({ ...env, EGRESS_ROUTER_MODE: 'init' });
    assert.equal(!init.ok && init.errors[0]?.code, 'DESTINATION_NAME_NEEDS_LEGACY');
    const unitTest = parseRouterConfig({ ...env, EGRESS_ROUTER_MODE: 'unit-test' });
    assert.equal(
      !unitTest.ok && unitTest.errors[0]?.message,
      "EGRESS_DESTINATION value '80 tcp db.example.com' is invalid",
    );
  });
});

describe('planRouter() with names', () => {
  const config = (list: string, source = '192.168.12.99/24,2001:db8:12::99/64') => {
    const result = parseRouterConfig({
      EGRESS_SOURCE: source,
      EGRESS_GATEWAY: source.includes(',') ? '192.168.12.1,fe80::1' : '192.168.12.1',
      EGRESS_DESTINATION: list,
    });
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    return result.value;
  };

  test('planRouter() makes one name target per family, with its own map', () => {
    const plan = planRouter(config('80 tcp db.example.com 5432\nall.example.com'));
    assert.deepEqual(plan.nat.names, [
      {
        kind: 'mapping',
        line: 1,
        name: 'db.example.com',
        family: 4,
        map: 'name4_tcp_80',
        protocol: 'tcp',
        localPort: 80,
        remotePort: 5432,
      },
      {
        kind: 'mapping',
        line: 1,
        name: 'db.example.com',
        family: 6,
        map: 'name6_tcp_80',
        protocol: 'tcp',
        localPort: 80,
        remotePort: 5432,
      },
      { kind: 'fallback', line: 2, name: 'all.example.com', family: 4, map: 'name4_fallback' },
      { kind: 'fallback', line: 2, name: 'all.example.com', family: 6, map: 'name6_fallback' },
    ]);
    assert.deepEqual(plan.nat.mappings, []);
    assert.deepEqual(plan.nat.fallbacks, []);
  });

  test('planRouter() refuses the unmapped ports of a family with names, even with an address fallback', () => {
    assert.deepEqual(
      planRouter(config('80 tcp db.example.com\n192.0.2.1', '192.168.12.99/24')).nat.refuse,
      [4],
    );
    assert.deepEqual(planRouter(config('80 tcp 192.0.2.5\n192.0.2.1', '192.168.12.99/24')).nat.refuse, []);
  });

  test('nameMapName() names a mapping by family, protocol and port, a fallback by family', () => {
    assert.equal(nameMapName(6, { protocol: 'udp', localPort: 53 }), 'name6_udp_53');
    assert.equal(nameMapName(4), 'name4_fallback');
  });
});
