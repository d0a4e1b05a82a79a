import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { addNetns, cleanup, fixtureValue, inNetns, netnsUnavailable } from './_netns-harness.js';
import { getTableRequest } from './nftables.js';

describe('getTableRequest', () => {
  test('is NFT_MSG_GETTABLE with struct nfgenmsg and the NUL-terminated name, padded to 4 bytes', () => {
    const request = getTableRequest('inet', 'egress_router');
    assert.equal(request.type, 0x0a01);
    assert.equal(request.flags, 0);
    const name = Buffer.from('egress_router\0');
    const expected = Buffer.concat([
      Buffer.from([1, 0, 0, 0]), // NFPROTO_INET, NFNETLINK_V0, res_id 0
      Buffer.from(new Uint16Array([4 + name.length, 1]).buffer), // nla_len, NFTA_TABLE_NAME
      name,
      Buffer.alloc(2), // padding to 4 bytes
    ]);
    assert.deepEqual(Buffer.from(request.payload), expected);
    assert.equal(getTableRequest('ip6', 't').payload[0], 10);
  });
});

describe('nftTableExists, in a throwaway network namespace', { skip: netnsUnavailable() }, () => {
  after(cleanup);

  test('tells a table of that family and name from none, and changes nothing', () => {
    const ns = addNetns('nft');
    const exists = (family: string, name: string) =>
      fixtureValue<boolean>(ns, 'nft-table-exists', { family, name });
    assert.equal(exists('inet', 'egress_router'), false);
    inNetns(ns, 'nft', 'add', 'table', 'inet', 'egress_router');
    assert.equal(exists('inet', 'egress_router'), true);
    assert.equal(exists('ip', 'egress_router'), false, 'another family');
    assert.equal(exists('inet', 'egress_route'), false, 'another name');
    assert.equal(inNetns(ns, 'nft', 'list', 'tables').trim(), 'table inet egress_router');
  });
});

describe('listTableShape, in a throwaway network namespace', { skip: netnsUnavailable() }, () => {
  after(cleanup);

  test("a table's chains with their rule counts and its sets, no other table's; none when absent", () => {
    const ns = addNetns('nfs');
    const shape = () => fixtureValue(ns, 'nft-table-shape', { family: 'inet', name: 'egress_router_node' });
    assert.equal(shape(), null);
    inNetns(ns, 'nft', 'add table inet egress_router_node');
    inNetns(
      ns,
      'nft',
      'add set inet egress_router_node pods4 { type ipv4_addr; elements = { 10.0.0.1, 10.0.0.2 }; }',
    );
    inNetns(ns, 'nft', 'add map inet egress_router_node m { type ipv4_addr : verdict; }');
    inNetns(ns, 'nft', 'add chain inet egress_router_node forward { type filter hook forward priority 0; }');
    inNetns(ns, 'nft', 'add chain inet egress_router_node empty');
    inNetns(ns, 'nft', 'add rule inet egress_router_node forward ip saddr @pods4 counter');
    inNetns(ns, 'nft', 'add rule inet egress_router_node forward ip daddr vmap @m');
    inNetns(ns, 'nft', 'add table inet other');
    inNetns(ns, 'nft', 'add chain inet other forward');
    inNetns(ns, 'nft', 'add rule inet other forward counter');
    inNetns(ns, 'nft', 'add set inet other s { type ipv4_addr; }');
    assert.deepEqual(shape(), { chains: { forward: 2, empty: 0 }, sets: ['m', 'pods4'] });
    inNetns(ns, 'nft', 'flush chain inet egress_router_node forward');
    assert.deepEqual(shape(), { chains: { forward: 0, empty: 0 }, sets: ['m', 'pods4'] });
  });

  test('the generation changes with every committed transaction, and only then', () => {
    const ns = addNetns('nfg');
    const generation = () => fixtureValue<number>(ns, 'nft-generation', {});
    const first = generation();
    assert.equal(generation(), first, 'reading changes nothing');
    inNetns(ns, 'nft', 'add table inet t');
    const second = generation();
    assert.notEqual(second, first);
    inNetns(ns, 'nft', 'add chain inet t c');
    assert.notEqual(generation(), second);
  });
});
