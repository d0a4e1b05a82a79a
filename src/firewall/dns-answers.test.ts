import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { FamilyLookup, NameLookup } from '../dns-proxy/resolution.js';
import { DNS_BOUNDS, expireAnswers, foldLookup, type NameAnswers, NO_ANSWERS } from './dns-answers.js';

const records = (...pairs: [string, number][]): FamilyLookup => ({
  kind: 'records',
  records: pairs.map(([address, ttl]) => ({ address, ttl })),
});
const nodata: FamilyLookup = { kind: 'negative', code: 'ENODATA' };
const nxdomain: FamilyLookup = { kind: 'negative', code: 'ENOTFOUND' };
const timeout: FamilyLookup = { kind: 'failed', code: 'ETIMEOUT' };
const servfail: FamilyLookup = { kind: 'failed', code: 'ESERVFAIL' };

const lookup = (v4: FamilyLookup, v6: FamilyLookup = nodata): NameLookup => ({ v4, v6 });

/** The allowed addresses, each to when, as plain entries (sorted by address). */
const allowed = (answers: NameAnswers) => [...answers.addresses].sort(([a], [b]) => (a < b ? -1 : 1));

const T0 = 1_700_000_000_000;

describe('foldLookup() with records', () => {
  test('DNS_BOUNDS: TTLs of at least 1 s, 30 min when none is known, back-off up to 300 s', () => {
    assert.deepEqual(DNS_BOUNDS, { minTtlSeconds: 1, defaultTtlSeconds: 1800, maxBackoffSeconds: 300 });
  });

  test('foldLookup() allows each answered address until its own TTL and looks again at the smallest', () => {
    const step = foldLookup(
      NO_ANSWERS,
      lookup(records(['203.0.113.26', 60], ['203.0.113.25', 20]), records(['2001:db8::25', 45])),
      T0,
    );
    assert.deepEqual(step, {
      answers: {
        addresses: new Map([
          ['203.0.113.26', T0 + 60_000],
          ['203.0.113.25', T0 + 20_000],
          ['2001:db8::25', T0 + 45_000],
        ]),
        failures: 0,
        lastError: undefined,
        looked: true,
        failing: { v4: false, v6: false },
      },
      changed: true,
      lookupInMs: 20_000,
      expireInMs: 20_000,
    });
  });

  test('foldLookup() takes a TTL below 1 s, 0 included, as 1 s', () => {
    for (const ttl of [0, 0.2, -5]) {
      const step = foldLookup(NO_ANSWERS, lookup(records(['192.0.2.1', ttl])), T0);
      assert.deepEqual(allowed(step.answers), [['192.0.2.1', T0 + 1000]], `TTL ${ttl}`);
      assert.equal(step.lookupInMs, 1000, `TTL ${ttl}`);
      assert.equal(step.expireInMs, 1000, `TTL ${ttl}`);
    }
  });

  test('foldLookup() takes an unknown TTL as 30 minutes', () => {
    for (const ttl of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const step = foldLookup(NO_ANSWERS, lookup(nodata, records(['2001:db8::1', ttl])), T0);
      assert.deepEqual(allowed(step.answers), [['2001:db8::1', T0 + 30 * 60_000]], `TTL ${ttl}`);
      assert.equal(step.lookupInMs, 30 * 60_000, `TTL ${ttl}`);
    }
  });

  test('foldLookup() uses the bounds it is given', () => {
    const bounds = { minTtlSeconds: 5, defaultTtlSeconds: 60, maxBackoffSeconds: 4 };
    const step = foldLookup(
      NO_ANSWERS,
      lookup(records(['192.0.2.1', 2]), records(['2001:db8::1', Number.NaN])),
      T0,
      bounds,
    );
    assert.deepEqual(allowed(step.answers), [
      ['192.0.2.1', T0 + 5000],
      ['2001:db8::1', T0 + 60_000],
    ]);
    assert.equal(step.lookupInMs, 5000);
    let answers = NO_ANSWERS;
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const failed = foldLookup(answers, lookup(timeout, timeout), T0 + i, bounds);
      answers = failed.answers;
      delays.push(failed.lookupInMs);
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 4000, 4000]);
  });

  test('foldLookup() keeps addresses in lower case', () => {
    const step = foldLookup(NO_ANSWERS, lookup(nodata, records(['2001:DB8::AB', 60])), T0);
    assert.deepEqual([...step.answers.addresses.keys()], ['2001:db8::ab']);
    const again = foldLookup(step.answers, lookup(nodata, records(['2001:db8::ab', 60])), T0 + 1000);
    assert.deepEqual([...again.answers.addresses.keys()], ['2001:db8::ab']);
    assert.equal(again.changed, false);
  });

  test('foldLookup() keeps an address dropped by a newer answer until its own TTL runs out', () => {
    const first = foldLookup(NO_ANSWERS, lookup(records(['192.0.2.1', 60])), T0);
    const second = foldLookup(first.answers, lookup(records(['192.0.2.2', 60])), T0 + 10_000);
    assert.deepEqual(allowed(second.answers), [
      ['192.0.2.1', T0 + 60_000],
      ['192.0.2.2', T0 + 70_000],
    ]);
    assert.equal(second.changed, true);
    assert.equal(second.lookupInMs, 60_000);
    assert.equal(second.expireInMs, 50_000, 'the older address is the next to expire');
  });

  test('foldLookup() drops an address at its deadline exactly, not a millisecond before', () => {
    const first = foldLookup(NO_ANSWERS, lookup(records(['192.0.2.1', 60])), T0);
    const before = foldLookup(first.answers, lookup(records(['192.0.2.2', 60])), T0 + 59_999);
    assert.equal(before.answers.addresses.has('192.0.2.1'), true);
    assert.equal(before.expireInMs, 1);
    const at = foldLookup(first.answers, lookup(records(['192.0.2.2', 60])), T0 + 60_000);
    assert.deepEqual(allowed(at.answers), [['192.0.2.2', T0 + 120_000]]);
    assert.equal(at.changed, true);
  });

  test('foldLookup() extends an address answered again, and never shortens it', () => {
    const first = foldLookup(NO_ANSWERS, lookup(records(['192.0.2.1', 300])), T0);
    const shorter = foldLookup(first.answers, lookup(records(['192.0.2.1', 10])), T0 + 1000);
    assert.deepEqual(allowed(shorter.answers), [['192.0.2.1', T0 + 300_000]]);
    assert.equal(shorter.changed, false);
    assert.equal(shorter.lookupInMs, 10_000);
    const longer = foldLookup(shorter.answers, lookup(records(['192.0.2.1', 600])), T0 + 2000);
    assert.deepEqual(allowed(longer.answers), [['192.0.2.1', T0 + 602_000]]);
    assert.equal(longer.changed, false, 'a longer TTL is no change of the set');
  });

  test('foldLookup() folds each family on its own: an answer of one family leaves the other to its own lookup', () => {
    const first = foldLookup(
      NO_ANSWERS,
      lookup(records(['192.0.2.1', 60]), records(['2001:db8::1', 60])),
      T0,
    );
    const v6Gone = foldLookup(first.answers, lookup(records(['192.0.2.1', 60]), nodata), T0 + 1000);
    assert.deepEqual(allowed(v6Gone.answers), [
      ['192.0.2.1', T0 + 61_000],
      ['2001:db8::1', T0 + 60_000],
    ]);
    assert.equal(v6Gone.answers.failures, 0);
    assert.equal(v6Gone.answers.lastError, undefined, 'a lookup with records has no error');
  });
});

