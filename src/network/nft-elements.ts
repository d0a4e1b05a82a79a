/**
 * nf_tables set element changes as nfnetlink batches, encoded here rather than by `nft`: nft 1.0.6
 * (Debian 12) reads every element of every table from the kernel before any element command, about
 * 1 s with 100,000 elements loaded, whatever the size of the change. Pure: ops in, datagrams out.
 *
 * An interval element is what nft makes of it: the start key with the value, and the key after the
 * end with NFT_SET_ELEM_INTERVAL_END; a range that reaches the family's last address has no end
 * element but libnftnl's "open interval" user data on its start, so that `nft list` shows it as nft
 * would have written it.
 */
import type { Family } from '../destination-parser/address.js';
import { Writer } from './nlmsg-writer.js';

/** What a map element does with a packet (a set's element has none). */
export type ElementVerdict = 'accept' | 'drop' | 'return' | { readonly jump: string };

/** One element added to or deleted from a set or map. */
export interface ElementChange {
  readonly op: 'add' | 'delete';
  /** The set's name in the table. */
  readonly set: string;
  /** Whether the set has `flags interval` (a range is then two kernel elements). */
  readonly interval: boolean;
  readonly family: Family;
  readonly start: bigint;
  /** Inclusive; equal to start for one address (always, in a set without `interval`). */
  readonly end: bigint;
  /** A verdict map element's value, when adding. */
  readonly verdict?: ElementVerdict;
  /** A data map element's value (an address, a mark: the bytes as the kernel keeps them), when adding. */
  readonly value?: Uint8Array;
}

/** Every element of a set deleted (NFT_MSG_DELSETELEM without an element list). */
export interface SetFlush {
  readonly op: 'flush';
  readonly set: string;
}

/** What an element batch holds. */
export type ElementOp = ElementChange | SetFlush;

/** nfnetlink and nf_tables constants (linux/netfilter/nfnetlink.h, nf_tables.h). */
export const NFNL = {
  SUBSYS_NFTABLES: 10,
  MSG_BATCH_BEGIN: 0x10,
  MSG_BATCH_END: 0x11,
  MSG_NEWSETELEM: (10 << 8) | 12,
  MSG_DELSETELEM: (10 << 8) | 14,
  MSG_GETGEN: (10 << 8) | 16,
  NFPROTO_INET: 1,
} as const;

const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_CREATE = 0x400;
const NFTA_SET_ELEM_LIST_TABLE = 1;
const NFTA_SET_ELEM_LIST_SET = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
const NFTA_LIST_ELEM = 1;
const NFTA_SET_ELEM_KEY = 1;
const NFTA_SET_ELEM_DATA = 2;
const NFTA_SET_ELEM_FLAGS = 3;
const NFTA_SET_ELEM_USERDATA = 6;
const NFTA_DATA_VALUE = 1;
const NFTA_DATA_VERDICT = 2;
const NFTA_VERDICT_CODE = 1;
const NFTA_VERDICT_CHAIN = 2;
const NFT_SET_ELEM_INTERVAL_END = 1;
/** libnftnl's NFTNL_UDATA_SET_ELEM_FLAGS (type 1, length 4) = NFTNL_SET_ELEM_F_INTERVAL_OPEN. */
const OPEN_INTERVAL_USERDATA = Buffer.from([1, 4, 1, 0, 0, 0]);
const VERDICT_CODES = { accept: 1, drop: 0, return: -5, jump: -3 } as const;
/** The elements attribute's length is 16 bits: messages stay well under it. */
const MAX_MESSAGE_BYTES = 60_000;

/** Batches ready to send, and the sequence numbers their messages took. */
export interface EncodedBatches {
  readonly batches: readonly Buffer[];
  /** For each element message: its sequence number, set and operation (to name a refused one). */
  readonly messages: ReadonlyMap<number, { readonly set: string; readonly op: ElementOp['op'] }>;
  /** The next free sequence number. */
  readonly nextSeq: number;
}

/**
 * Encodes element changes as nfnetlink batches (BATCH_BEGIN, NEWSETELEM/DELSETELEM messages,
 * BATCH_END), in the order given. Each batch is one kernel transaction: all or nothing. Messages
 * ask for no acknowledgement: the kernel answers only the ones it refuses.
 *
 * @param table the inet table's name
 * @param ops the changes, deletes usually first (the kernel checks overlaps in order)
 * @param maxBatchBytes the largest datagram the socket takes; ops are split across batches beyond it
 * @param firstSeq the first sequence number to use
 * @returns the datagrams; one when everything fits
 * @throws RangeError when one message cannot fit maxBatchBytes
 */
