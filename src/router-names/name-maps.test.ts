import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRouterConfig } from '../destination-parser/config.js';
import { planRouter } from '../destination-parser/plan.js';
import { type NameState, PENDING } from '../dns-proxy/resolution.js';
import { slotAddresses } from '../nat/name-slots.js';
import { HealthTracker } from './health.js';
import { healthPort, planNameChanges, wantedAddresses } from './name-maps.js';

function planOf(list: string) {
  const result = parseRouterConfig({
    EGRESS_SOURCE: '192.168.12.99/24,2001:db8:12::99/64',
    EGRESS_GATEWAY: '192.168.12.1,fe80::1',
    EGRESS_DESTINATION: list,
  });
  assert.ok(result.ok);
  return planRouter(result.value).nat;
}

const resolved = (v4: string[], v6: string[] = []): NameState => ({
  addresses: [...v4, ...v6],
  v4,
  v6,
  status: 'resolved',
  misses: 0,
});

describe('name maps', () => {
  const plan = planOf('80 tcp db.example.com 5432\n53 udp dns.example.com\nall.example.com');

  test('healthPort() checks TCP mappings on their remote port, not UDP ones nor the fallback', () => {
    assert.deepEqual(
      plan.names.map((n) => [n.map, healthPort(n)]),
      [
        ['name4_tcp_80', 5432],
        ['name6_tcp_80', 5432],
        ['name4_udp_53', undefined],
        ['name6_udp_53', undefined],
        ['name4_fallback', undefined],
        ['name6_fallback', undefined],
      ],
    );
  });

  test('wantedAddresses() gives each map its family of the name, less the addresses down', () => {
    const health = new HealthTracker();
    health.record('192.0.2.2', 5432, false);
    const states = new Map([
      ['db.example.com', resolved(['192.0.2.1', '192.0.2.2'], ['2001:db8::1'])],
      ['all.example.com', PENDING],
    ]);
    assert.deepEqual(Object.fromEntries(wantedAddresses(plan, states, health)), {
      name4_tcp_80: ['192.0.2.1'],
      name6_tcp_80: ['2001:db8::1'],
      name4_udp_53: [],
      name6_udp_53: [],
      name4_fallback: [],
      name6_fallback: [],
    });
  });

  test('wantedAddresses() keeps every address when all are down', () => {
    const health = new HealthTracker();
    health.record('192.0.2.1', 5432, false);
    health.record('192.0.2.2', 5432, false);
    const wanted = wantedAddresses(
      plan,
      new Map([['db.example.com', resolved(['192.0.2.1', '192.0.2.2'])]]),
      health,
    );
    assert.deepEqual(wanted.get('name4_tcp_80'), ['192.0.2.1', '192.0.2.2']);
  });

  test('planNameChanges() changes only the maps whose addresses changed, in one list, deletes first', () => {
    const current = new Map([
      ['name4_tcp_80', slotAddresses(['192.0.2.1', '192.0.2.2'])],
      ['name4_fallback', slotAddresses(['192.0.2.9'])],
    ]);
    const wanted = new Map([
      ['name4_tcp_80', ['192.0.2.1']],
      ['name4_fallback', ['192.0.2.9']],
    ]);
    const { ops, changed, slots } = planNameChanges(plan, current, wanted);
    assert.deepEqual(changed, ['name4_tcp_80']);
    assert.equal(ops.length, 60);
    assert.deepEqual(
      ops.map((op) => op.op),
      [...Array(30).fill('delete'), ...Array(30).fill('add')],
    );
    assert.deepEqual(slots.get('name4_tcp_80'), Array(60).fill('192.0.2.1'));
    assert.deepEqual(slots.get('name4_fallback'), current.get('name4_fallback'));
  });

  test('HealthTracker.record() reports changes of state only', () => {
    const health = new HealthTracker();
    assert.equal(health.record('192.0.2.1', 80, true), false);
    assert.equal(health.record('192.0.2.1', 80, false), true);
    assert.equal(health.record('192.0.2.1', 80, false), false);
    assert.equal(health.isDown('192.0.2.1', 443), false);
    assert.equal(health.record('192.0.2.1', 80, true), true);
  });
});
