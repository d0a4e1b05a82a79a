import type { RequestHead, ResponseHead } from './head.js';

/** What the proxy adds to Via, both ways. */
const VIA = '1.1 egress-router';

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
 * authority (never the client's Host), the end-to-end headers as received, the framing written from
 * what the proxy read (`Content-Length: n`, or the Transfer-Encoding as received for a chunked body,
 * which passes through chunked), and Via appended. Framing headers are never dropped because
 * Connection names them (parseRequestHead refuses that). Nothing asks the destination to close: its
 * connection is pooled.
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
    const lower = field.lower;
    if (lower === 'transfer-encoding') {
      out += `${field.name}: ${field.value}\r\n`;
      continue;
    }
    if (lower === 'content-length' || lower === 'host' || skip(lower, head.connectionTokens)) continue;
    if (lower === 'via') {
      via = via === undefined ? field.value : `${via}, ${field.value}`;
      continue;
    }
    out += `${field.name}: ${field.value}\r\n`;
  }
  if (head.framing.kind === 'length') out += `Content-Length: ${head.framing.length}\r\n`;
  else if (head.framing.kind === 'none' && head.headers.some((f) => f.lower === 'content-length')) {
    out += 'Content-Length: 0\r\n';
  }
  return `${out}Via: ${via === undefined ? VIA : `${via}, ${VIA}`}\r\n\r\n`;
}

/**
 * The head sent back to the client: the destination's status and reason, its end-to-end headers,
 * Via appended, and `Connection: close` when this response ends the client's connection. The
 * framing headers follow what the proxy does with the body: `Content-Length: n` once for a body of
 * known length; the Transfer-Encoding as received when the body passes through with it; neither
 * when the body is de-chunked for an HTTP/1.0 client (`dechunk`, which closes the connection). A
 * Content-Length that describes no body here (HEAD, 304) is kept, once.
 *
 * @param head the destination's response head
 * @param close whether the client connection closes after this response
 * @param dechunk whether a chunked body goes to the client as plain bytes
 * @returns the head as latin1 text, with its empty line
 */
export function responseHeadFor(head: ResponseHead, close: boolean, dechunk = false): string {
  let out = `HTTP/1.1 ${head.status} ${head.reason}\r\n`;
  let via: string | undefined;
  const framing = head.framing;
  const encoded = framing.kind === 'chunked' || framing.kind === 'close';
  let lengthWritten = false;
  for (const field of head.headers) {
    const lower = field.lower;
    if (lower === 'transfer-encoding') {
      if (encoded && !dechunk) out += `${field.name}: ${field.value}\r\n`;
      continue;
    }
    if (lower === 'content-length') {
      // Written from the framing below; kept once where it describes no body here (HEAD, 304).
      if (framing.kind === 'none' && !lengthWritten) {
        out += `${field.name}: ${field.value}\r\n`;
        lengthWritten = true;
      }
      continue;
    }
    if (skip(lower, head.connectionTokens)) continue;
    if (lower === 'via') {
      via = via === undefined ? field.value : `${via}, ${field.value}`;
      continue;
    }
    out += `${field.name}: ${field.value}\r\n`;
  }
  if (framing.kind === 'length') out += `Content-Length: ${framing.length}\r\n`;
  out += `Via: ${via === undefined ? VIA : `${via}, ${VIA}`}\r\n`;
  return close ? `${out}Connection: close\r\n\r\n` : `${out}\r\n`;
}

/**
 * A response the proxy makes itself: a short plain-text body, encoded as UTF-8 (its length counted
 * in bytes).
 *
 * @param status the status
 * @param body the text
 * @param close whether the connection closes after it
 * @returns the whole response
 */
export function plainResponse(status: number, body: string, close: boolean): Buffer {
  const bytes = Buffer.from(body, 'utf8');
  const head =
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
    `content-length: ${bytes.length}\r\nvia: ${VIA}\r\n${close ? 'connection: close\r\n' : ''}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), bytes]);
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  499: 'Client Closed Request',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

function skip(lower: string, connectionTokens: ReadonlySet<string>): boolean {
  return HOP_BY_HOP.has(lower) || connectionTokens.has(lower);
}
