/**
 * Finds where a chunked body ends (RFC 9112 7.1) while its bytes pass through unchanged. Strict:
 * a chunk size is hex digits only, lines end in CRLF, and anything else stops the message, so the
 * proxy and the next parser cannot disagree on where one message ends and the next begins.
 */

enum State {
  SizeStart,
  Size,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  Trailer,
  TrailerLf,
  EndLf,
  Done,
  Failed,
}

/** More than 13 hex digits would pass 2^52: no real chunk is that large. */
const MAX_SIZE_DIGITS = 13;
const MAX_EXTENSION_BYTES = 4096;
const MAX_TRAILER_BYTES = 16_384;

/** Scans a chunked body fed in pieces of any size. */
export class ChunkedScanner {
  private state = State.SizeStart;
  private size = 0;
  private digits = 0;
  private extension = 0;
  private trailer = 0;
  /** The chunk data seen so far: the body's size without its framing. */
  dataBytes = 0;
  /** When set, told each run of chunk data (`bytes[start, end)`): to pass a body on without its framing. */
  onData: ((bytes: Uint8Array, start: number, end: number) => void) | undefined;
  /** Why the body was refused, once `scan` returned -2. */
  error: string | undefined;

  /** The body has ended. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /**
   * Scans `bytes` from `from`.
   *
   * @param bytes the next received bytes
   * @param from where the body's bytes start in them
   * @returns the index just after the body's last byte when it ends here; -1 when every byte
   *   belongs to the body and more is needed; -2 when the body is malformed (see `error`)
   */
  scan(bytes: Uint8Array, from = 0): number {
    let i = from;
    const n = bytes.length;
    if (this.state === State.Done) return i;
    while (i < n) {
      switch (this.state) {
        case State.Data: {
          const take = Math.min(this.size, n - i);
          this.size -= take;
          this.dataBytes += take;
          this.onData?.(bytes, i, i + take);
          i += take;
          if (this.size === 0) this.state = State.DataCr;
          continue;
        }
        case State.SizeStart:
        case State.Size: {
          const c = bytes[i]!;
          const digit = hexValue(c);
          if (digit >= 0) {
            if (++this.digits > MAX_SIZE_DIGITS) return this.fail('chunk size too large');
            this.size = this.size * 16 + digit;
            this.state = State.Size;
          } else if (this.state === State.SizeStart) {
            return this.fail('malformed chunk size');
          } else if (c === 0x3b /* ; */) {
            this.state = State.Extension;
          } else if (c === 0x0d) {
            this.state = State.SizeLf;
          } else {
            return this.fail('malformed chunk size');
          }
          break;
        }
        case State.Extension: {
          const c = bytes[i]!;
          if (c === 0x0d) this.state = State.SizeLf;
          else if (!fieldByte(c)) return this.fail('invalid character in a chunk extension');
          else if (++this.extension > MAX_EXTENSION_BYTES) return this.fail('chunk extension too long');
          break;
        }
        case State.SizeLf:
          if (bytes[i] !== 0x0a) return this.fail('bare CR after a chunk size');
          this.digits = 0;
          this.extension = 0;
          this.state = this.size === 0 ? State.TrailerStart : State.Data;
          break;
        case State.DataCr:
          if (bytes[i] !== 0x0d) return this.fail('chunk data longer than its size');
          this.state = State.DataLf;
          break;
        case State.DataLf:
          if (bytes[i] !== 0x0a) return this.fail('bare CR after chunk data');
          this.state = State.SizeStart;
          break;
        case State.TrailerStart: {
          const c = bytes[i]!;
          if (c === 0x0d) {
            this.state = State.EndLf;
          } else if (c === 0x20 || c === 0x09 || !fieldByte(c)) {
            return this.fail('malformed trailer');
          } else {
            this.state = State.Trailer;
            if (++this.trailer > MAX_TRAILER_BYTES) return this.fail('trailers too long');
          }
          break;
        }
        case State.Trailer: {
          const c = bytes[i]!;
          if (c === 0x0d) this.state = State.TrailerLf;
          else if (!fieldByte(c)) return this.fail('invalid character in a trailer');
          else if (++this.trailer > MAX_TRAILER_BYTES) return this.fail('trailers too long');
          break;
        }
        case State.TrailerLf:
          if (bytes[i] !== 0x0a) return this.fail('bare CR in a trailer');
          this.state = State.TrailerStart;
          break;
        case State.EndLf:
          if (bytes[i] !== 0x0a) return this.fail('bare CR at the end of a chunked body');
          this.state = State.Done;
          return i + 1;
        case State.Failed:
          return -2;
      }
      i++;
    }
    return this.state === State.Failed ? -2 : -1;
  }

  private fail(reason: string): -2 {
    this.state = State.Failed;
    this.error = reason;
    return -2;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** A byte a field value may hold: HTAB, SP, VCHAR, obs-text. */
function fieldByte(c: number): boolean {
  return c === 0x09 || (c >= 0x20 && c !== 0x7f);
}
