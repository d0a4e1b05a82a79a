import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { addNetns, cleanup, inNetns, netnsUnavailable, runFixture } from './_netns-harness.js';
import {
  type ElementChange,
  type ElementOp,
  encodeElementBatches,
  encodeGetGen,
  NFNL,
} from './nft-elements.js';
import { decodeAttributes, decodeMessages } from './nlmsg.js';

const v4 = (text: string) => BigInt(text.split('.').reduce((n, octet) => n * 256 + Number(octet), 0));
/** An IPv6 address of the plain map `p`. */
const address6 = (verdict: ElementChange['verdict']): ElementChange => ({
  op: 'add',
  set: 'p',
  interval: false,
  family: 6,
  start: 1n,
  end: 1n,
  ...(verdict ? { verdict } : {}),
});
const range = (set: string, from: string, to: string, verdict?: ElementChange['verdict']): ElementChange => ({
  op: 'add',
  set,
  interval: true,
  family: 4,
  start: v4(from),
  end: v4(to),
  ...(verdict ? { verdict } : {}),
});

/** The element list of an element message: per element, its attribute types. */
function elementsOf(payload: Uint8Array): number[][] {
  const attributes = decodeAttributes(payload, 4);
  const list = attributes.find((a) => a.type === 3);
  assert.ok(list, 'NFTA_SET_ELEM_LIST_ELEMENTS');
  return decodeAttributes(list.payload).map((element) =>
    decodeAttributes(element.payload).map((a) => a.type),
  );
}

describe('encodeElementBatches', () => {
  test('one batch: BATCH_BEGIN, the element messages, BATCH_END, sequence numbers in order', () => {
    const ops = [
      range('m', '1.0.0.0', '1.0.0.3', 'drop'),
      { ...range('m', '9.0.0.0', '9.0.0.0'), op: 'delete' as const },
    ];
    const { batches, messages, nextSeq } = encodeElementBatches('t', ops, 1 << 20, 7);
    assert.equal(batches.length, 1);
    const decoded = decodeMessages(batches[0]!);
    assert.deepEqual(
      decoded.map((m) => m.type),
      [NFNL.MSG_BATCH_BEGIN, NFNL.MSG_NEWSETELEM, NFNL.MSG_DELSETELEM, NFNL.MSG_BATCH_END],
    );
    assert.deepEqual(
      decoded.map((m) => m.seq),
      [7, 8, 9, 10],
    );
    assert.equal(nextSeq, 11);
    assert.deepEqual(messages.get(8), { set: 'm', op: 'add' });
    assert.deepEqual(messages.get(9), { set: 'm', op: 'delete' });
    // struct nfgenmsg of the batch: AF_UNSPEC, version 0, res_id NFNL_SUBSYS_NFTABLES big-endian.
    assert.deepEqual([...decoded[0]!.payload.subarray(0, 4)], [0, 0, 0, 10]);
    assert.equal(decoded[1]!.payload[0], NFNL.NFPROTO_INET);
  });

  test('a range is a start element with the value and an end element after it; the last range has none', () => {
    const { batches } = encodeElementBatches(
      't',
      [
        range('m', '1.0.0.0', '1.0.0.3', 'drop'),
        range('m', '255.0.0.0', '255.255.255.255', { jump: 'ns-a' }),
      ],
      1 << 20,
    );
    const [, add] = decodeMessages(batches[0]!);
    // KEY + DATA; KEY + FLAGS (interval end at 1.0.0.4); KEY + DATA + USERDATA (open interval).
    assert.deepEqual(elementsOf(add!.payload), [
      [1, 2],
      [1, 3],
      [1, 2, 6],
    ]);
    const list = decodeAttributes(add!.payload, 4).find((a) => a.type === 3)!;
    const end = decodeAttributes(decodeAttributes(list.payload)[1]!.payload);
    const key = decodeAttributes(end[0]!.payload)[0]!.payload;
    assert.deepEqual([...key], [1, 0, 0, 4]);
    assert.deepEqual([...end[1]!.payload], [0, 0, 0, 1], 'NFT_SET_ELEM_INTERVAL_END, big-endian');
  });

  test('an address of a set without intervals is one element; IPv6 keys are 16 bytes', () => {
    const op = address6('return');
    const [, add] = decodeMessages(encodeElementBatches('t', [op], 1 << 20).batches[0]!);
    assert.deepEqual(elementsOf(add!.payload), [[1, 2]]);
    const list = decodeAttributes(add!.payload, 4).find((a) => a.type === 3)!;
    const key = decodeAttributes(
      decodeAttributes(decodeAttributes(list.payload)[0]!.payload)[0]!.payload,
    )[0]!;
    assert.equal(key.payload.length, 16);
    assert.equal(key.payload[15], 1);
  });

  test('many elements: messages under 64 kB, batches under the limit, every op once', () => {
    const ops = Array.from({ length: 5000 }, (_, i) => ({
      op: 'add' as const,
      set: 'm',
      interval: true,
      family: 4 as const,
      start: BigInt(i * 4),
      end: BigInt(i * 4 + 1),
      verdict: 'drop' as const,
    }));
    const { batches } = encodeElementBatches('t', ops, 100_000);
    assert.ok(batches.length > 1);
    let elements = 0;
    for (const batch of batches) {
      assert.ok(batch.length <= 100_000, `${batch.length} bytes`);
      const decoded = decodeMessages(batch);
      assert.equal(decoded[0]!.type, NFNL.MSG_BATCH_BEGIN);
      assert.equal(decoded.at(-1)!.type, NFNL.MSG_BATCH_END);
      for (const message of decoded.slice(1, -1)) {
        assert.ok(message.payload.length < 65_536);
        elements += elementsOf(message.payload).length;
      }
    }
    assert.equal(elements, 2 * ops.length, 'a start and an end element each');
  });

  test('a flush is a DELSETELEM with the table and the set, and no element list', () => {
    const [, flush] = decodeMessages(
      encodeElementBatches('t', [{ op: 'flush', set: 'c' }], 1 << 20).batches[0]!,
    );
    assert.equal(flush!.type, NFNL.MSG_DELSETELEM);
    assert.deepEqual(
      decodeAttributes(flush!.payload, 4).map((a) => a.type),
      [1, 2],
    );
  });

  test('refuses a limit no message fits', () => {
    assert.throws(() => encodeElementBatches('t', [range('m', '1.0.0.0', '1.0.0.0')], 100), RangeError);
  });

  test('the fence after a batch is NFT_MSG_GETGEN asking for an acknowledgement', () => {
    const [message] = decodeMessages(encodeGetGen(42));
    assert.equal(message!.type, NFNL.MSG_GETGEN);
    assert.equal(message!.seq, 42);
    assert.equal(message!.flags & 0x4, 0x4);
  });
});

