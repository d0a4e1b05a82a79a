import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tableDrift } from './drift.js';
import type { AppliedTable } from './transaction.js';

const applied: AppliedTable = {
  table: { sets: new Map(), chains: new Map() },
  physical: new Map([
    ['pods4', 'pods4.1'],
    ['fw4-a', 'fw4-a.3'],
  ]),
  chains: new Map([
    ['forward', JSON.stringify([[{ counter: null }], [{ drop: null }]])],
    ['ns-a', JSON.stringify([[{ counter: null }]])],
  ]),
};
const shape = (chains: Record<string, number>, sets: string[], handle = 7n) => ({
  handle,
  chains: new Map(Object.entries(chains)),
  sets: new Set(sets),
});

describe('tableDrift', () => {
  test('the table as applied: no difference; the admin chain may hold any rules, extra objects are not ours to judge', () => {
    assert.deepEqual(
      tableDrift(
        applied,
        shape({ forward: 2, 'ns-a': 1, 'OPENSHIFT-ADMIN-OUTPUT-RULES': 7, stray: 3 }, [
          'pods4.1',
          'fw4-a.3',
          'x',
        ]),
      ),
      [],
    );
  });

  test('a table with another handle was made again by someone else (a saved ruleset loaded back), whatever it holds', () => {
    const same = shape(
      { forward: 2, 'ns-a': 1, 'OPENSHIFT-ADMIN-OUTPUT-RULES': 0 },
      ['pods4.1', 'fw4-a.3'],
      9n,
    );
    assert.deepEqual(tableDrift(applied, same, 9n), []);
    assert.deepEqual(tableDrift(applied, same, 7n), [
      'table inet egress_router_node was deleted and made again by someone else (handle 9, ours 7)',
    ]);
    assert.deepEqual(tableDrift(applied, same), [], 'no handle known: the shape only');
  });

  test('a table gone, a chain flushed or deleted, a set deleted: each said in one line', () => {
    assert.deepEqual(tableDrift(applied, undefined), ['table inet egress_router_node is gone']);
    assert.deepEqual(tableDrift(applied, shape({ forward: 0 }, ['fw4-a.3'])), [
      'chain OPENSHIFT-ADMIN-OUTPUT-RULES is gone',
      'chain forward has 0 rules, 2 applied',
      'chain ns-a is gone',
      'set pods4.1 is gone',
    ]);
  });
});
