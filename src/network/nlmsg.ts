/**
 * Netlink framing, pure: struct nlmsghdr, 4-byte-aligned attributes (struct nlattr, nested ones
 * included), NLMSG_ERROR and NLMSG_DONE payloads. Bytes in, typed values out; anything that does not
 * decode is a MalformedMessageError, never a crash. Numbers are in host byte order, as netlink wants.
 */
import { endianness } from 'node:os';
import { MalformedMessageError } from './errors.js';

const LITTLE_ENDIAN = endianness() === 'LE';

/** sizeof(struct nlmsghdr). */
export const NLMSG_HDRLEN = 16;
/** sizeof(struct nlattr). */
export const NLA_HDRLEN = 4;

/** Control message types (linux/netlink.h). */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

/** nlmsg_flags (linux/netlink.h). */
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP_INTR = 0x10;
/** NLM_F_ROOT | NLM_F_MATCH: a GET request that dumps every object. */
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;

/** NLA_F_NESTED: marks an attribute whose payload is itself a list of attributes. */
export const NLA_F_NESTED = 0x8000;
/** NLA_F_NET_BYTEORDER: the payload is in network byte order. */
export const NLA_F_NET_BYTEORDER = 0x4000;
const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** One netlink message: the header's fields and the payload after it (without trailing padding). */
export interface NetlinkMessage {
  /** nlmsg_type: a control type (NLMSG_ERROR...) or the family's (RTM_NEWLINK...). */
  readonly type: number;
  /** nlmsg_flags. */
  readonly flags: number;
  /** nlmsg_seq: the kernel answers with the request's. */
  readonly seq: number;
  /** nlmsg_pid: the sender's port for requests, the receiver's in the kernel's answers. */
  readonly pid: number;
  readonly payload: Uint8Array;
}

/** What a request needs besides the sequence number, which the handle assigns. */
export interface NetlinkRequest {
  readonly type: number;
  /** NLM_F_DUMP, NLM_F_CREATE...; the handle adds NLM_F_REQUEST and NLM_F_ACK. */
  readonly flags: number;
  readonly payload: Uint8Array;
}

/** One attribute: its type without the NLA_F_* flags, whether it is marked nested, its payload. */
export interface NetlinkAttribute {
  readonly type: number;
  readonly nested: boolean;
  readonly payload: Uint8Array;
}