describe('element batches in a throwaway network namespace', { skip: netnsUnavailable() }, () => {
  after(cleanup);
  const json = (op: ElementOp) =>
    op.op === 'flush' ? op : { ...op, start: String(op.start), end: String(op.end) };
  let made = 0;
  const setUp = () => {
    const ns = addNetns(`nfel${++made}`);
    inNetns(
      ns,
      'nft',
      'add table inet t; add chain inet t c; add map inet t m { type ipv4_addr : verdict; flags interval; counter; }; add map inet t p { type ipv6_addr : verdict; }',
    );
    return ns;
  };

  test('nft lists what the batch added as nft would have written it, with a counter each', () => {
    const ns = setUp();
    const ops = [
      range('m', '1.0.0.0', '1.0.0.3', 'return'),
      range('m', '1.0.0.4', '1.0.0.7', 'drop'),
      range('m', '1.0.0.9', '1.0.0.9', { jump: 'c' }),
      range('m', '255.0.0.0', '255.255.255.255', 'drop'),
    ];
    const output = runFixture(ns, 'nft-elements', { table: 't', ops: ops.map(json) });
    assert.deepEqual(output, { ok: true, value: 1 });
    const listed = inNetns(ns, 'nft', 'list', 'map', 'inet', 't', 'm').replace(/\s+/g, ' ');
    assert.match(
      listed,
      /elements = \{ 1\.0\.0\.0\/30 counter packets 0 bytes 0 : return, 1\.0\.0\.4\/30 counter packets 0 bytes 0 : drop, 1\.0\.0\.9 counter packets 0 bytes 0 : jump c, 255\.0\.0\.0\/8 counter packets 0 bytes 0 : drop \}/,
    );
    // Deleting one of two touching ranges leaves the other whole.
    const removed = runFixture(ns, 'nft-elements', {
      table: 't',
      ops: [json({ ...range('m', '1.0.0.4', '1.0.0.7'), op: 'delete' })],
    });
    assert.equal(removed.ok, true);
    assert.doesNotMatch(inNetns(ns, 'nft', 'list', 'map', 'inet', 't', 'm'), /1\.0\.0\.4/);
    assert.match(inNetns(ns, 'nft', 'list', 'map', 'inet', 't', 'm'), /1\.0\.0\.0\/30/);
  });

  test('a flush empties the set, in the same batch as other changes', () => {
    const ns = setUp();
    const added = runFixture(ns, 'nft-elements', {
      table: 't',
      ops: [json(range('m', '3.0.0.0', '3.0.0.255', 'drop')), json(range('m', '4.0.0.0', '4.0.0.0', 'drop'))],
    });
    assert.equal(added.ok, true);
    const flushed = runFixture(ns, 'nft-elements', {
      table: 't',
      ops: [{ op: 'flush', set: 'm' }, json(range('m', '5.0.0.0', '5.0.0.0', 'return'))],
    });
    assert.equal(flushed.ok, true);
    const listed = inNetns(ns, 'nft', 'list', 'map', 'inet', 't', 'm');
    assert.doesNotMatch(listed, /3\.0\.0\.0|4\.0\.0\.0/);
    assert.match(listed, /5\.0\.0\.0 counter packets 0 bytes 0 : return/);
  });

  test('a batch the kernel refuses in part changes nothing, and says which set', () => {
    const ns = setUp();
    const before = inNetns(ns, 'nft', 'list', 'table', 'inet', 't');
    const output = runFixture(ns, 'nft-elements', {
      table: 't',
      ops: [json(range('m', '2.0.0.0', '2.0.0.255', 'drop')), json(address6({ jump: 'none' }))],
    });
    assert.equal(output.ok, false);
    assert.match(
      output.ok ? '' : output.error.message,
      /nf_tables refused the batch \(add elements of p\): errno 2/,
    );
    assert.equal(inNetns(ns, 'nft', 'list', 'table', 'inet', 't'), before);
  });
});
