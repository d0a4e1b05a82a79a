import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MalformedMessageError } from './errors.js';
import {
  concat,
  encodeAttribute,
  encodeU32Attribute,
  type NetlinkMessage,
  type NetlinkRequest,
  NLM_F_MULTI,
} from './nlmsg.js';
import {
  addAddressRequest,
  createMacvlanRequest,
  deleteLinkRequest,
  dumpAddressesRequest,
  dumpLinksRequest,
  dumpRoutesRequest,
  getLinkRequest,
  IFA_F_NODAD,
  IFLA_OPERSTATE,
  moveLinkRequest,
  RTA_PRIORITY,
  RTA_TABLE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  replaceRouteRequest,
  setLinkAddressRequest,
  setLinkUpRequest,
} from './rtnetlink.js';
import { decodeAddress, decodeLink, decodeRoute } from './rtnetlink-decode.js';

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
const v4 = (text: string) => Uint8Array.from(text.split('.').map(Number));
const fd00 = bytes('fd000010000000000000000000000005');
const fe80 = bytes('fe800000000000000000000000000001');

/** A message of the kernel carrying a request's payload, as the decoders take it. */
const asMessage = (request: NetlinkRequest, type = request.type): NetlinkMessage => ({
  type,
  flags: NLM_F_MULTI,
  seq: 1,
  pid: 0,
  payload: request.payload,
});

/**
 * What netlink@0.3.0's generated rtnetlink layer sent for the same calls (type, flags before
 * NLM_F_REQUEST|NLM_F_ACK, payload after struct nlmsghdr), recorded before it was replaced: the
 * kernel sees the same bytes as before.
 */
const GOLDEN: [string, NetlinkRequest, number, number, string][] = [
  [
    'getLinkRequest by name',
    getLinkRequest({ name: 'macvlan0' }),
    18,
    0,
    `${'00'.repeat(16)}0d0003006d6163766c616e3000`,
  ],
  ['getLinkRequest by index', getLinkRequest({ index: 7 }), 18, 0, '00000000070000000000000000000000'],
  ['dumpLinksRequest', dumpLinksRequest(), 18, 0x300, '00'.repeat(16)],
  ['setLinkUpRequest', setLinkUpRequest(7), 19, 0, '00000000070000000100000001000000'],
  [
    'setLinkAddressRequest',
    setLinkAddressRequest(7, bytes('0200ab00000f')),
    19,
    0,
    '000000000700000000000000000000000a0001000200ab00000f',
  ],
  [
    'moveLinkRequest by fd',
    moveLinkRequest(7, { fd: 21 }),
    19,
    0,
    '0000000007000000000000000000000008001c0015000000',
  ],
  ['deleteLinkRequest', deleteLinkRequest(7), 17, 0, '00000000070000000000000000000000'],
  [
    'createMacvlanRequest',
    createMacvlanRequest({ name: 'mv0', parentIndex: 3, mode: 4 }),
    16,
    0x600,
    `${'00'.repeat(16)}080003006d76300008000500030000001c0012000c0001006d6163766c616e000c0002800800010004000000`,
  ],
  [
    'addAddressRequest IPv4',
    addAddressRequest({ family: 2, prefixlen: 24, index: 3, address: v4('10.10.0.5'), nodad: false }),
    20,
    0x600,
    '0218000003000000080002000a0a0005080001000a0a00050800080000000000',
  ],
  [
    'addAddressRequest IPv6 nodad',
    addAddressRequest({ family: 10, prefixlen: 64, index: 3, address: fd00, nodad: true }),
    20,
    0x600,
    '0a4002000300000014000200fd00001000000000000000000000000514000100fd0000100000000000000000000000050800080002000000',
  ],
  ['dumpAddressesRequest', dumpAddressesRequest(), 22, 0x300, '0000000000000000'],
  [
    'replaceRouteRequest host route, scope link',
    replaceRouteRequest({
      family: 2,
      dstLen: 32,
      table: 254,
      protocol: 4,
      scope: 253,
      type: 1,
      oif: 3,
      dst: v4('192.168.77.1'),
    }),
    24,
    0x500,
    '02200000fe04fd0100000000080004000300000008000100c0a84d01',
  ],
  [
    'replaceRouteRequest IPv4 default via',
    replaceRouteRequest({
      family: 2,
      dstLen: 0,
      table: 254,
      protocol: 4,
      scope: 0,
      type: 1,
      oif: 3,
      gateway: v4('192.168.77.1'),
    }),
    24,
    0x500,
    '02000000fe04000100000000080004000300000008000500c0a84d01',
  ],
  [
    'replaceRouteRequest IPv6 default via link-local',
    replaceRouteRequest({
      family: 10,
      dstLen: 0,
      table: 254,
      protocol: 4,
      scope: 0,
      type: 1,
      oif: 3,
      gateway: fe80,
    }),
    24,
    0x500,
    '0a000000fe04000100000000080004000300000014000500fe800000000000000000000000000001',
  ],
  ['dumpRoutesRequest', dumpRoutesRequest(), 26, 0x300, '000000000000000000000000'],
  ['dumpRoutesRequest IPv6', dumpRoutesRequest(10), 26, 0x300, '0a0000000000000000000000'],
];

