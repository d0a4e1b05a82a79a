/**
 * Netlink messages and attributes written into one growing buffer, in place: what the element
 * batches need for tens of thousands of elements without an array per attribute.
 */
import { NLA_F_NESTED } from './nlmsg.js';

/** Appends netlink messages and attributes to one growing buffer. */
export class Writer {
  #buffer: Buffer;
  #length = 0;

  constructor(size: number) {
    this.#buffer = Buffer.alloc(Math.max(size, 256));
  }

  get length(): number {
    return this.#length;
  }

  /** Starts a message; returns its offset for end(). */
  begin(type: number, flags: number, seq: number): number {
    const at = this.#reserve(16);
    this.#buffer.writeUInt16LE(type, at + 4);
    this.#buffer.writeUInt16LE(flags, at + 6);
    this.#buffer.writeUInt32LE(seq, at + 8);
    this.#buffer.writeUInt32LE(0, at + 12);
    return at;
  }

  end(at: number): void {
    this.#buffer.writeUInt32LE(this.#length - at, at);
    this.#pad();
  }

  bytes(data: Uint8Array): void {
    const at = this.#reserve(data.length);
    this.#buffer.set(data, at);
  }

  attribute(type: number, payload: Uint8Array): void {
    const at = this.#reserve(4 + payload.length);
    this.#buffer.writeUInt16LE(4 + payload.length, at);
    this.#buffer.writeUInt16LE(type, at + 2);
    this.#buffer.set(payload, at + 4);
    this.#pad();
  }

  string(type: number, value: string): void {
    this.attribute(type, Buffer.from(`${value}\0`, 'utf8'));
  }

  u32be(type: number, value: number): void {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(value);
    this.attribute(type, payload);
  }

  i32be(type: number, value: number): void {
    const payload = Buffer.alloc(4);
    payload.writeInt32BE(value);
    this.attribute(type, payload);
  }

  nest(type: number): number {
    const at = this.#reserve(4);
    this.#buffer.writeUInt16LE(type | NLA_F_NESTED, at + 2);
    return at;
  }

  close(at: number): void {
    const length = this.#length - at;
    if (length > 0xffff) throw new RangeError(`nested attribute of ${length} bytes`);
    this.#buffer.writeUInt16LE(length, at);
  }

  done(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  #pad(): void {
    const padded = (this.#length + 3) & ~3;
    if (padded > this.#length) this.#reserve(padded - this.#length);
  }

  #reserve(bytes: number): number {
    const at = this.#length;
    if (at + bytes > this.#buffer.length) {
      const grown = Buffer.alloc(Math.max(this.#buffer.length * 2, at + bytes));
      this.#buffer.copy(grown, 0, 0, at);
      this.#buffer = grown;
    }
    this.#buffer.fill(0, at, at + bytes);
    this.#length = at + bytes;
    return at;
  }
}
