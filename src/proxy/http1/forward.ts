import type { HeaderField, RequestHead, ResponseHead } from './head.js';

/** What the proxy adds to Via, both ways. */
export const VIA = '1.1 egress-router';

/** Hop-by-hop headers (RFC 9110 7.6.1), plus the proxy's own; never forwarded as received. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * The head sent to the destination: the method, the origin-form path, Host from the checked
 * authority (never the client's Host), the end-to-end headers as received, the Transfer-Encoding
 * as received when the body is chunked (the body passes through chunked, so it stays framed the
 * same way upstream), and Via appended. Nothing asks the destination to close: its connection is
 * pooled.
 *
 * @param head the parsed request head
 * @param path the origin-form path to request
 * @param authority the checked authority, sent as Host
 * @returns the head as latin1 text, with its empty line
 * @example requestHeadFor(head, '/a?b', 'example.com:8080')
 */
export function requestHeadFor(head: RequestHead, path: string, authority: string): string {
  let out = `${head.method} ${path} HTTP/1.1\r\nHost: ${authority}\r\n`;
  let via: string | undefined;
  for (const field of head.headers) {
    if (field.lower === 'transfer-encoding') {
      out += `${field.name}: ${field.value}\r\n`;
      continue;
    }
    if (field.lower === 'host' || skip(field, head.connectionTokens)) continue;
    if (field.lower === 'via') {
      via = via === undefined ? field.value : `${via}, ${field.value}`;
      continue;
    }
    out += `${field.name}: ${field.value}\r\n`;
  }
  return `${out}Via: ${via === undefined ? VIA : `${via}, ${VIA}`}\r\n\r\n`;
}

/**
 * The head sent back to the client: the destination's status and reason, its end-to-end headers,
 * its Transfer-Encoding when the body is passed through with it, its Content-Length unless a
 * Transfer-Encoding overrides it, Via appended, and `Connection: close` when this response ends the
 * client's connection.
 *
 * @param head the destination's response head
 * @param close whether the client connection closes after this response
 * @returns the head as latin1 text, with its empty line
 */
export function responseHeadFor(head: ResponseHead, close: boolean): string {
  let out = `HTTP/1.1 ${head.status} ${head.reason}\r\n`;
  let via: string | undefined;
  const encoded = head.framing.kind === 'chunked' || head.framing.kind === 'close';
  for (const field of head.headers) {
    if (field.lower === 'transfer-encoding') {
      if (encoded) out += `${field.name}: ${field.value}\r\n`;
      continue;
    }
    if (field.lower === 'content-length' && head.framing.kind !== 'length') {
      // Kept where it describes the body (HEAD, 304); dropped where a Transfer-Encoding overrides it.
      if (encoded) continue;
    }
    if (skip(field, head.connectionTokens)) continue;
    if (field.lower === 'via') {
      via = via === undefined ? field.value : `${via}, ${field.value}`;
      continue;
    }
    out += `${field.name}: ${field.value}\r\n`;
  }
  out += `Via: ${via === undefined ? VIA : `${via}, ${VIA}`}\r\n`;
  return close ? `${out}Connection: close\r\n\r\n` : `${out}\r\n`;
}

/**
 * A response the proxy makes itself: a short plain-text body.
 *
 * @param status the status
 * @param body the text
 * @param close whether the connection closes after it
 * @returns the whole response as text
 */
export function plainResponse(status: number, body: string, close: boolean): string {
  return (
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nvia: ${VIA}\r\n${close ? 'connection: close\r\n' : ''}\r\n${body}`
  );
}

export const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  499: 'Client Closed Request',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

function skip(field: HeaderField, connectionTokens: ReadonlySet<string>): boolean {
  return HOP_BY_HOP.has(field.lower) || connectionTokens.has(field.lower);
}