describe('rtnetlink requests', () => {
  for (const [name, request, type, flags, payload] of GOLDEN) {
    test(`${name} sends what netlink@0.3.0 sent`, () => {
      assert.equal(request.type, type);
      assert.equal(request.flags, flags);
      // netlink@0.3.0 left the last attribute's padding out of the payload; the kernel reads both.
      assert.equal(
        Buffer.from(request.payload).toString('hex'),
        payload.padEnd(Math.ceil(payload.length / 8) * 8, '0'),
      );
    });
  }

  test('refuse values that do not fit before anything is sent', () => {
    assert.throws(() => setLinkUpRequest(0), {
      name: 'RangeError',
      message: 'interface index out of range 1..2147483647: 0',
    });
    assert.throws(
      () => addAddressRequest({ family: 2, prefixlen: 24, index: 3, address: fd00, nodad: false }),
      { name: 'RangeError', message: 'address of family 2 has 4 bytes, not 16' },
    );
    assert.throws(
      () => addAddressRequest({ family: 10, prefixlen: 129, index: 3, address: fd00, nodad: true }),
      { name: 'RangeError', message: 'prefix length out of range 0..128: 129' },
    );
    const route = { family: 2, dstLen: 0, table: 254, protocol: 4, scope: 0, type: 1, oif: 3 };
    assert.throws(() => replaceRouteRequest({ ...route, gateway: fe80 }), RangeError);
    assert.throws(() => replaceRouteRequest({ ...route, table: 1000 }), RangeError);
  });
});

describe('rtnetlink decoders', () => {
  test('decodeLink() reads index, flags, name, hardware address and operational state', () => {
    const message = asMessage(
      {
        ...setLinkAddressRequest(7, bytes('0200ab00000f')),
        payload: concat([
          setLinkAddressRequest(7, bytes('0200ab00000f')).payload,
          encodeAttribute(IFLA_OPERSTATE, Uint8Array.of(6)),
          encodeAttribute(3, Buffer.from('eth0\0')),
        ]),
      },
      RTM_NEWLINK,
    );
    const link = decodeLink(message);
    assert.deepEqual(
      { ...link, address: [...(link.address ?? [])] },
      {
        index: 7,
        flags: 0,
        name: 'eth0',
        address: [2, 0, 0xab, 0, 0, 0x0f],
        operstate: 6,
      },
    );
    assert.equal(decodeLink(asMessage(setLinkUpRequest(3), RTM_NEWLINK)).flags, 1);
    assert.equal(
      decodeLink(asMessage(createMacvlanRequest({ name: 'mv0', parentIndex: 3, mode: 4 }))).name,
      'mv0',
    );
  });

  test('decodeAddress() round-trips what addAddressRequest() sends', () => {
    const v6 = decodeAddress(
      asMessage(addAddressRequest({ family: 10, prefixlen: 64, index: 3, address: fd00, nodad: true })),
    );
    assert.equal(v6.family, 10);
    assert.equal(v6.prefixlen, 64);
    assert.equal(v6.index, 3);
    assert.equal(v6.flags, IFA_F_NODAD);
    assert.deepEqual(v6.local, fd00);
    assert.deepEqual(v6.address, fd00);
  });

  test('decodeRoute() round-trips what replaceRouteRequest() sends, RTA_TABLE before rtm_table', () => {
    const request = replaceRouteRequest({
      family: 10,
      dstLen: 128,
      table: 254,
      protocol: 4,
      scope: 253,
      type: 1,
      oif: 3,
      dst: fe80,
    });
    const route = decodeRoute(asMessage(request));
    assert.deepEqual(
      { ...route, dst: [...(route.dst ?? [])] },
      {
        family: 10,
        dstLen: 128,
        srcLen: 0,
        tos: 0,
        table: 254,
        protocol: 4,
        scope: 253,
        type: 1,
        flags: 0,
        dst: [...fe80],
        gateway: undefined,
        oif: 3,
        priority: undefined,
      },
    );
    const withTable = decodeRoute(
      asMessage({
        ...request,
        payload: concat([
          request.payload,
          encodeU32Attribute(RTA_TABLE, 1000),
          encodeU32Attribute(RTA_PRIORITY, 1024),
        ]),
      }),
    );
    assert.equal(withTable.table, 1000);
    assert.equal(withTable.priority, 1024);
  });

  test('name what does not decode', () => {
    assert.throws(() => decodeRoute(asMessage(dumpAddressesRequest(), RTM_NEWROUTE)), {
      name: 'MalformedMessageError',
      message: 'malformed netlink message: RTM_NEWROUTE payload of 8 bytes, not at least 12',
    });
    assert.throws(() => decodeAddress(asMessage(dumpLinksRequest())), {
      message: 'malformed netlink message: expected RTM_NEWADDR (20), got message type 18',
    });
    const shortAddress = concat([dumpRoutesRequest(2).payload, encodeAttribute(1, fd00)]);
    assert.throws(
      () => decodeRoute({ ...asMessage(dumpRoutesRequest(), RTM_NEWROUTE), payload: shortAddress }),
      {
        message: 'malformed netlink message: RTA_DST has 16 bytes, not 4 for family 2',
      },
    );
    const operstate = concat([
      setLinkUpRequest(1).payload,
      encodeAttribute(IFLA_OPERSTATE, Uint8Array.of(6, 0)),
    ]);
    assert.throws(() => decodeLink({ ...asMessage(setLinkUpRequest(1), RTM_NEWLINK), payload: operstate }), {
      message: 'malformed netlink message: IFLA_OPERSTATE has 2 bytes, not 1',
    });
  });

  test('never crash on garbage: each decodes or is malformed', () => {
    const decoders: [number, (message: NetlinkMessage) => unknown][] = [
      [RTM_NEWLINK, decodeLink],
      [RTM_NEWADDR, decodeAddress],
      [RTM_NEWROUTE, decodeRoute],
    ];
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 120 }),
        fc.constantFrom(...decoders),
        (payload, [type, decode]) => {
          try {
            decode({ type, flags: 0, seq: 1, pid: 0, payload });
          } catch (error) {
            assert.ok(error instanceof MalformedMessageError, String(error));
          }
        },
      ),
    );
  });
});
