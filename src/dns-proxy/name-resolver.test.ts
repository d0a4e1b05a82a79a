import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NameResolver } from './name-resolver.js';
import type { NameLookup, ResolutionDecision } from './resolution.js';

const BOUNDS = { minTtlMs: 20, maxTtlMs: 40, negativeHoldMs: 0 };
const answer = (address: string): NameLookup => ({
  v4: { kind: 'records', records: [{ address, ttl: 0 }] },
  v6: { kind: 'negative', code: 'ENODATA' },
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('NameResolver', () => {
  test('NameResolver resolves a name when watched, then again and again', async () => {
    const asked: string[] = [];
    const decisions: ResolutionDecision[] = [];
    const resolver = new NameResolver({
      bounds: BOUNDS,
      lookup: async (name) => {
        asked.push(name);
        return answer('203.0.113.25');
      },
      onResolution: (_name, decision) => decisions.push(decision),
    });
    const record = resolver.watch('a.example');
    assert.equal(record.state.status, 'pending');
    await until(() => asked.length >= 3);
    resolver.close();
    assert.deepEqual(record.state.addresses, ['203.0.113.25']);
    assert.equal(decisions.filter((d) => d.changed).length, 1);
  });

  test('NameResolver shares one name between its users and stops when the last one leaves', async () => {
    let asked = 0;
    const resolver = new NameResolver({
      bounds: BOUNDS,
      lookup: async () => {
        asked++;
        return answer('203.0.113.25');
      },
      onResolution: () => {},
    });
    const a = resolver.watch('shared.example');
    const b = resolver.watch('shared.example');
    assert.equal(a, b);
    resolver.unwatch('shared.example');
    assert.deepEqual(resolver.names(), ['shared.example']);
    resolver.unwatch('shared.example');
    assert.deepEqual(resolver.names(), []);
    const after = asked;
    await sleep(80);
    assert.ok(asked <= after + 1, 'no rounds after the last user left');
  });

  test('NameResolver treats a lookup that throws as a failed round and keeps going', async () => {
    let calls = 0;
    const decisions: ResolutionDecision[] = [];
    const resolver = new NameResolver({
      bounds: BOUNDS,
      lookup: async () => {
        calls++;
        if (calls === 1) throw Object.assign(new Error('boom'), { code: 'EBOOM' });
        return answer('203.0.113.26');
      },
      onResolution: (_name, decision) => decisions.push(decision),
    });
    const record = resolver.watch('flaky.example');
    await until(() => decisions.length >= 2);
    resolver.close();
    assert.equal(decisions[0]?.outcome, 'failure');
    assert.deepEqual(decisions[0]?.codes, ['EBOOM', 'EBOOM']);
    assert.deepEqual(record.state.addresses, ['203.0.113.26']);
  });
});