/** The number rounded up to a multiple of 4 (NLMSG_ALIGN, NLA_ALIGN). */
export function align4(length: number): number {
  return (length + 3) & ~3;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The bytes of one message: header, payload, padding to 4 bytes.
 *
 * @throws RangeError when a header field does not fit its width
 */
export function encodeMessage(message: NetlinkMessage): Uint8Array {
  checkUint('type', message.type, 0xffff);
  checkUint('flags', message.flags, 0xffff);
  checkUint('seq', message.seq, 0xffffffff);
  checkUint('pid', message.pid, 0xffffffff);
  const length = NLMSG_HDRLEN + message.payload.length;
  const bytes = new Uint8Array(align4(length));
  const header = view(bytes);
  header.setUint32(0, length, LITTLE_ENDIAN);
  header.setUint16(4, message.type, LITTLE_ENDIAN);
  header.setUint16(6, message.flags, LITTLE_ENDIAN);
  header.setUint32(8, message.seq, LITTLE_ENDIAN);
  header.setUint32(12, message.pid, LITTLE_ENDIAN);
  bytes.set(message.payload, NLMSG_HDRLEN);
  return bytes;
}

/**
 * The messages of one datagram as the kernel sends them: each header's length bounds its payload,
 * the next message starts at the next multiple of 4.
 *
 * @throws MalformedMessageError for a truncated header or a length shorter than the header or longer
 *   than what is left
 */
export function decodeMessages(bytes: Uint8Array): NetlinkMessage[] {
  const data = view(bytes);
  const messages: NetlinkMessage[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const left = bytes.length - offset;
    if (left < NLMSG_HDRLEN) {
      throw new MalformedMessageError(`truncated header: ${left} bytes, not ${NLMSG_HDRLEN}`, offset);
    }
    const length = data.getUint32(offset, LITTLE_ENDIAN);
    if (length < NLMSG_HDRLEN || length > left) {
      throw new MalformedMessageError(`message length ${length} outside ${NLMSG_HDRLEN}..${left}`, offset);
    }
    messages.push({
      type: data.getUint16(offset + 4, LITTLE_ENDIAN),
      flags: data.getUint16(offset + 6, LITTLE_ENDIAN),
      seq: data.getUint32(offset + 8, LITTLE_ENDIAN),
      pid: data.getUint32(offset + 12, LITTLE_ENDIAN),
      payload: bytes.subarray(offset + NLMSG_HDRLEN, offset + length),
    });
    offset += align4(length);
  }
  return messages;
}

/**
 * The bytes of one attribute: struct nlattr, payload, padding to 4 bytes.
 *
 * @param type the attribute type, with NLA_F_NESTED or'ed in when the payload is attributes
 * @throws RangeError when the type or the length does not fit 16 bits
 */
export function encodeAttribute(type: number, payload: Uint8Array): Uint8Array {
  checkUint('attribute type', type, 0xffff);
  const length = NLA_HDRLEN + payload.length;
  checkUint('attribute length', length, 0xffff);
  const bytes = new Uint8Array(align4(length));
  const header = view(bytes);
  header.setUint16(0, length, LITTLE_ENDIAN);
  header.setUint16(2, type, LITTLE_ENDIAN);
  bytes.set(payload, NLA_HDRLEN);
  return bytes;
}

/**
 * A nested attribute: the children's bytes, one after the other, as the payload.
 *
 * @param type the attribute type; NLA_F_NESTED is or'ed in when `flagNested` (the default)
 */
export function encodeNested(type: number, children: readonly Uint8Array[], flagNested = true): Uint8Array {
  return encodeAttribute(flagNested ? type | NLA_F_NESTED : type, concat(children));
}

/** A u32 attribute in host byte order. */
export function encodeU32Attribute(type: number, value: number): Uint8Array {
  return encodeAttribute(type, u32(value));
}

/** A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND...). */
export function encodeStringAttribute(type: number, value: string): Uint8Array {
  return encodeAttribute(type, new TextEncoder().encode(`${value}\0`));
}

/**
 * The attributes of a payload (or of a nested attribute's payload), in order.
 *
 * @param offset where the attributes start in `bytes` (after a fixed header such as ifinfomsg)
 * @throws MalformedMessageError for a truncated attribute header or a length that runs past the end
 */
export function decodeAttributes(bytes: Uint8Array, offset = 0): NetlinkAttribute[] {
  const data = view(bytes);
  const attributes: NetlinkAttribute[] = [];
  while (offset < bytes.length) {
    const left = bytes.length - offset;
    if (left < NLA_HDRLEN) {
      throw new MalformedMessageError(`truncated attribute header: ${left} bytes`, offset);
    }
    const length = data.getUint16(offset, LITTLE_ENDIAN);
    if (length < NLA_HDRLEN || length > left) {
      throw new MalformedMessageError(`attribute length ${length} outside ${NLA_HDRLEN}..${left}`, offset);
    }
    const type = data.getUint16(offset + 2, LITTLE_ENDIAN);
    attributes.push({
      type: type & NLA_TYPE_MASK,
      nested: (type & NLA_F_NESTED) !== 0,
      payload: bytes.subarray(offset + NLA_HDRLEN, offset + length),
    });
    offset += align4(length);
  }
  return attributes;
}

/**
 * The errno of an NLMSG_ERROR message's payload (struct nlmsgerr): 0 for an acknowledgement, a
 * positive errno when the kernel refused the request.
 *
 * @throws MalformedMessageError when the payload is shorter than struct nlmsgerr
 */
export function decodeErrno(message: NetlinkMessage): number {
  // int error, then the request's header (and, unless capped, its payload).
  if (message.payload.length < 4 + NLMSG_HDRLEN) {
    throw new MalformedMessageError(
      `NLMSG_ERROR payload of ${message.payload.length} bytes, not at least ${4 + NLMSG_HDRLEN}`,
    );
  }
  return 0 - view(message.payload).getInt32(0, LITTLE_ENDIAN);
}

/**
 * The errno of an NLMSG_DONE message's payload: 0 when the dump is complete, a positive errno when
 * it failed part way. An empty payload (older kernels) is 0.
 */
export function decodeDoneErrno(message: NetlinkMessage): number {
  if (message.payload.length < 4) return 0;
  return 0 - view(message.payload).getInt32(0, LITTLE_ENDIAN);
}

/** The bytes of a u32 in host byte order. */
export function u32(value: number): Uint8Array {
  checkUint('u32', value, 0xffffffff);
  const bytes = new Uint8Array(4);
  view(bytes).setUint32(0, value, LITTLE_ENDIAN);
  return bytes;
}

/**
 * The u32 of a 4-byte attribute payload.
 *
 * @throws MalformedMessageError for any other length
 */
export function readU32(attribute: NetlinkAttribute, what: string): number {
  if (attribute.payload.length !== 4) {
    throw new MalformedMessageError(`${what} has ${attribute.payload.length} bytes, not 4`);
  }
  return view(attribute.payload).getUint32(0, LITTLE_ENDIAN);
}

/**
 * The u8 of a 1-byte attribute payload.
 *
 * @throws MalformedMessageError for any other length
 */
export function readU8(attribute: NetlinkAttribute, what: string): number {
  if (attribute.payload.length !== 1) {
    throw new MalformedMessageError(`${what} has ${attribute.payload.length} bytes, not 1`);
  }
  return attribute.payload[0]!;
}

/**
 * The text of a NUL-terminated string attribute (up to the first NUL, or all of it without one).
 */
export function readString(attribute: NetlinkAttribute): string {
  const end = attribute.payload.indexOf(0);
  return new TextDecoder().decode(end === -1 ? attribute.payload : attribute.payload.subarray(0, end));
}

/** The parts one after the other. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

/** Host-byte-order reads and writes of a fixed header (struct ifinfomsg, ifaddrmsg, rtmsg). */
export class HostView {
  readonly #view: DataView;
  constructor(bytes: Uint8Array) {
    this.#view = view(bytes);
  }
  u8(offset: number): number {
    return this.#view.getUint8(offset);
  }
  u32(offset: number): number {
    return this.#view.getUint32(offset, LITTLE_ENDIAN);
  }
  i32(offset: number): number {
    return this.#view.getInt32(offset, LITTLE_ENDIAN);
  }
  setU8(offset: number, value: number): void {
    this.#view.setUint8(offset, value);
  }
  setU32(offset: number, value: number): void {
    this.#view.setUint32(offset, value, LITTLE_ENDIAN);
  }
  setI32(offset: number, value: number): void {
    this.#view.setInt32(offset, value, LITTLE_ENDIAN);
  }
}

function checkUint(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${what} out of range 0..${max}: ${value}`);
  }
}
