import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AddressHealth } from './health.js';

describe('AddressHealth', () => {
  test('AddressHealth backs a failing address off 1 s, doubling, at most 30 s', () => {
    const health = new AddressHealth();
    const delays = Array.from({ length: 8 }, (_, i) => health.failed('a 80', i));
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  test('AddressHealth forgets the failures of an address that connects again', () => {
    const health = new AddressHealth();
    health.failed('a 80', 0);
    health.failed('a 80', 0);
    assert.equal(health.succeeded('a 80'), true);
    assert.equal(health.allUp, true);
    assert.equal(health.failed('a 80', 0), 1_000);
  });

  test('AddressHealth keeps ports of one address apart', () => {
    const health = new AddressHealth();
    health.failed('a 80', 0);
    assert.equal(health.retryAt('a 80'), 1_000);
    assert.equal(health.retryAt('a 443'), undefined);
  });

  test('AddressHealth prunes addresses not tried again long after their back-off', () => {
    const health = new AddressHealth(1_000, 30_000);
    health.failed('gone 80', 0);
    health.failed('b 80', 100_000);
    assert.equal(health.retryAt('gone 80'), undefined);
    assert.equal(health.retryAt('b 80'), 101_000);
  });
});
