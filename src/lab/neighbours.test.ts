import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNeighbours } from './neighbours.js';

describe('parseNeighbours()', () => {
  it('reads addresses, interfaces, MACs (lower case), states and the router flag', () => {
    const text = JSON.stringify([
      { dst: '192.168.50.11', dev: 'nodenet0', lladdr: '02:EC:50:00:00:11', state: ['REACHABLE'] },
      { dst: 'fd00:50::12', dev: 'nodenet0', lladdr: '02:ec:50:00:00:12', router: null, state: ['STALE'] },
      { dst: '192.168.50.100', dev: 'nodenet0', state: ['FAILED'] },
      { dev: 'nodenet0' },
    ]);
    assert.deepEqual(parseNeighbours(text), [
      {
        address: '192.168.50.11',
        dev: 'nodenet0',
        lladdr: '02:ec:50:00:00:11',
        state: ['REACHABLE'],
        router: false,
      },
      {
        address: 'fd00:50::12',
        dev: 'nodenet0',
        lladdr: '02:ec:50:00:00:12',
        state: ['STALE'],
        router: true,
      },
      { address: '192.168.50.100', dev: 'nodenet0', lladdr: undefined, state: ['FAILED'], router: false },
    ]);
  });

  it('reads an empty table from empty output and refuses what is not a list', () => {
    assert.deepEqual(parseNeighbours(''), []);
    assert.deepEqual(parseNeighbours('[]\n'), []);
    assert.throws(() => parseNeighbours('{}'), TypeError);
    assert.throws(() => parseNeighbours('['), SyntaxError);
  });
});
