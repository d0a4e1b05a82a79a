import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MalformedMessageError } from './errors.js';
import {
  align4,
  concat,
  decodeAttributes,
  decodeDoneErrno,
  decodeErrno,
  decodeMessages,
  encodeAttribute,
  encodeMessage,
  encodeNested,
  encodeStringAttribute,
  encodeU32Attribute,
  type NetlinkMessage,
  NLA_F_NESTED,
  NLMSG_DONE,
  NLMSG_ERROR,
  readString,
  readU8,
  readU32,
  u32,
} from './nlmsg.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Runs `decode` and says how it ended: decoded, or the class of what it threw. */
function outcome(decode: () => unknown): string {
  try {
    decode();
    return 'decoded';
  } catch (error) {
    return error instanceof MalformedMessageError ? 'malformed' : `crash: ${String(error)}`;
  }
}

const messageArbitrary = fc.record({
  type: fc.integer({ min: 0, max: 0xffff }),
  flags: fc.integer({ min: 0, max: 0xffff }),
  seq: fc.nat({ max: 0xffffffff }),
  pid: fc.nat({ max: 0xffffffff }),
  payload: fc.uint8Array({ maxLength: 64 }),
});

const attributeArbitrary = fc.record({
  type: fc.integer({ min: 0, max: 0x3fff }),
  payload: fc.uint8Array({ maxLength: 40 }),
});

describe('encodeMessage() and decodeMessages()', () => {
  test('writes struct nlmsghdr in host order and pads the payload to 4 bytes', () => {
    const bytes = encodeMessage({ type: 18, flags: 0x305, seq: 7, pid: 0, payload: Uint8Array.of(1, 2, 3) });
    assert.equal(hex(bytes), '13000000' + '1200' + '0503' + '07000000' + '00000000' + '01020300');
  });

  test('round-trips any sequence of messages', () => {
    fc.assert(
      fc.property(fc.array(messageArbitrary, { maxLength: 6 }), (messages) => {
        const decoded = decodeMessages(concat(messages.map(encodeMessage)));
        assert.deepEqual(
          decoded.map((m) => ({ ...m, payload: [...m.payload] })),
          messages.map((m) => ({ ...m, payload: [...m.payload] })),
        );
      }),
    );
  });

  test('a datagram cut anywhere inside a message is malformed', () => {
    fc.assert(
      fc.property(fc.array(messageArbitrary, { minLength: 1, maxLength: 4 }), fc.nat(), (messages, cut) => {
        const encoded = messages.map(encodeMessage);
        const bytes = concat(encoded);
        // Cutting at a message boundary, or only into the last message's padding, leaves whole messages.
        const boundaries = new Set<number>();
        let offset = 0;
        for (const [i, message] of encoded.entries()) {
          for (let end = 16 + messages[i]!.payload.length; end <= message.length; end++) {
            boundaries.add(offset + end);
          }
          offset += message.length;
        }
        const at = cut % bytes.length;
        if (boundaries.has(at) || at === 0) return;
        assert.equal(
          outcome(() => decodeMessages(bytes.subarray(0, at))),
          'malformed',
        );
      }),
    );
  });

  test('never crashes on garbage: it decodes or it is malformed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        assert.doesNotMatch(
          outcome(() => decodeMessages(bytes)),
          /^crash/,
        );
      }),
    );
  });

  test('names what is wrong and where', () => {
    assert.throws(() => decodeMessages(new Uint8Array(5)), {
      name: 'MalformedMessageError',
      code: 'ERR_NETLINK_MALFORMED',
      message: 'malformed netlink message at byte 0: truncated header: 5 bytes, not 16',
    });
    const tooLong = encodeMessage({ type: 1, flags: 0, seq: 1, pid: 0, payload: new Uint8Array(4) });
    new DataView(tooLong.buffer).setUint32(0, 40, true);
    assert.throws(() => decodeMessages(concat([encodeMessage({ ...emptyMessage }), tooLong])), {
      message: 'malformed netlink message at byte 16: message length 40 outside 16..20',
      offset: 16,
    });
  });

  test('header fields that do not fit are a RangeError', () => {
    assert.throws(() => encodeMessage({ ...emptyMessage, type: 0x10000 }), RangeError);
    assert.throws(() => encodeMessage({ ...emptyMessage, seq: -1 }), RangeError);
  });
});

const emptyMessage: NetlinkMessage = { type: 3, flags: 0, seq: 1, pid: 0, payload: new Uint8Array() };

