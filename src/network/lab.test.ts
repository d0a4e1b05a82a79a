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

interface IpLinkDetails {
  ifname: string;
  linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
}

describe('lab helpers, in throwaway network namespaces', { skip: netnsUnavailable() }, () => {
  let a = '';
  let b = '';
  before(() => {
    a = addNetns('lab-a');
    b = addNetns('lab-b');
    ip('-n', a, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  });
  after(cleanup);

  test('createMacvlan makes a bridge-mode macvlan on the parent', () => {
    const link = fixtureValue<Link>(a, 'macvlan', { parent: 'v0', name: 'mv0', mode: 'bridge' });
    assert.equal(link.name, 'mv0');
    assert.equal(link.up, false);
    const [details] = ipJson<IpLinkDetails[]>('-n', a, '-d', 'link', 'show', 'dev', 'mv0');
    assert.equal(details?.linkinfo?.info_kind, 'macvlan');
    assert.equal(details?.linkinfo?.info_data?.mode, 'bridge');
    const again = runFixture(a, 'macvlan', { parent: 'v0', name: 'mv0', mode: 'bridge' });
    assert.equal(again.ok, false);
    if (!again.ok) assert.equal(again.error.code, 'EEXIST');
  });

  test('moveLinkToNetns moves it into another namespace by its /run/netns file', () => {
    const left = fixtureValue<string[]>(a, 'move', { ifname: 'mv0', netns: b });
    assert.ok(!left.includes('mv0'));
    assert.ok(ipJson<IpLinkDetails[]>('-n', b, 'link', 'show').some((l) => l.ifname === 'mv0'));
    assert.ok(!ipJson<IpLinkDetails[]>('-n', a, 'link', 'show').some((l) => l.ifname === 'mv0'));
  });

  test('deleteLink deletes a veth pair through one end', () => {
    assert.deepEqual(fixtureValue<string[]>(a, 'delete', { ifname: 'v1' }), ['lo']);
    const output = runFixture(a, 'delete', { ifindex: 9999 });
    assert.equal(output.ok, false);
    if (!output.ok) assert.equal(output.error.code, 'ENODEV');
  });

  test('a namespace name that is not a plain name is refused', () => {
    const output = runFixture(a, 'move', { ifname: 'lo', netns: '../../etc' });
    assert.equal(output.ok, false);
    if (!output.ok) assert.equal(output.error.code, 'EINVAL');
  });
});
