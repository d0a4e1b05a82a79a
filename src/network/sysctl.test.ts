import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { addNetns, cleanup, fixtureValue, inNetns, netnsUnavailable, runFixture } from './_netns-harness.js';
import { forwardingPath, sysctlPath } from './sysctl.js';

describe('sysctl paths', () => {
  test('forwardingPath names the per-namespace sysctl of each family', () => {
    assert.equal(forwardingPath(4), '/proc/sys/net/ipv4/ip_forward');
    assert.equal(forwardingPath(6), '/proc/sys/net/ipv6/conf/all/forwarding');
  });

  test('sysctlPath takes slashes or dots and never leaves /proc/sys', () => {
    assert.equal(sysctlPath('net.ipv4.ip_forward'), '/proc/sys/net/ipv4/ip_forward');
    assert.equal(
      sysctlPath('net/ipv4/conf/eth0.100/arp_notify'),
      '/proc/sys/net/ipv4/conf/eth0.100/arp_notify',
    );
    assert.throws(() => sysctlPath('net/../../etc/passwd'), TypeError);
    assert.throws(() => sysctlPath('/net/ipv4'), TypeError);
  });
});

/** Sets the namespace's start state with sysctl(8), independently of the code under test. */
function setStart(ns: string, ...settings: string[]): void {
  inNetns(ns, 'sysctl', '-q', '-w', ...settings);
}

describe('setForwarding, in a throwaway network namespace', { skip: netnsUnavailable() }, () => {
  after(cleanup);

  test('enables forwarding inside the namespace and leaves the host alone', () => {
    const host = [readFileSync(forwardingPath(4), 'utf8'), readFileSync(forwardingPath(6), 'utf8')];
    const ns = addNetns('sysctl');
    // A new namespace copies the host's IPv4 settings (and its IPv6 ones with
    // net.core.devconf_inherit_init_net=1): the start state is set here, not assumed.
    setStart(ns, 'net.ipv4.ip_forward=0', 'net.ipv6.conf.all.forwarding=0');
    assert.equal(inNetns(ns, 'cat', forwardingPath(4)).trim(), '0');
    assert.equal(inNetns(ns, 'cat', forwardingPath(6)).trim(), '0');
    assert.deepEqual(fixtureValue<boolean[]>(ns, 'forwarding', { families: [4, 6] }), [true, true]);
    assert.equal(inNetns(ns, 'cat', forwardingPath(4)).trim(), '1');
    assert.equal(inNetns(ns, 'cat', forwardingPath(6)).trim(), '1');
    assert.deepEqual(fixtureValue<boolean[]>(ns, 'forwarding', { families: [4] }), [true], 'idempotent');
    assert.deepEqual(
      [readFileSync(forwardingPath(4), 'utf8'), readFileSync(forwardingPath(6), 'utf8')],
      host,
    );
  });

  test('writeSysctl writes a per-interface key; an unknown one is a typed ENOENT', () => {
    const ns = addNetns('sysctl2');
    const key = 'net/ipv4/conf/lo/arp_notify';
    const host = readFileSync(sysctlPath(key), 'utf8');
    setStart(ns, 'net.ipv4.conf.lo.arp_notify=0');
    assert.equal(inNetns(ns, 'cat', sysctlPath(key)).trim(), '0');
    assert.equal(fixtureValue<string>(ns, 'sysctl', { key, value: '1' }), '1');
    assert.equal(inNetns(ns, 'cat', sysctlPath(key)).trim(), '1');
    assert.equal(readFileSync(sysctlPath(key), 'utf8'), host);
    const output = runFixture(ns, 'sysctl', { key: 'net/ipv4/conf/nope0/arp_notify', value: '1' });
    assert.equal(output.ok, false);
    if (output.ok) return;
    assert.equal(output.error.name, 'SysctlError');
    assert.equal(output.error.code, 'ENOENT');
    assert.match(output.error.message, /^set net\/ipv4\/conf\/nope0\/arp_notify = 1: ENOENT/);
  });
});