export function encodeElementBatches(
  table: string,
  ops: readonly ElementOp[],
  maxBatchBytes: number,
  firstSeq = 1,
): EncodedBatches {
  const batches: Buffer[] = [];
  const messages = new Map<number, { set: string; op: ElementOp['op'] }>();
  let seq = firstSeq;
  const budget = Math.min(MAX_MESSAGE_BYTES, maxBatchBytes - 2 * CONTROL_BYTES);
  if (budget < 512) throw new RangeError(`batch limit of ${maxBatchBytes} bytes is too small`);
  let writer = new Writer(Math.min(maxBatchBytes, estimate(ops)));
  const openBatch = () => writeControl(writer, NFNL.MSG_BATCH_BEGIN, seq++);
  const closeBatch = () => {
    writeControl(writer, NFNL.MSG_BATCH_END, seq++);
    batches.push(writer.done());
  };
  openBatch();
  let i = 0;
  while (i < ops.length) {
    const first = ops[i] as ElementOp;
    if (writer.length + budget + CONTROL_BYTES > maxBatchBytes) {
      closeBatch();
      writer = new Writer(Math.min(maxBatchBytes, estimate(ops.slice(i))));
      openBatch();
    }
    const start = writer.length;
    messages.set(seq, { set: first.set, op: first.op });
    const message = writer.begin(
      first.op === 'add' ? NFNL.MSG_NEWSETELEM : NFNL.MSG_DELSETELEM,
      NLM_F_REQUEST | (first.op === 'add' ? NLM_F_CREATE : 0),
      seq++,
    );
    writer.bytes(new Uint8Array([NFNL.NFPROTO_INET, 0, 0, 0]));
    writer.string(NFTA_SET_ELEM_LIST_TABLE, table);
    writer.string(NFTA_SET_ELEM_LIST_SET, first.set);
    if (first.op === 'flush') {
      writer.end(message);
      i++;
      continue;
    }
    const list = writer.nest(NFTA_SET_ELEM_LIST_ELEMENTS);
    while (i < ops.length) {
      const op = ops[i] as ElementOp;
      if (op.op === 'flush' || op.op !== first.op || op.set !== first.set) break;
      if (writer.length - start > budget - ELEMENT_MAX_BYTES) break;
      writeElement(writer, op);
      i++;
    }
    writer.close(list);
    writer.end(message);
  }
  closeBatch();
  return { batches, messages, nextSeq: seq };
}

/** The request that follows a batch: its answer comes after every answer to the batch. */
export function encodeGetGen(seq: number): Buffer {
  const writer = new Writer(32);
  const message = writer.begin(NFNL.MSG_GETGEN, NLM_F_REQUEST | NLM_F_ACK, seq);
  writer.bytes(new Uint8Array([0, 0, 0, 0]));
  writer.end(message);
  return writer.done();
}

const CONTROL_BYTES = 20;
/** An IPv6 range with a jump to a chain of 256 characters, rounded up. */
const ELEMENT_MAX_BYTES = 400;

function writeControl(writer: Writer, type: number, seq: number): void {
  const message = writer.begin(type, NLM_F_REQUEST, seq);
  // struct nfgenmsg: AF_UNSPEC, NFNETLINK_V0, res_id = NFNL_SUBSYS_NFTABLES (big-endian).
  writer.bytes(new Uint8Array([0, 0, 0, NFNL.SUBSYS_NFTABLES]));
  writer.end(message);
}

function writeElement(writer: Writer, op: ElementChange): void {
  const bytes = op.family === 4 ? 4 : 16;
  const last = op.family === 4 ? 0xffffffffn : (1n << 128n) - 1n;
  const element = writer.nest(NFTA_LIST_ELEM);
  writeKey(writer, op.start, bytes);
  if (op.op === 'add' && op.verdict !== undefined) writeVerdict(writer, op.verdict);
  if (op.op === 'add' && op.value !== undefined) {
    const data = writer.nest(NFTA_SET_ELEM_DATA);
    writer.attribute(NFTA_DATA_VALUE, op.value);
    writer.close(data);
  }
  if (op.interval && op.end === last) writer.attribute(NFTA_SET_ELEM_USERDATA, OPEN_INTERVAL_USERDATA);
  writer.close(element);
  if (op.interval && op.end !== last) {
    const end = writer.nest(NFTA_LIST_ELEM);
    writeKey(writer, op.end + 1n, bytes);
    writer.u32be(NFTA_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
    writer.close(end);
  }
}

function writeKey(writer: Writer, value: bigint, bytes: number): void {
  const key = writer.nest(NFTA_SET_ELEM_KEY);
  const data = new Uint8Array(bytes);
  let v = value;
  for (let b = bytes - 1; b >= 0; b--) {
    data[b] = Number(v & 0xffn);
    v >>= 8n;
  }
  writer.attribute(NFTA_DATA_VALUE, data);
  writer.close(key);
}

function writeVerdict(writer: Writer, verdict: ElementVerdict): void {
  const data = writer.nest(NFTA_SET_ELEM_DATA);
  const nested = writer.nest(NFTA_DATA_VERDICT);
  if (typeof verdict === 'string') {
    writer.i32be(NFTA_VERDICT_CODE, VERDICT_CODES[verdict]);
  } else {
    writer.i32be(NFTA_VERDICT_CODE, VERDICT_CODES.jump);
    writer.string(NFTA_VERDICT_CHAIN, verdict.jump);
  }
  writer.close(nested);
  writer.close(data);
}

function estimate(ops: readonly ElementOp[]): number {
  return 4096 + ops.length * 80;
}
