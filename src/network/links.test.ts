import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  addNetns,
  cleanup,
  fixtureValue,
  ip,
  ipJson,
  netnsUnavailable,
  runFixture,
} from './_netns-harness.js';
import type { Link } from './links.js';

interface IpLink {
  ifindex: number;
  ifname: string;
  address: string;
  flags: string[];
}

describe('links, in a throwaway network namespace', { skip: netnsUnavailable() }, () => {
  let ns = '';
  before(() => {
    ns = addNetns('links');
    ip('-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  });
  after(cleanup);

  test('linkByName reports index, name, state and MAC as iproute2 does', () => {
    const [expected] = ipJson<IpLink[]>('-n', ns, 'link', 'show', 'dev', 'v0');
    const link = fixtureValue<Link>(ns, 'link', { ifname: 'v0' });
    assert.deepEqual(link, { index: expected!.ifindex, name: 'v0', up: false, mac: expected!.address });
  });

  test('linkByName of a missing interface fails with a typed error naming it', () => {
    const output = runFixture(ns, 'link', { ifname: 'macvlan0' });
    assert.equal(output.ok, false);
    if (output.ok) return;
    assert.equal(output.error.name, 'LinkNotFoundError');
    assert.equal(output.error.code, 'ENODEV');
    assert.equal(output.error.message, "interface 'macvlan0' not found");
    assert.match(output.error.cause ?? '', /ENODEV/);
  });

  test('setLinkUp sets the interface up, and again without error', () => {
    assert.ok(!ipJson<IpLink[]>('-n', ns, 'link', 'show', 'dev', 'v0')[0]!.flags.includes('UP'));
    assert.equal(fixtureValue<Link>(ns, 'set-up', { ifname: 'v0' }).up, true);
    assert.equal(fixtureValue<Link>(ns, 'set-up', { ifname: 'v0' }).up, true);
    assert.ok(ipJson<IpLink[]>('-n', ns, 'link', 'show', 'dev', 'v0')[0]!.flags.includes('UP'));
  });

  test('waitForOperUp is false while the veth peer is down, true once it is up', () => {
    // v0 is up (the test before); its peer v1 is down, so v0 is LOWERLAYERDOWN.
    assert.equal(fixtureValue<boolean>(ns, 'wait-oper-up', { ifname: 'v0', timeoutMs: 50 }), false);
    ip('-n', ns, 'link', 'set', 'v1', 'up');
    assert.equal(fixtureValue<boolean>(ns, 'wait-oper-up', { ifname: 'v0', timeoutMs: 3000 }), true);
    const [v0] = ipJson<(IpLink & { operstate: string })[]>('-n', ns, 'link', 'show', 'dev', 'v0');
    assert.equal(v0?.operstate, 'UP');
  });

  test('the handle: idempotent close, typed error after close and for a request cut by close, process exits', () => {
    const value = fixtureValue<Record<string, unknown>>(ns, 'lifecycle');
    assert.deepEqual(value, {
      before: 3,
      closed: true,
      afterClose: 'ERR_NETLINK_CLOSED',
      inFlight: 'ERR_NETLINK_CLOSED',
    });
  });
});
