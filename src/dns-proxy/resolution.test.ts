import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  backoff,
  decideResolution,
  type FamilyLookup,
  type NameState,
  PENDING,
  sameAddresses,
} from './resolution.js';

const BOUNDS = { minTtlMs: 1_000, maxTtlMs: 30_000, negativeHoldMs: 30_000 };

const records = (...pairs: [string, number][]): FamilyLookup => ({
  kind: 'records',
  records: pairs.map(([address, ttl]) => ({ address, ttl })),
});
const nodata: FamilyLookup = { kind: 'negative', code: 'ENODATA' };
const nxdomain: FamilyLookup = { kind: 'negative', code: 'ENOTFOUND' };
const timeout: FamilyLookup = { kind: 'failed', code: 'ETIMEOUT' };
const refused: FamilyLookup = { kind: 'failed', code: 'ECONNREFUSED' };

const resolved = (v4: string[], v6: string[] = []): NameState => ({
  addresses: [...v4, ...v6],
  v4,
  v6,
  status: 'resolved',
  misses: 0,
});

describe('decideResolution() with an answer', () => {
  test('decideResolution() takes A and AAAA records, IPv4 first, each sorted, and asks again when the TTL runs out', () => {
    const decision = decideResolution(
      PENDING,
      { v4: records(['203.0.113.26', 60], ['203.0.113.25', 20]), v6: records(['2001:db8::25', 15]) },
      0,
      BOUNDS,
    );
    assert.deepEqual(decision, {
      state: resolved(['203.0.113.25', '203.0.113.26'], ['2001:db8::25']),
      outcome: 'answer',
      delayMs: 15_000,
      changed: true,
      ttl: 15,
    });
  });

  test('decideResolution() clamps the TTL to the minimum and the maximum', () => {
    assert.equal(
      decideResolution(PENDING, { v4: records(['10.0.0.1', 0]), v6: nodata }, 0, BOUNDS).delayMs,
      1_000,
    );
    assert.equal(
      decideResolution(PENDING, { v4: records(['10.0.0.1', 86_400]), v6: nodata }, 0, BOUNDS).delayMs,
      30_000,
    );
  });

  test('decideResolution() says unchanged for the same addresses in another order', () => {
    const previous = resolved(['203.0.113.25', '203.0.113.26']);
    const decision = decideResolution(
      previous,
      { v4: records(['203.0.113.26', 5], ['203.0.113.25', 5]), v6: nodata },
      0,
      BOUNDS,
    );
    assert.equal(decision.changed, false);
    assert.deepEqual(decision.state, previous);
  });

  test('decideResolution() follows a changed record', () => {
    const decision = decideResolution(
      resolved(['203.0.113.25']),
      { v4: records(['203.0.113.26', 5]), v6: nodata },
      0,
      BOUNDS,
    );
    assert.equal(decision.changed, true);
    assert.deepEqual(decision.state.addresses, ['203.0.113.26']);
  });

  test('decideResolution() keeps the addresses of a family whose lookup failed while the other answered', () => {
    const decision = decideResolution(
      resolved(['203.0.113.25'], ['2001:db8::25']),
      { v4: records(['203.0.113.26', 5]), v6: timeout },
      0,
      BOUNDS,
    );
    assert.deepEqual(decision.state.addresses, ['203.0.113.26', '2001:db8::25']);
    assert.equal(decision.outcome, 'answer');
  });

  test('decideResolution() drops a family that now has no record', () => {
    const decision = decideResolution(
      resolved(['203.0.113.25'], ['2001:db8::25']),
      { v4: records(['203.0.113.25', 5]), v6: nodata },
      0,
      BOUNDS,
    );
    assert.deepEqual(decision.state.addresses, ['203.0.113.25']);
    assert.equal(decision.changed, true);
  });

  test('decideResolution() leaves out addresses no connection can use, and says so', () => {
    const decision = decideResolution(
      PENDING,
      { v4: records(['0.0.0.0', 5], ['224.0.0.1', 5], ['203.0.113.25', 5]), v6: records(['ff02::1', 5]) },
      0,
      BOUNDS,
    );
    assert.deepEqual(decision.state.addresses, ['203.0.113.25']);
    assert.deepEqual(decision.ignored, ['0.0.0.0', '224.0.0.1', 'ff02::1']);
  });

  test('decideResolution() forgets past misses once an answer comes', () => {
    const previous: NameState = { ...resolved(['203.0.113.25']), status: 'stale', misses: 4 };
    const decision = decideResolution(previous, { v4: records(['203.0.113.25', 5]), v6: nodata }, 0, BOUNDS);
    assert.equal(decision.state.misses, 0);
    assert.equal(decision.state.status, 'resolved');
  });
});

