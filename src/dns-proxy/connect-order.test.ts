import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectOrder } from './connect-order.js';
import { AddressHealth } from './health.js';

describe('connectOrder()', () => {
  const abc = ['a', 'b', 'c'];

  test('connectOrder() starts round robin at the position, wrapping around', () => {
    const health = new AddressHealth();
    assert.deepEqual(connectOrder(abc, 0, 80, health, 0, 4), ['a', 'b', 'c']);
    assert.deepEqual(connectOrder(abc, 1, 80, health, 0, 4), ['b', 'c', 'a']);
    assert.deepEqual(connectOrder(abc, 5, 80, health, 0, 4), ['c', 'a', 'b']);
  });

  test('connectOrder() spreads consecutive connections over every address', () => {
    const health = new AddressHealth();
    const firsts = Array.from({ length: 6 }, (_, i) => connectOrder(abc, i, 80, health, 0, 4)[0]);
    assert.deepEqual(firsts, ['a', 'b', 'c', 'a', 'b', 'c']);
  });

  test('connectOrder() puts down addresses last, soonest retry first', () => {
    const health = new AddressHealth();
    health.failed('a 80', 0);
    health.failed('a 80', 0); // back-off 2 s
    health.failed('b 80', 0); // back-off 1 s
    assert.deepEqual(connectOrder(abc, 0, 80, health, 500, 4), ['c', 'b', 'a']);
  });

  test('connectOrder() tries a down address again once its back-off ran out', () => {
    const health = new AddressHealth();
    health.failed('a 80', 0);
    assert.deepEqual(connectOrder(abc, 0, 80, health, 999, 4), ['b', 'c', 'a']);
    assert.deepEqual(connectOrder(abc, 0, 80, health, 1_000, 4), ['a', 'b', 'c']);
  });

  test('connectOrder() still offers every address when all are down', () => {
    const health = new AddressHealth();
    for (const address of abc) health.failed(`${address} 80`, 0);
    assert.deepEqual(connectOrder(abc, 1, 80, health, 10, 4), ['b', 'c', 'a']);
  });

  test('connectOrder() health is per port', () => {
    const health = new AddressHealth();
    health.failed('a 443', 0);
    assert.deepEqual(connectOrder(abc, 0, 80, health, 10, 4), ['a', 'b', 'c']);
  });

  test('connectOrder() tries at most max addresses, and none when there are none', () => {
    const health = new AddressHealth();
    assert.deepEqual(connectOrder(['a', 'b', 'c', 'd', 'e'], 3, 80, health, 0, 2), ['d', 'e']);
    assert.deepEqual(connectOrder([], 3, 80, health, 0, 4), []);
  });
});
