/**
 * Strict HTTP/1.1 message heads (RFC 9112), parsed from text: the proxy reads heads itself and
 * refuses what two parsers could read differently (the root of request smuggling), rather than
 * guessing. Pure: text in, a typed head or a typed refusal out.
 */

/** One header field as received: its name as sent, lower-cased, and its value without OWS. */
export interface HeaderField {
  readonly name: string;
  readonly lower: string;
  readonly value: string;
}

/** How a message body is delimited. `close`: until the sender closes (responses only). */
export type Framing =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'close' };

export interface RequestHead {
  readonly method: string;
  readonly target: string;
  /** The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minor: 0 | 1;
  readonly headers: readonly HeaderField[];
  readonly framing: Framing;
  /** The connection may carry another request after this one. */
  readonly keepAlive: boolean;
  /** The client asks to switch protocols (Upgrade with Connection: upgrade). */
  readonly upgrade: boolean;
  /** Lower-cased Connection tokens: the headers they name are hop-by-hop too. */
  readonly connectionTokens: ReadonlySet<string>;
}

export interface ResponseHead {
  readonly minor: 0 | 1;
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly HeaderField[];
  readonly framing: Framing;
  /** The destination connection can carry another request after this response. */
  readonly reusable: boolean;
  readonly connectionTokens: ReadonlySet<string>;
}

export type HeadResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

/** The largest Content-Length read: 2^53 - 1 needs 16 digits; 15 keep every value exact. */
const MAX_LENGTH_DIGITS = 15;

// RFC 9110 5.6.2 token characters, and field-value characters (VCHAR, obs-text, SP, HTAB).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** By character code: 1 where a token may hold it; where a field value may (HTAB, SP, VCHAR, obs-text). */
const TOKEN_BYTE = byteTable((c) => TOKEN.test(String.fromCharCode(c)));
const FIELD_BYTE = byteTable((c) => c === 0x09 || (c >= 0x20 && c !== 0x7f && c <= 0xff));

function byteTable(allowed: (c: number) => boolean): Uint8Array {
  // Heads are read as latin1 (codes up to 0xff); a code past the table reads as undefined: refused.
  const table = new Uint8Array(256);
  for (let c = 0; c < 256; c++) table[c] = allowed(c) ? 1 : 0;
  return table;
}
// Visible ASCII but the backslash: URIs hold no other bytes (RFC 3986), and `\` is read as `/` by
// some URL parsers (a way to make two parsers see two different hosts).
const REQUEST_TARGET = /^[\x21-\x5b\x5d-\x7e]+$/;
const REASON = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Finds the end of a head: the index just after its empty line (CRLF CRLF), or -1 while it is
 * incomplete. Bare LF line ends are not looked for: the head parser refuses them.
 *
 * @param buffer received bytes
 * @param from where the head starts
 * @returns the index after the head, or -1
 */
export function headEnd(buffer: Buffer, from: number): number {
  const at = buffer.indexOf('\r\n\r\n', from, 'latin1');
  return at === -1 ? -1 : at + 4;
}

/**
 * Parses a request head: the request line and the header fields, without the final empty line.
 * Refused (the client gets 400): anything but `HTTP/1.0` or `HTTP/1.1`; a bare CR or LF; a line
 * folding; whitespace before a colon; a character a field may not hold; a second Host; a
 * Content-Length that is not one number; Content-Length with Transfer-Encoding; a
 * Transfer-Encoding whose last coding is not chunked, or on HTTP/1.0.
 *
 * @param text the head as latin1 text, lines joined by CRLF, the empty line excluded
 * @returns the head, or why it is refused
 * @example parseRequestHead('GET http://example.com/ HTTP/1.1\r\nHost: example.com')
 */