describe('decideResolution() without an answer', () => {
  test('decideResolution() keeps the last good addresses while the DNS fails, backing off', () => {
    let state = resolved(['203.0.113.25']);
    const delays: number[] = [];
    for (let round = 0; round < 7; round++) {
      const decision = decideResolution(state, { v4: timeout, v6: refused }, round, BOUNDS);
      assert.equal(decision.outcome, 'failure');
      assert.equal(decision.changed, false);
      assert.deepEqual(decision.state.addresses, ['203.0.113.25']);
      assert.equal(decision.state.status, 'stale');
      assert.deepEqual(decision.codes, ['ETIMEOUT', 'ECONNREFUSED']);
      delays.push(decision.delayMs);
      state = decision.state;
    }
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  test('decideResolution() of a name never resolved and a failing DNS: unresolved, retried with back-off', () => {
    const decision = decideResolution(PENDING, { v4: timeout, v6: timeout }, 0, BOUNDS);
    assert.equal(decision.state.status, 'unresolved');
    assert.deepEqual(decision.state.addresses, []);
    assert.equal(decision.delayMs, 1_000);
  });

  test('decideResolution() counts one failed family and one negative family as a failure (nothing is known)', () => {
    const decision = decideResolution(resolved(['203.0.113.25']), { v4: timeout, v6: nodata }, 0, BOUNDS);
    assert.equal(decision.outcome, 'failure');
    assert.deepEqual(decision.state.addresses, ['203.0.113.25']);
  });

  test('decideResolution() of a name unknown from the start: unresolved, retried with back-off', () => {
    const first = decideResolution(PENDING, { v4: nxdomain, v6: nxdomain }, 0, BOUNDS);
    assert.equal(first.outcome, 'negative');
    assert.equal(first.state.status, 'unresolved');
    assert.equal(first.changed, false);
    const second = decideResolution(first.state, { v4: nxdomain, v6: nxdomain }, 1_000, BOUNDS);
    assert.equal(second.delayMs, 2_000);
  });

  test('decideResolution() holds the last addresses of a name gone from the DNS, then drops them', () => {
    const hold = { ...BOUNDS, negativeHoldMs: 5_000 };
    const first = decideResolution(resolved(['203.0.113.25']), { v4: nxdomain, v6: nxdomain }, 10_000, hold);
    assert.equal(first.state.status, 'held');
    assert.deepEqual(first.state.addresses, ['203.0.113.25']);
    assert.equal(first.changed, false);
    const second = decideResolution(first.state, { v4: nodata, v6: nodata }, 14_000, hold);
    assert.equal(second.state.status, 'held');
    assert.equal(second.delayMs, 1_000, 'the next round comes when the hold runs out (at least minTtl)');
    const third = decideResolution(second.state, { v4: nxdomain, v6: nxdomain }, 15_000, hold);
    assert.equal(third.state.status, 'unresolved');
    assert.deepEqual(third.state.addresses, []);
    assert.equal(third.changed, true);
  });

  test('decideResolution() with no negative hold drops the addresses at the first negative answer', () => {
    const decision = decideResolution(resolved(['203.0.113.25']), { v4: nxdomain, v6: nxdomain }, 0, {
      ...BOUNDS,
      negativeHoldMs: 0,
    });
    assert.deepEqual(decision.state.addresses, []);
    assert.equal(decision.changed, true);
  });

  test('decideResolution() restarts the hold after the name came back', () => {
    const hold = { ...BOUNDS, negativeHoldMs: 5_000 };
    const gone = decideResolution(resolved(['203.0.113.25']), { v4: nxdomain, v6: nxdomain }, 0, hold);
    const back = decideResolution(gone.state, { v4: records(['203.0.113.25', 1]), v6: nodata }, 4_000, hold);
    assert.equal(back.state.negativeSince, undefined);
    const goneAgain = decideResolution(back.state, { v4: nxdomain, v6: nxdomain }, 8_000, hold);
    assert.equal(goneAgain.state.status, 'held');
  });
});

describe('backoff() and sameAddresses()', () => {
  test('backoff() starts at the minimum TTL, doubles, stops at the maximum', () => {
    const bounds = { minTtlMs: 500, maxTtlMs: 3_000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 100].map((misses) => backoff(misses, bounds)),
      [500, 1_000, 2_000, 3_000, 3_000, 3_000],
    );
  });

  test('sameAddresses() compares as sets', () => {
    assert.equal(sameAddresses(['a', 'b'], ['b', 'a']), true);
    assert.equal(sameAddresses(['a', 'b'], ['a']), false);
    assert.equal(sameAddresses(['a', 'b'], ['a', 'c']), false);
    assert.equal(sameAddresses([], []), true);
  });
});
