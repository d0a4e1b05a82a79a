/**
 * Where the next request head is in the bytes a client sent: the framing of a connection's reads,
 * pure. RFC 9112 2.2: empty lines before a request line are ignored (some clients send one after a
 * body).
 */
import { headEnd } from './head.js';

/** What the buffer holds next. */
export type NextHead =
  /** Nothing but empty lines: nothing is kept. */
  | { readonly kind: 'none' }
  /** A head has begun but its end has not come: `rest` is kept (the empty lines before it dropped). */
  | { readonly kind: 'partial'; readonly rest: Buffer }
  /** A head longer than the limit, whole or not. */
  | { readonly kind: 'too-large' }
  /** A whole head (latin1, its final empty line excluded) and the bytes after it. */
  | { readonly kind: 'head'; readonly text: string; readonly rest: Buffer | undefined };

/**
 * Finds the next request head.
 *
 * @param buffer the bytes received and not yet used
 * @param maxHeaderBytes the longest head taken (its final empty line not counted)
 * @returns the head, or why there is none yet
 */
export function nextHead(buffer: Buffer, maxHeaderBytes: number): NextHead {
  let start = 0;
  while (start + 1 < buffer.length && buffer[start] === 0x0d && buffer[start + 1] === 0x0a) start += 2;
  if (start === buffer.length) return { kind: 'none' };
  const end = headEnd(buffer, start);
  const length = end === -1 ? buffer.length - start : end - 4 - start;
  if (length > maxHeaderBytes) return { kind: 'too-large' };
  if (end === -1) return { kind: 'partial', rest: start > 0 ? buffer.subarray(start) : buffer };
  return {
    kind: 'head',
    text: buffer.toString('latin1', start, end - 4),
    rest: end < buffer.length ? buffer.subarray(end) : undefined,
  };
}
