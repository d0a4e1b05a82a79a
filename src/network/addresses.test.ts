import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addNetns, cleanup, fixtureValue, ip, netnsUnavailable, runFixture } from './_netns-harness.js';
import type { EnsureAddressResult, InterfaceAddress } from './addresses.js';

describe('addresses, in a throwaway network namespace', { skip: netnsUnavailable() }, () => {
  let ns = '';
  before(() => {
    ns = addNetns('addr');
    ip('-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    ip('-n', ns, 'link', 'set', 'v1', 'up');
    ip('-n', ns, 'link', 'set', 'v0', 'up');
  });
  after(cleanup);

  const shown = (family: '-4' | '-6') => ip('-n', ns, '-o', family, 'addr', 'show', 'dev', 'v0');

  test('IPv4: added with its prefix, then re-added idempotently', () => {
    const first = fixtureValue<EnsureAddressResult>(ns, 'ensure-address', {
      ifname: 'v0',
      cidr: '10.10.0.5/24',
    });
    assert.deepEqual(first, { added: true });
    assert.match(shown('-4'), /inet 10\.10\.0\.5\/24 /);
    const again = fixtureValue<EnsureAddressResult>(ns, 'ensure-address', {
      ifname: 'v0',
      cidr: '10.10.0.5/24',
    });
    assert.deepEqual(again, { added: false });
    assert.equal(shown('-4').match(/10\.10\.0\.5\//g)?.length, 1);
  });

  test('IPv6: added with nodad (usable at once, not tentative), then re-added idempotently', () => {
    const first = fixtureValue<EnsureAddressResult>(ns, 'ensure-address', {
      ifname: 'v0',
      cidr: 'fd00:10::5/64',
    });
    assert.deepEqual(first, { added: true });
    const line = shown('-6')
      .split('\n')
      .find((l) => l.includes('fd00:10::5/64'));
    assert.ok(line, shown('-6'));
    assert.match(line, /\bnodad\b/);
    assert.doesNotMatch(line, /tentative/);
    const again = fixtureValue<EnsureAddressResult>(ns, 'ensure-address', {
      ifname: 'v0',
      cidr: 'fd00:10::5/64',
    });
    assert.deepEqual(again, { added: false });
  });

  test('IPv6: the same address with another prefix is a typed EEXIST', () => {
    const output = runFixture(ns, 'ensure-address', { ifname: 'v0', cidr: 'fd00:10::5/48' });
    assert.equal(output.ok, false);
    if (output.ok) return;
    assert.equal(output.error.name, 'AlreadyExistsError');
    assert.equal(output.error.code, 'EEXIST');
    assert.match(output.error.message, /fd00:10::5\/48.*already there with prefix \/64/);
  });

  test('listAddresses reports both families with prefix and flags', () => {
    const addresses = fixtureValue<InterfaceAddress[]>(ns, 'list-addresses', { ifname: 'v0' });
    const v4 = addresses.find((a) => a.address === '10.10.0.5');
    const v6 = addresses.find((a) => a.address === 'fd00:10::5');
    assert.deepEqual(v4 && { family: v4.family, prefix: v4.prefix, nodad: v4.nodad }, {
      family: 4,
      prefix: 24,
      nodad: false,
    });
    assert.deepEqual(
      v6 && { family: v6.family, prefix: v6.prefix, nodad: v6.nodad, tentative: v6.tentative },
      {
        family: 6,
        prefix: 64,
        nodad: true,
        tentative: false,
      },
    );
    assert.ok(
      addresses.some((a) => a.address.startsWith('fe80:')),
      'the link-local address is listed too',
    );
  });

  test('an interface index that does not exist is a typed ENODEV', () => {
    const output = runFixture(ns, 'ensure-address', { ifindex: 9999, cidr: '10.10.0.6/24' });
    assert.equal(output.ok, false);
    if (!output.ok) assert.equal(output.error.code, 'ENODEV');
  });
});
