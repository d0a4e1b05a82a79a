import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { describe, test } from 'node:test';
import { createSelfCheck } from './local-addresses.js';
import { toNumericIp } from './policy/ip.js';

describe('createSelfCheck()', () => {
  const isSelf = createSelfCheck();
  const own = (text: string) => isSelf(toNumericIp(text)!);

  test('createSelfCheck() treats loopback, unspecified and their mapped forms as the proxy itself', () => {
    for (const address of [
      '127.0.0.1',
      '127.255.255.254',
      '0.0.0.0',
      '::1',
      '::',
      '::ffff:127.0.0.1',
      '::ffff:0.0.0.0',
    ]) {
      assert.equal(own(address), true, address);
    }
  });

  test("createSelfCheck() treats every address of the host's interfaces as the proxy itself", () => {
    const addresses = Object.values(networkInterfaces())
      .flat()
      .map((entry) => entry!.address.split('%')[0]!);
    assert.ok(addresses.length > 0);
    for (const address of addresses) assert.equal(own(address), true, address);
  });

  test('createSelfCheck() does not treat other addresses as the proxy', () => {
    for (const address of ['192.0.2.1', '198.51.100.7', '2001:db8::7', '128.0.0.1', '::2']) {
      assert.equal(own(address), false, address);
    }
  });
});
