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