export function parseRequestHead(text: string): HeadResult<RequestHead> {
  const lineEnd = text.indexOf('\r\n');
  const requestLine = lineEnd === -1 ? text : text.slice(0, lineEnd);
  const first = requestLine.indexOf(' ');
  const last = requestLine.lastIndexOf(' ');
  if (first <= 0 || last === first) return refuse('malformed request line');
  const method = requestLine.slice(0, first);
  const target = requestLine.slice(first + 1, last);
  const version = requestLine.slice(last + 1);
  if (!TOKEN.test(method)) return refuse('malformed request line');
  if (!REQUEST_TARGET.test(target)) return refuse('malformed request target');
  const minor = version === 'HTTP/1.1' ? 1 : version === 'HTTP/1.0' ? 0 : undefined;
  if (minor === undefined) return refuse(`unsupported protocol version '${version.slice(0, 16)}'`);
  const fields = parseFields(text, lineEnd);
  if (!fields.ok) return fields;
  const { headers, connectionTokens, lengths, codings, hosts, upgradeHeader } = fields.value;
  if (hosts > 1) return refuse('more than one Host header');
  // RFC 9110 7.6.1: Connection never names these; a proxy that dropped them would unframe the body.
  for (const framingHeader of ['content-length', 'transfer-encoding', 'host']) {
    if (connectionTokens.has(framingHeader)) return refuse(`Connection names '${framingHeader}'`);
  }
  let framing: Framing = { kind: 'none' };
  if (codings.length > 0) {
    if (lengths.length > 0) return refuse('both Content-Length and Transfer-Encoding');
    if (minor === 0) return refuse('Transfer-Encoding in an HTTP/1.0 request');
    if (!chunkedLast(codings)) return refuse('chunked is not the last transfer coding, once');
    framing = { kind: 'chunked' };
  } else if (lengths.length > 0) {
    const length = contentLength(lengths);
    if (length === undefined) return refuse('invalid Content-Length');
    framing = length === 0 ? { kind: 'none' } : { kind: 'length', length };
  }
  const keepAlive = minor === 1 && !connectionTokens.has('close');
  return {
    ok: true,
    value: {
      method,
      target,
      minor,
      headers,
      framing,
      keepAlive,
      // RFC 9110 7.8: an Upgrade in an HTTP/1.0 request is ignored.
      upgrade: minor === 1 && upgradeHeader && connectionTokens.has('upgrade'),
      connectionTokens,
    },
  };
}

/**
 * Parses a response head and works out how its body is delimited (RFC 9112 6.3): none after HEAD
 * and for 1xx, 204 and 304; chunked when chunked is the last transfer coding; otherwise a
 * Transfer-Encoding or no length at all means until the destination closes. Refused (the client
 * gets 502): what a request head refuses, and two different Content-Lengths.
 *
 * @param text the head as latin1 text, the empty line excluded
 * @param method the method of the request it answers
 * @returns the head, or why it is refused
 */
export function parseResponseHead(text: string, method: string): HeadResult<ResponseHead> {
  const lineEnd = text.indexOf('\r\n');
  const statusLine = lineEnd === -1 ? text : text.slice(0, lineEnd);
  const minor = statusLine.startsWith('HTTP/1.1 ') ? 1 : statusLine.startsWith('HTTP/1.0 ') ? 0 : undefined;
  if (minor === undefined) return refuse('malformed status line');
  const code = statusLine.slice(9, 12);
  if (!/^[1-9][0-9][0-9]$/.test(code) || (statusLine.length > 12 && statusLine[12] !== ' ')) {
    return refuse('malformed status line');
  }
  const reason = statusLine.slice(13);
  if (!REASON.test(reason)) return refuse('malformed status line');
  const status = Number(code);
  const fields = parseFields(text, lineEnd);
  if (!fields.ok) return fields;
  const { headers, connectionTokens, lengths, codings } = fields.value;
  let framing: Framing;
  let reusable = minor === 1 && !connectionTokens.has('close');
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) {
    framing = { kind: 'none' };
  } else if (codings.length > 0) {
    if (minor === 0) return refuse('Transfer-Encoding in an HTTP/1.0 response');
    framing = chunkedLast(codings) ? { kind: 'chunked' } : { kind: 'close' };
    // RFC 9112 6.3: Transfer-Encoding overrides Content-Length, and the connection is not reused.
    if (lengths.length > 0) reusable = false;
  } else if (lengths.length > 0) {
    // The same length sent twice is the same length (RFC 9110 8.6); two different ones are refused.
    const length = contentLength(lengths.every((l) => l === lengths[0]) ? [lengths[0]!] : lengths);
    if (length === undefined) return refuse('invalid Content-Length from the destination');
    framing = length === 0 ? { kind: 'none' } : { kind: 'length', length };
  } else {
    framing = { kind: 'close' };
  }
  if (framing.kind === 'close') reusable = false;
  return {
    ok: true,
    value: { minor, status, reason, headers, framing, reusable, connectionTokens },
  };
}