describe('foldLookup() without records', () => {
  test('foldLookup() backs off 1 s, doubling, up to 300 s, and starts again after records', () => {
    let answers = NO_ANSWERS;
    const delays: number[] = [];
    const failures: number[] = [];
    for (let i = 0; i < 12; i++) {
      const step = foldLookup(
        answers,
        i % 2 === 0 ? lookup(timeout, servfail) : lookup(nxdomain, nxdomain),
        T0 + i,
      );
      answers = step.answers;
      delays.push(step.lookupInMs);
      failures.push(step.answers.failures);
    }
    assert.deepEqual(
      delays,
      [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300].map((s) => s * 1000),
    );
    assert.deepEqual(failures, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const found = foldLookup(answers, lookup(records(['192.0.2.1', 7])), T0 + 100);
    assert.equal(found.answers.failures, 0);
    assert.equal(found.lookupInMs, 7000);
    const lostAgain = foldLookup(found.answers, lookup(timeout, timeout), T0 + 200);
    assert.equal(lostAgain.lookupInMs, 1000);
  });

  test('foldLookup() never backs off beyond the maximum, however many failures', () => {
    const answers: NameAnswers = { ...NO_ANSWERS, failures: 10_000 };
    assert.equal(foldLookup(answers, lookup(timeout, timeout), T0).lookupInMs, 300_000);
  });

  test('foldLookup() counts an answer with an empty record list as a lookup without records', () => {
    const step = foldLookup(NO_ANSWERS, lookup(records(), records()), T0);
    assert.equal(step.answers.failures, 1);
    assert.equal(step.lookupInMs, 1000);
    assert.equal(step.answers.lastError, undefined);
    assert.equal(step.changed, false);
    assert.equal(step.expireInMs, undefined);
  });

  test("foldLookup() keeps the first family's error code (IPv4's) and the looked flag", () => {
    const step = foldLookup(NO_ANSWERS, lookup(nxdomain, timeout), T0);
    assert.deepEqual(step.answers, {
      addresses: new Map(),
      failures: 1,
      lastError: 'ENOTFOUND',
      looked: true,
      failing: { v4: false, v6: true },
    });
    assert.equal(foldLookup(NO_ANSWERS, lookup(records(), servfail), T0).answers.lastError, 'ESERVFAIL');
    assert.equal(NO_ANSWERS.looked, false);
  });

  test('foldLookup() keeps the addresses of a failing family, expired or not, and does not schedule their expiry', () => {
    const first = foldLookup(
      NO_ANSWERS,
      lookup(records(['192.0.2.1', 10]), records(['2001:db8::1', 60])),
      T0,
    );
    const failing = foldLookup(first.answers, lookup(timeout, records(['2001:db8::1', 60])), T0 + 30_000);
    assert.deepEqual(allowed(failing.answers), [
      ['192.0.2.1', T0 + 10_000],
      ['2001:db8::1', T0 + 90_000],
    ]);
    assert.deepEqual(failing.answers.failing, { v4: true, v6: false });
    assert.equal(failing.changed, false);
    assert.equal(failing.expireInMs, 60_000, 'only the IPv6 address is to expire');
    assert.equal(failing.answers.failures, 0, 'the IPv6 records count as an answer');
    const allFailing = foldLookup(failing.answers, lookup(timeout, servfail), T0 + 200_000);
    assert.deepEqual(
      [...allFailing.answers.addresses.keys()].sort(),
      ['192.0.2.1', '2001:db8::1'],
      'kept while every lookup fails',
    );
    assert.equal(allFailing.expireInMs, undefined);
    assert.equal(allFailing.answers.lastError, 'ETIMEOUT');
  });

  test('foldLookup() lets the addresses of a negative answer run out at their TTL', () => {
    const first = foldLookup(NO_ANSWERS, lookup(records(['192.0.2.1', 10], ['192.0.2.2', 100])), T0);
    const gone = foldLookup(first.answers, lookup(nxdomain, nxdomain), T0 + 10_000);
    assert.deepEqual(allowed(gone.answers), [['192.0.2.2', T0 + 100_000]]);
    assert.equal(gone.changed, true);
    assert.equal(gone.expireInMs, 90_000);
    assert.equal(gone.lookupInMs, 1000);
  });

  test('foldLookup() drops the expired addresses of a family that failed once its lookups answer again', () => {
    const first = foldLookup(NO_ANSWERS, lookup(records(['192.0.2.1', 10])), T0);
    const failing = foldLookup(first.answers, lookup(timeout), T0 + 20_000);
    assert.equal(failing.answers.addresses.has('192.0.2.1'), true);
    const negative = foldLookup(failing.answers, lookup(nxdomain), T0 + 30_000);
    assert.equal(negative.answers.addresses.has('192.0.2.1'), false);
    assert.equal(negative.changed, true);
    const answered = foldLookup(failing.answers, lookup(records(['192.0.2.9', 10])), T0 + 30_000);
    assert.deepEqual(allowed(answered.answers), [['192.0.2.9', T0 + 40_000]]);
  });
});

describe('expireAnswers()', () => {
  test('expireAnswers() drops an address at its deadline exactly and says when the next one goes', () => {
    const { answers } = foldLookup(NO_ANSWERS, lookup(records(['192.0.2.1', 10], ['192.0.2.2', 20])), T0);
    const before = expireAnswers(answers, T0 + 9_999);
    assert.deepEqual(before.changed, false);
    assert.equal(before.expireInMs, 1);
    assert.equal(before.answers.addresses.size, 2);
    const at = expireAnswers(answers, T0 + 10_000);
    assert.deepEqual(allowed(at.answers), [['192.0.2.2', T0 + 20_000]]);
    assert.equal(at.changed, true);
    assert.equal(at.expireInMs, 10_000);
    const last = expireAnswers(at.answers, T0 + 20_000);
    assert.deepEqual(last.answers.addresses, new Map());
    assert.equal(last.changed, true);
    assert.equal(last.expireInMs, undefined);
  });

  test('expireAnswers() keeps the addresses of a failing family past their deadline', () => {
    const first = foldLookup(
      NO_ANSWERS,
      lookup(records(['192.0.2.1', 10]), records(['2001:db8::1', 10])),
      T0,
    );
    const failing = foldLookup(first.answers, lookup(records(['192.0.2.1', 10]), timeout), T0 + 5000);
    const later = expireAnswers(failing.answers, T0 + 3_600_000);
    assert.deepEqual([...later.answers.addresses.keys()], ['2001:db8::1']);
    assert.equal(later.changed, true);
    assert.equal(later.expireInMs, undefined);
  });

  test('expireAnswers() leaves everything else of the answers as it was', () => {
    const failed = foldLookup(NO_ANSWERS, lookup(records(['192.0.2.1', 10]), timeout), T0).answers;
    const expired = expireAnswers(failed, T0 + 20_000).answers;
    assert.deepEqual({ ...expired, addresses: undefined }, { ...failed, addresses: undefined });
  });
});

describe('foldLookup() and expireAnswers() over time (property)', () => {
  const V4 = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];
  const V6 = ['2001:db8::1', '2001:DB8::2', '2001:db8::3'];
  const ttl = fc.oneof(fc.integer({ min: -1, max: 120 }), fc.constant(0.5), fc.constant(Number.NaN));
  const family = (pool: string[]) =>
    fc.oneof(
      fc.array(fc.tuple(fc.constantFrom(...pool), ttl), { maxLength: 3 }).map((pairs) => records(...pairs)),
      fc.constant(nxdomain),
      fc.constant(nodata),
      fc.constant(timeout),
    );
  const event = fc.record({
    afterMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 130_000 }), fc.constant(1_000)),
    lookup: fc.option(fc.record({ v4: family(V4), v6: family(V6) }), { nil: undefined }),
  });

  test('every address of an answer whose TTL has not run out is allowed; no other, unless its family is failing', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), (events) => {
        let now = T0;
        let answers = NO_ANSWERS;
        /** Each address answered so far, to the latest deadline any answer gave it. */
        const deadlines = new Map<string, number>();
        for (const { afterMs, lookup: answer } of events) {
          now += afterMs;
          let expireInMs: number | undefined;
          if (answer === undefined) {
            ({ answers, expireInMs } = expireAnswers(answers, now));
          } else {
            ({ answers, expireInMs } = foldLookup(answers, answer, now));
            for (const result of [answer.v4, answer.v6]) {
              if (result.kind !== 'records') continue;
              for (const record of result.records) {
                const seconds = Number.isFinite(record.ttl) ? Math.max(record.ttl, 1) : 1800;
                const key = record.address.toLowerCase();
                deadlines.set(key, Math.max(deadlines.get(key) ?? 0, now + seconds * 1000));
              }
            }
          }
          for (const [address, deadline] of deadlines) {
            if (deadline > now) {
              assert.equal(answers.addresses.get(address), deadline, `${address} is allowed to its deadline`);
            }
          }
          let next: number | undefined;
          for (const [address, expires] of answers.addresses) {
            assert.ok(deadlines.has(address), `${address} was answered`);
            const failing = address.includes(':') ? answers.failing.v6 : answers.failing.v4;
            if (!failing) {
              assert.ok(expires > now, `${address} of a family that answers has not run out`);
              next = Math.min(next ?? expires, expires);
            }
          }
          assert.equal(expireInMs, next === undefined ? undefined : next - now, 'the next expiry');
        }
      }),
    );
  });
});
