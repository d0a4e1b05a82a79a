import { ChunkedScanner } from './chunked.js';
import type { Framing } from './head.js';

/**
 * Follows one message body as its bytes pass, request or response alike: where it ends by its
 * framing (Content-Length, chunked, or the connection's close) and how many body bytes went by.
 */
export class BodyReader {
  /** The scanner of a chunked body (its `onData` may be set to pass the data on without framing). */
  readonly chunked: ChunkedScanner | undefined;
  /** Bytes of a Content-Length body still to come. */
  private left: number;
  /** The body has ended (a body framed by the close ends with the connection, not here). */
  ended: boolean;
  /** Body bytes seen: the data of a chunked body, without its framing. */
  bytes = 0;
  /** The body runs until the connection closes (a response without length or chunked framing). */
  private readonly byClose: boolean;

  constructor(framing: Framing) {
    this.chunked = framing.kind === 'chunked' ? new ChunkedScanner() : undefined;
    this.left = framing.kind === 'length' ? framing.length : 0;
    this.ended = framing.kind === 'none';
    this.byClose = framing.kind === 'close';
  }

  /**
   * How many bytes at the start of `chunk` belong to the body; sets `ended` when the body ends in
   * them (what follows is the next message).
   *
   * @param chunk the next bytes read
   * @returns that count, or -1 when a chunked body is malformed (`chunked.error` says why)
   */
  take(chunk: Buffer): number {
    if (this.ended) return 0;
    if (this.byClose) {
      this.bytes += chunk.length;
      return chunk.length;
    }
    if (this.chunked) {
      const end = this.chunked.scan(chunk, 0);
      if (end === -2) return -1;
      this.bytes = this.chunked.dataBytes;
      if (end === -1) return chunk.length;
      this.ended = true;
      return end;
    }
    let take = chunk.length;
    if (take >= this.left) {
      take = this.left;
      this.ended = true;
    }
    this.left -= take;
    this.bytes += take;
    return take;
  }
}
