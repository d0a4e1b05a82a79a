import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseIp } from '../destination-parser/address.js';
import { isConnectable } from './connectable.js';

describe('isConnectable()', () => {
  const cases: [string, boolean][] = [
    ['203.0.113.25', true],
    ['10.0.0.1', true],
    ['127.0.0.1', true],
    ['223.255.255.255', true],
    ['240.0.0.1', true],
    ['0.0.0.0', false],
    ['255.255.255.255', false],
    ['224.0.0.1', false],
    ['239.255.255.250', false],
    ['2001:db8::1', true],
    ['::1', true],
    ['fe80::1', true],
    ['::ffff:203.0.113.25', true],
    ['::', false],
    ['ff02::1', false],
    ['FF05::2', false],
  ];
  for (const [text, expected] of cases) {
    test(`isConnectable() says ${expected} for ${text}`, () => {
      const ip = parseIp(text);
      assert.ok(ip);
      assert.equal(isConnectable(ip), expected);
    });
  }
});