/** The Connection tokens of a head without a Connection header: shared, never changed. */
const NO_TOKENS: ReadonlySet<string> = new Set();
const NONE: readonly string[] = [];

interface Fields {
  readonly headers: HeaderField[];
  readonly connectionTokens: ReadonlySet<string>;
  readonly lengths: readonly string[];
  readonly codings: readonly string[];
  readonly hosts: number;
  readonly upgradeHeader: boolean;
}

function parseFields(text: string, lineEnd: number): HeadResult<Fields> {
  const headers: HeaderField[] = [];
  // Allocated when a head has the header: most have no Connection, Transfer-Encoding or length.
  let connectionTokens: Set<string> | undefined;
  let lengths: string[] | undefined;
  let codings: string[] | undefined;
  let hosts = 0;
  let upgradeHeader = false;
  let at = lineEnd === -1 ? text.length : lineEnd + 2;
  while (at < text.length) {
    const next = text.indexOf('\r\n', at);
    const end = next === -1 ? text.length : next;
    const lineStart = at;
    at = end + 2;
    let colon = text.indexOf(':', lineStart);
    if (colon >= end) colon = -1;
    if (colon <= lineStart) {
      const c = text.charCodeAt(lineStart);
      return refuse(c === 0x20 || c === 0x09 ? 'obsolete line folding' : 'malformed header line');
    }
    if (!isToken(text, lineStart, colon)) {
      const c = text.charCodeAt(lineStart);
      if (c === 0x20 || c === 0x09) return refuse('obsolete line folding');
      const last = text.charCodeAt(colon - 1);
      return refuse(last === 0x20 || last === 0x09 ? 'whitespace before a colon' : 'malformed header name');
    }
    const name = text.slice(lineStart, colon);
    // The value without leading and trailing whitespace (OWS), every byte checked.
    let from = colon + 1;
    let to = end;
    while (from < to && isWhitespace(text.charCodeAt(from))) from++;
    while (to > from && isWhitespace(text.charCodeAt(to - 1))) to--;
    for (let i = from; i < to; i++) {
      if (!FIELD_BYTE[text.charCodeAt(i)]) return refuse(`invalid character in header '${name}'`);
    }
    const value = text.slice(from, to);
    const lower = name.toLowerCase();
    headers.push({ name, lower, value });
    switch (lower) {
      case 'content-length':
        lengths ??= [];
        lengths.push(value);
        break;
      case 'transfer-encoding':
        codings ??= [];
        for (const coding of value.split(',')) codings.push(coding.trim().toLowerCase());
        break;
      case 'connection':
        connectionTokens ??= new Set();
        for (const token of value.split(',')) {
          const t = token.trim().toLowerCase();
          if (t !== '') connectionTokens.add(t);
        }
        break;
      case 'host':
        hosts++;
        break;
      case 'upgrade':
        upgradeHeader = true;
        break;
    }
  }
  return {
    ok: true,
    value: {
      headers,
      connectionTokens: connectionTokens ?? NO_TOKENS,
      lengths: lengths ?? NONE,
      codings: codings ?? NONE,
      hosts,
      upgradeHeader,
    },
  };
}

/** One Content-Length, digits only: a list or two fields, even equal, are refused. */
function contentLength(values: readonly string[]): number | undefined {
  if (values.length !== 1) return undefined;
  const value = values[0]!;
  if (!/^[0-9]+$/.test(value) || value.length > MAX_LENGTH_DIGITS) return undefined;
  return Number(value);
}

/** Chunked is the last coding and appears once; empty list members are refused. */
function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** The characters `text[from, to)` are a token (RFC 9110 5.6.2), and there is at least one. */
function isToken(text: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) if (!TOKEN_BYTE[text.charCodeAt(i)]) return false;
  return true;
}

function chunkedLast(codings: readonly string[]): boolean {
  if (codings.some((c) => c === '')) return false;
  return codings[codings.length - 1] === 'chunked' && codings.indexOf('chunked') === codings.length - 1;
}

function refuse(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