describe('attributes', () => {
  test('encodeAttribute() writes struct nlattr and pads to 4 bytes; the length excludes the padding', () => {
    assert.equal(hex(encodeStringAttribute(1, 'macvlan')), '0c0001006d6163766c616e00');
    assert.equal(hex(encodeAttribute(2 | NLA_F_NESTED, Uint8Array.of(1))), '0500028001000000');
    assert.equal(hex(encodeU32Attribute(5, 3)), '0800050003000000');
    assert.equal(hex(encodeAttribute(1, new Uint8Array())), '04000100');
  });

  test('every encoding is 4-byte aligned and round-trips, in order', () => {
    fc.assert(
      fc.property(fc.array(attributeArbitrary, { maxLength: 8 }), (attributes) => {
        const encoded = attributes.map((a) => encodeAttribute(a.type, a.payload));
        for (const bytes of encoded) assert.equal(bytes.length % 4, 0);
        const decoded = decodeAttributes(concat(encoded));
        assert.deepEqual(
          decoded.map((a) => ({ type: a.type, nested: a.nested, payload: [...a.payload] })),
          attributes.map((a) => ({ type: a.type, nested: false, payload: [...a.payload] })),
        );
      }),
    );
  });

  test('nested attributes decode to their children, with or without NLA_F_NESTED', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(attributeArbitrary, { maxLength: 4 }), { maxLength: 4 }),
        fc.boolean(),
        (groups, flagNested) => {
          const outer = groups.map((children, i) =>
            encodeNested(
              i + 1,
              children.map((c) => encodeAttribute(c.type, c.payload)),
              flagNested,
            ),
          );
          const decoded = decodeAttributes(concat(outer));
          assert.equal(decoded.length, groups.length);
          for (const [i, attribute] of decoded.entries()) {
            assert.equal(attribute.type, i + 1);
            assert.equal(attribute.nested, flagNested);
            const children = decodeAttributes(attribute.payload);
            assert.deepEqual(
              children.map((c) => ({ type: c.type, payload: [...c.payload] })),
              groups[i]!.map((c) => ({ type: c.type, payload: [...c.payload] })),
            );
          }
        },
      ),
    );
  });

  test('decodeAttributes() starts after a fixed header and rejects what runs past the end', () => {
    const bytes = concat([new Uint8Array(8), encodeU32Attribute(4, 9)]);
    assert.equal(readU32(decodeAttributes(bytes, 8)[0]!, 'RTA_OIF'), 9);
    assert.throws(() => decodeAttributes(bytes.subarray(0, 14), 8), {
      message: 'malformed netlink message at byte 8: attribute length 8 outside 4..6',
    });
    assert.throws(() => decodeAttributes(Uint8Array.of(3, 0, 1, 0)), {
      message: 'malformed netlink message at byte 0: attribute length 3 outside 4..4',
    });
    assert.throws(() => decodeAttributes(Uint8Array.of(8, 0)), {
      message: 'malformed netlink message at byte 0: truncated attribute header: 2 bytes',
    });
  });

  test('never crashes on garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        assert.doesNotMatch(
          outcome(() => decodeAttributes(bytes)),
          /^crash/,
        );
      }),
    );
  });

  test('readU32(), readU8() and readString() check the payload', () => {
    const attribute = (payload: Uint8Array) => ({ type: 1, nested: false, payload });
    assert.equal(readU32(attribute(u32(0xdeadbeef)), 'x'), 0xdeadbeef);
    assert.throws(() => readU32(attribute(Uint8Array.of(1, 2)), 'RTA_OIF'), {
      message: 'malformed netlink message: RTA_OIF has 2 bytes, not 4',
    });
    assert.equal(readU8(attribute(Uint8Array.of(6)), 'x'), 6);
    assert.throws(() => readU8(attribute(new Uint8Array()), 'IFLA_OPERSTATE'), MalformedMessageError);
    assert.equal(readString(attribute(Buffer.from('v0\0junk'))), 'v0');
    assert.equal(readString(attribute(Buffer.from('v0'))), 'v0');
  });

  test('u32() refuses what does not fit', () => {
    assert.throws(() => u32(2 ** 32), RangeError);
    assert.throws(() => u32(1.5), RangeError);
  });
});

describe('decodeErrno() and decodeDoneErrno()', () => {
  const error = (errno: number, length = 20) => {
    const payload = new Uint8Array(length);
    if (length >= 4) new DataView(payload.buffer).setInt32(0, -errno, true);
    return { ...emptyMessage, type: NLMSG_ERROR, payload };
  };

  test('the errno is positive, 0 for an acknowledgement', () => {
    assert.equal(decodeErrno(error(0)), 0);
    assert.equal(decodeErrno(error(17)), 17);
    assert.equal(decodeErrno(error(19, 64)), 19);
  });

  test('an NLMSG_ERROR shorter than struct nlmsgerr is malformed', () => {
    assert.throws(() => decodeErrno(error(17, 8)), {
      message: 'malformed netlink message: NLMSG_ERROR payload of 8 bytes, not at least 20',
    });
  });

  test('NLMSG_DONE without payload is a complete dump', () => {
    assert.equal(decodeDoneErrno({ ...emptyMessage, type: NLMSG_DONE }), 0);
    assert.equal(decodeDoneErrno({ ...error(4, 4), type: NLMSG_DONE }), 4);
  });

  test('align4() rounds up', () => {
    assert.deepEqual([0, 1, 4, 5, 7, 8].map(align4), [0, 4, 4, 8, 8, 8]);
  });
});
