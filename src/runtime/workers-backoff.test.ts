import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  crashesInARow,
  RESTART_BASE_MS,
  RESTART_MAX_MS,
  restartDelayMs,
  STABLE_AFTER_MS,
} from './workers-backoff.js';

test('restartDelayMs() doubles from the base with each crash in a row, up to the maximum', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map(restartDelayMs), [
    100,
    200,
    400,
    800,
    1600,
    3200,
    6400,
    RESTART_MAX_MS,
    RESTART_MAX_MS,
  ]);
  assert.equal(restartDelayMs(0), RESTART_BASE_MS);
  assert.equal(restartDelayMs(1000), RESTART_MAX_MS);
});

test('restartDelayMs() never decreases and stays within its bounds (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), (n) => {
      const delay = restartDelayMs(n);
      assert.ok(delay >= RESTART_BASE_MS && delay <= RESTART_MAX_MS);
      assert.ok(restartDelayMs(n + 1) >= delay);
    }),
  );
});

test('crashesInARow() starts again at 1 after a worker that ran long enough, else counts up', () => {
  assert.equal(crashesInARow(0, 50), 1);
  assert.equal(crashesInARow(3, 50), 4);
  assert.equal(crashesInARow(7, STABLE_AFTER_MS), 1);
});
