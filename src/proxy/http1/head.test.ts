import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Framing, headEnd, parseRequestHead, parseResponseHead } from './head.js';

/** A head from its lines, joined by CRLF, without the final empty line (as the parsers take it). */
const head = (...lines: string[]): string => lines.join('\r\n');

const NONE: Framing = { kind: 'none' };
const CHUNKED: Framing = { kind: 'chunked' };
const CLOSE: Framing = { kind: 'close' };
const length = (n: number): Framing => ({ kind: 'length', length: n });

interface RequestSummary {
  method: string;
  target: string;
  minor: 0 | 1;
  framing: Framing;
  keepAlive: boolean;
  upgrade: boolean;
  connectionTokens: string[];
}

/** A request head in short (every field but the headers, tokens sorted), or its refusal. */
function request(text: string): RequestSummary | string {
  const result = parseRequestHead(text);
  if (!result.ok) return `refused: ${result.reason}`;
  const { method, target, minor, framing, keepAlive, upgrade, connectionTokens } = result.value;
  return {
    method,
    target,
    minor,
    framing,
    keepAlive,
    upgrade,
    connectionTokens: [...connectionTokens].sort(),
  };
}

interface ResponseSummary {
  minor: 0 | 1;
  status: number;
  reason: string;
  framing: Framing;
  reusable: boolean;
  connectionTokens: string[];
}

/** A response head in short (every field but the headers, tokens sorted), or its refusal. */
function response(text: string, method = 'GET'): ResponseSummary | string {
  const result = parseResponseHead(text, method);
  if (!result.ok) return `refused: ${result.reason}`;
  const { minor, status, reason, framing, reusable, connectionTokens } = result.value;
  return { minor, status, reason, framing, reusable, connectionTokens: [...connectionTokens].sort() };
}

describe('headEnd() finds the empty line that ends a head', () => {
  const cases: [string, string, number, number][] = [
    ['a complete head', 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', 0, 27],
    ['a head without header fields', 'GET / HTTP/1.1\r\n\r\n', 0, 18],
    ['a head followed by body bytes (not counted)', 'POST / HTTP/1.1\r\n\r\nbody\r\n\r\n', 0, 19],
    ['nothing yet', '', 0, -1],
    ['a request line only', 'GET / HTTP/1.1', 0, -1],
    ['a head cut after a line', 'GET / HTTP/1.1\r\nHost: a\r\n', 0, -1],
    ['a head cut inside the empty line (CR)', 'GET / HTTP/1.1\r\nHost: a\r\n\r', 0, -1],
    ['a head cut inside a line end', 'GET / HTTP/1.1\r', 0, -1],
    ['bare LF line ends (not looked for)', 'GET / HTTP/1.1\nHost: a\n\n', 0, -1],
    ['CR CR', 'GET / HTTP/1.1\r\r\r\r', 0, -1],
    ['a second head, from where it starts', 'GET / HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n', 18, 37],
    ['a second head still incomplete', 'GET / HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n', 18, -1],
    ['the empty line right at from', 'xx\r\n\r\n', 2, 6],
    ['an empty line before from (not seen)', '\r\n\r\nGET', 1, -1],
  ];
  for (const [what, text, from, expected] of cases) {
    test(`headEnd() on ${what}: ${JSON.stringify(text)} from ${from} is ${expected}`, () => {
      assert.equal(headEnd(Buffer.from(text, 'latin1'), from), expected);
    });
  }

  test('headEnd() finds the end however much of the head has arrived', () => {
    const whole = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';
    for (let n = 0; n <= whole.length; n++) {
      const expected = n === whole.length ? whole.length : -1;
      assert.equal(headEnd(Buffer.from(whole.slice(0, n), 'latin1'), 0), expected, `after ${n} bytes`);
    }
  });
});

describe('parseRequestHead() reads well-formed request heads', () => {
  const base: RequestSummary = {
    method: 'GET',
    target: 'http://example.com/',
    minor: 1,
    framing: NONE,
    keepAlive: true,
    upgrade: false,
    connectionTokens: [],
  };
  const cases: [string, string, Partial<RequestSummary>][] = [
    ['an HTTP/1.1 GET (kept alive)', head('GET http://example.com/ HTTP/1.1', 'Host: example.com'), {}],
    ['a request line alone', head('GET http://example.com/ HTTP/1.1'), {}],
    ['a head that keeps the last line end', 'GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n', {}],
    [
      'an HTTP/1.0 GET (not kept alive)',
      head('GET http://example.com/ HTTP/1.0', 'Host: example.com'),
      { minor: 0, keepAlive: false },
    ],
    [
      'an HTTP/1.0 GET asking for keep-alive (still not kept alive)',
      head('GET http://example.com/ HTTP/1.0', 'Connection: keep-alive'),
      { minor: 0, keepAlive: false, connectionTokens: ['keep-alive'] },
    ],
    [
      'Connection: close (not kept alive)',
      head('GET http://example.com/ HTTP/1.1', 'Connection: close'),
      { keepAlive: false, connectionTokens: ['close'] },
    ],
    [
      'Connection: CLOSE among other tokens (not kept alive)',
      head('GET http://example.com/ HTTP/1.1', 'Connection: Keep-Alive, CLOSE'),
      { keepAlive: false, connectionTokens: ['close', 'keep-alive'] },
    ],
    [
      'Connection tokens lower-cased, trimmed, empty members dropped, fields merged',
      head('GET http://example.com/ HTTP/1.1', 'Connection: X-Foo , ,\tKeep-Alive', 'connection: TE'),
      { connectionTokens: ['keep-alive', 'te', 'x-foo'] },
    ],
    [
      'Upgrade with Connection: upgrade',
      head('GET http://example.com/ HTTP/1.1', 'Upgrade: websocket', 'Connection: Upgrade'),
      { upgrade: true, connectionTokens: ['upgrade'] },
    ],
    [
      'Upgrade with upgrade among the Connection tokens',
      head('GET http://example.com/ HTTP/1.1', 'connection: keep-alive, UPGRADE', 'UPGRADE: h2c'),
      { upgrade: true, connectionTokens: ['keep-alive', 'upgrade'] },
    ],
    [
      'Upgrade without Connection: upgrade (no upgrade)',
      head('GET http://example.com/ HTTP/1.1', 'Upgrade: websocket'),
      {},
    ],
    [
      'Upgrade with another Connection token (no upgrade)',
      head('GET http://example.com/ HTTP/1.1', 'Upgrade: websocket', 'Connection: keep-alive'),
      { connectionTokens: ['keep-alive'] },
    ],
    [
      'Connection: upgrade without Upgrade (no upgrade)',
      head('GET http://example.com/ HTTP/1.1', 'Connection: upgrade'),
      { connectionTokens: ['upgrade'] },
    ],
    [
      'Content-Length: 0 (no body)',
      head('POST http://example.com/ HTTP/1.1', 'Content-Length: 0'),
      { method: 'POST' },
    ],
    [
      'Content-Length: 5',
      head('POST http://example.com/ HTTP/1.1', 'Content-Length: 5'),
      { method: 'POST', framing: length(5) },
    ],
    [
      'Content-Length with OWS around it',
      head('POST http://example.com/ HTTP/1.1', 'content-length:\t 12 \t'),
      { method: 'POST', framing: length(12) },
    ],
    [
      'Content-Length with leading zeros',
      head('POST http://example.com/ HTTP/1.1', 'Content-Length: 007'),
      { method: 'POST', framing: length(7) },
    ],
    [
      'the largest Content-Length read (15 digits)',
      head('POST http://example.com/ HTTP/1.1', 'Content-Length: 999999999999999'),
      { method: 'POST', framing: length(999_999_999_999_999) },
    ],
    [
      'an HTTP/1.0 Content-Length',
      head('POST http://example.com/ HTTP/1.0', 'Content-Length: 3'),
      { method: 'POST', minor: 0, framing: length(3), keepAlive: false },
    ],
    [
      'Transfer-Encoding: chunked',
      head('POST http://example.com/ HTTP/1.1', 'Transfer-Encoding: chunked'),
      { method: 'POST', framing: CHUNKED },
    ],
    [
      'Transfer-Encoding: Chunked (codings are case-insensitive)',
      head('POST http://example.com/ HTTP/1.1', 'transfer-encoding: Chunked'),
      { method: 'POST', framing: CHUNKED },
    ],
    [
      'chunked last after gzip',
      head('POST http://example.com/ HTTP/1.1', 'Transfer-Encoding: gzip , chunked'),
      { method: 'POST', framing: CHUNKED },
    ],
    [
      'chunked last across two Transfer-Encoding fields',
      head('POST http://example.com/ HTTP/1.1', 'Transfer-Encoding: gzip', 'Transfer-Encoding: chunked'),
      { method: 'POST', framing: CHUNKED },
    ],
    [
      'an authority-form CONNECT',
      head('CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443'),
      { method: 'CONNECT', target: 'example.com:443' },
    ],
    ['an asterisk-form OPTIONS', head('OPTIONS * HTTP/1.1'), { method: 'OPTIONS', target: '*' }],
    ['an origin-form target', head('GET /a?b=c HTTP/1.1', 'Host: x'), { target: '/a?b=c' }],
    [
      'one Host in any case (Host and host are the same field, counted once each)',
      head('GET http://example.com/ HTTP/1.1', 'hOsT: example.com'),
      {},
    ],
    [
      'obs-text and HTAB inside a field value',
      head('GET http://example.com/ HTTP/1.1', 'X-Name: caf\xe9\tau lait'),
      {},
    ],
    ['an empty field value', head('GET http://example.com/ HTTP/1.1', 'X-Empty:'), {}],
  ];
  for (const [what, text, expected] of cases) {
    test(`parseRequestHead() reads ${what}`, () => {
      assert.deepEqual(request(text), { ...base, ...expected });
    });
  }

  test('parseRequestHead() keeps every field: its name as sent, lower-cased, and its value without OWS', () => {
    const result = parseRequestHead(
      head(
        'GET http://example.com/ HTTP/1.1',
        'Host: example.com',
        'X-Two:  a  b \t',
        'x-empty:',
        'X-Two: c',
      ),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.value.headers, [
      { name: 'Host', lower: 'host', value: 'example.com' },
      { name: 'X-Two', lower: 'x-two', value: 'a  b' },
      { name: 'x-empty', lower: 'x-empty', value: '' },
      { name: 'X-Two', lower: 'x-two', value: 'c' },
    ]);
  });
});

describe('parseRequestHead() refuses what two parsers could read differently', () => {
  const cases: [string, string, string][] = [
    // The request line.
    ['an empty head', '', 'malformed request line'],
    ['no version', 'GET /', 'malformed request line'],
    ['a method alone', 'GET', 'malformed request line'],
    ['a space before the method', ' GET / HTTP/1.1', 'malformed request line'],
    ['a method that is not a token', 'G(E)T / HTTP/1.1', 'malformed request line'],
    ['two spaces after the method', 'GET  / HTTP/1.1', 'malformed request target'],
    ['two spaces before the version', 'GET /  HTTP/1.1', 'malformed request target'],
    ['a space inside the target', 'GET /a b HTTP/1.1', 'malformed request target'],
    ['a control character in the target', 'GET /a\x00b HTTP/1.1', 'malformed request target'],
    ['a tab inside the target', 'GET /a\tb HTTP/1.1', 'malformed request target'],
    ['HTTP/1.2', 'GET / HTTP/1.2', "unsupported protocol version 'HTTP/1.2'"],
    ['HTTP/2.0', 'GET / HTTP/2.0', "unsupported protocol version 'HTTP/2.0'"],
    ['HTTP/0.9', 'GET / HTTP/0.9', "unsupported protocol version 'HTTP/0.9'"],
    ['a version in lower case', 'GET / http/1.1', "unsupported protocol version 'http/1.1'"],
    ['a space after the version', 'GET / HTTP/1.1 ', 'malformed request target'],
    ['a space after a version alone', 'GET HTTP/1.1 ', "unsupported protocol version ''"],
    [
      'a long version (cut to 16 characters)',
      'GET / HTTP/1.1xxxxxxxxxxxx',
      "unsupported protocol version 'HTTP/1.1xxxxxxxx'",
    ],
    // Bare CR and LF.
    ['a bare LF after the request line', 'GET / HTTP/1.1\nHost: a', 'malformed request target'],
    ['a bare CR after the request line', 'GET / HTTP/1.1\rHost: a', 'malformed request target'],
    [
      'a bare LF ending the request line alone',
      'GET / HTTP/1.1\n',
      "unsupported protocol version 'HTTP/1.1\n'",
    ],
    [
      'a bare CR ending the request line alone',
      'GET / HTTP/1.1\r',
      "unsupported protocol version 'HTTP/1.1\r'",
    ],
    [
      'a bare LF between fields',
      head('GET / HTTP/1.1', 'Host: a\nX: b'),
      "invalid character in header 'Host'",
    ],
    [
      'a bare CR between fields',
      head('GET / HTTP/1.1', 'Host: a\rX: b'),
      "invalid character in header 'Host'",
    ],
    [
      'a bare LF ending the last field',
      head('GET / HTTP/1.1', 'Host: a\n'),
      "invalid character in header 'Host'",
    ],
    [
      'a bare CR ending the last field',
      head('GET / HTTP/1.1', 'Host: a\r'),
      "invalid character in header 'Host'",
    ],
    ['a bare LF inside a field name', head('GET / HTTP/1.1', 'X\nHost: a'), 'malformed header name'],
    // Line folding, whitespace before a colon, bad names and values.
    ['a line folded with a space', head('GET / HTTP/1.1', 'X: a', ' b'), 'obsolete line folding'],
    ['a line folded with a tab', head('GET / HTTP/1.1', 'X: a', '\tb'), 'obsolete line folding'],
    ['a folded line holding a colon', head('GET / HTTP/1.1', 'X: a', ' Host: b'), 'obsolete line folding'],
    ['whitespace before the first field', head('GET / HTTP/1.1', ' Host: a'), 'obsolete line folding'],
    ['a space before a colon', head('GET / HTTP/1.1', 'Host : a'), 'whitespace before a colon'],
    ['a tab before a colon', head('GET / HTTP/1.1', 'Host\t: a'), 'whitespace before a colon'],
    [
      'a space before the colon of Content-Length',
      head('POST / HTTP/1.1', 'Content-Length : 5'),
      'whitespace before a colon',
    ],
    [
      'a space before the colon of Transfer-Encoding',
      head('POST / HTTP/1.1', 'Transfer-Encoding : chunked'),
      'whitespace before a colon',
    ],
    ['a space inside a field name', head('GET / HTTP/1.1', 'X Y: a'), 'malformed header name'],
    ['a separator in a field name', head('GET / HTTP/1.1', 'X(Y): a'), 'malformed header name'],
    ['obs-text in a field name', head('GET / HTTP/1.1', 'X\xe9: a'), 'malformed header name'],
    ['a line without a colon', head('GET / HTTP/1.1', 'Host a'), 'malformed header line'],
    ['a line starting with a colon', head('GET / HTTP/1.1', ':a'), 'malformed header line'],
    ['an empty line inside the head', head('GET / HTTP/1.1', '', 'Host: a'), 'malformed header line'],
    ['NUL in a value', head('GET / HTTP/1.1', 'X-A: a\x00b'), "invalid character in header 'X-A'"],
    ['DEL in a value', head('GET / HTTP/1.1', 'X-A: a\x7fb'), "invalid character in header 'X-A'"],
    [
      'a control character in a value',
      head('GET / HTTP/1.1', 'X-A: \x01'),
      "invalid character in header 'X-A'",
    ],
    // Host.
    ['a second Host', head('GET / HTTP/1.1', 'Host: a', 'Host: b'), 'more than one Host header'],
    ['a second, identical Host', head('GET / HTTP/1.1', 'Host: a', 'Host: a'), 'more than one Host header'],
    [
      'a second Host in another case',
      head('GET / HTTP/1.1', 'Host: a', 'host: b'),
      'more than one Host header',
    ],
    // Content-Length.
    [
      'a Content-Length that is not a number',
      head('POST / HTTP/1.1', 'Content-Length: abc'),
      'invalid Content-Length',
    ],
    ['an empty Content-Length', head('POST / HTTP/1.1', 'Content-Length:'), 'invalid Content-Length'],
    ['a negative Content-Length', head('POST / HTTP/1.1', 'Content-Length: -1'), 'invalid Content-Length'],
    ['a signed Content-Length', head('POST / HTTP/1.1', 'Content-Length: +5'), 'invalid Content-Length'],
    ['a hex Content-Length', head('POST / HTTP/1.1', 'Content-Length: 0x5'), 'invalid Content-Length'],
    ['an exponent Content-Length', head('POST / HTTP/1.1', 'Content-Length: 1e3'), 'invalid Content-Length'],
    ['a decimal Content-Length', head('POST / HTTP/1.1', 'Content-Length: 5.0'), 'invalid Content-Length'],
    ['a Content-Length list', head('POST / HTTP/1.1', 'Content-Length: 5, 5'), 'invalid Content-Length'],
    [
      'two numbers in a Content-Length',
      head('POST / HTTP/1.1', 'Content-Length: 5 5'),
      'invalid Content-Length',
    ],
    [
      'a Content-Length of 16 digits',
      head('POST / HTTP/1.1', 'Content-Length: 1000000000000000'),
      'invalid Content-Length',
    ],
    [
      'two equal Content-Length fields',
      head('POST / HTTP/1.1', 'Content-Length: 5', 'Content-Length: 5'),
      'invalid Content-Length',
    ],
    [
      'two different Content-Length fields',
      head('POST / HTTP/1.1', 'Content-Length: 5', 'content-length: 6'),
      'invalid Content-Length',
    ],
    // Transfer-Encoding.
    [
      'Content-Length then Transfer-Encoding',
      head('POST / HTTP/1.1', 'Content-Length: 5', 'Transfer-Encoding: chunked'),
      'both Content-Length and Transfer-Encoding',
    ],
    [
      'Transfer-Encoding then Content-Length',
      head('POST / HTTP/1.1', 'Transfer-Encoding: chunked', 'Content-Length: 5'),
      'both Content-Length and Transfer-Encoding',
    ],
    [
      'Transfer-Encoding with a Content-Length of 0',
      head('POST / HTTP/1.1', 'Transfer-Encoding: chunked', 'Content-Length: 0'),
      'both Content-Length and Transfer-Encoding',
    ],
    [
      'Transfer-Encoding on HTTP/1.0',
      head('POST / HTTP/1.0', 'Transfer-Encoding: chunked'),
      'Transfer-Encoding in an HTTP/1.0 request',
    ],
    [
      'Transfer-Encoding: gzip (no chunked)',
      head('POST / HTTP/1.1', 'Transfer-Encoding: gzip'),
      'chunked is not the last transfer coding, once',
    ],
    [
      'Transfer-Encoding: identity',
      head('POST / HTTP/1.1', 'Transfer-Encoding: identity'),
      'chunked is not the last transfer coding, once',
    ],
    [
      'chunked before gzip',
      head('POST / HTTP/1.1', 'Transfer-Encoding: chunked, gzip'),
      'chunked is not the last transfer coding, once',
    ],
    [
      'chunked before gzip across two fields',
      head('POST / HTTP/1.1', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip'),
      'chunked is not the last transfer coding, once',
    ],
    [
      'chunked twice',
      head('POST / HTTP/1.1', 'Transfer-Encoding: chunked, chunked'),
      'chunked is not the last transfer coding, once',
    ],
    [
      'chunked twice across two fields',
      head('POST / HTTP/1.1', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'),
      'chunked is not the last transfer coding, once',
    ],
    [
      'an empty coding after chunked',
      head('POST / HTTP/1.1', 'Transfer-Encoding: chunked,'),
      'chunked is not the last transfer coding, once',
    ],
    [
      'an empty coding before chunked',
      head('POST / HTTP/1.1', 'Transfer-Encoding: , chunked'),
      'chunked is not the last transfer coding, once',
    ],
    [
      'an empty Transfer-Encoding',
      head('POST / HTTP/1.1', 'Transfer-Encoding:'),
      'chunked is not the last transfer coding, once',
    ],
    [
      'chunked with a parameter',
      head('POST / HTTP/1.1', 'Transfer-Encoding: chunked;q=1'),
      'chunked is not the last transfer coding, once',
    ],
    [
      'chunked with a vertical tab',
      head('POST / HTTP/1.1', 'Transfer-Encoding: chunked\x0b'),
      "invalid character in header 'Transfer-Encoding'",
    ],
  ];
  for (const [what, text, reason] of cases) {
    test(`parseRequestHead() refuses ${what}: ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseRequestHead(text), { ok: false, reason });
    });
  }
});

describe('parseResponseHead() reads the status line', () => {
  const cases: [string, string, 0 | 1, number, string][] = [
    ['200 OK', 'HTTP/1.1 200 OK', 1, 200, 'OK'],
    ['a reason with spaces', 'HTTP/1.1 404 Not Found', 1, 404, 'Not Found'],
    ['no reason and no space', 'HTTP/1.1 200', 1, 200, ''],
    ['an empty reason', 'HTTP/1.1 200 ', 1, 200, ''],
    ['a reason with leading space kept', 'HTTP/1.1 200  OK', 1, 200, ' OK'],
    ['a reason with HTAB and obs-text', 'HTTP/1.1 200 tr\xe8s\tbien', 1, 200, 'tr\xe8s\tbien'],
    ['HTTP/1.0', 'HTTP/1.0 200 OK', 0, 200, 'OK'],
    ['the smallest status', 'HTTP/1.1 100 Continue', 1, 100, 'Continue'],
    ['the largest status', 'HTTP/1.1 999 Odd', 1, 999, 'Odd'],
  ];
  for (const [what, line, minor, status, reason] of cases) {
    test(`parseResponseHead() reads ${what}: ${JSON.stringify(line)}`, () => {
      const result = parseResponseHead(head(line, 'Content-Length: 0'), 'GET');
      assert.ok(result.ok);
      assert.deepEqual(
        { minor: result.value.minor, status: result.value.status, reason: result.value.reason },
        { minor, status, reason },
      );
    });
  }

  const refused: [string, string][] = [
    ['an empty head', ''],
    ['a version alone', 'HTTP/1.1'],
    ['a version and a space', 'HTTP/1.1 '],
    ['a two-digit status', 'HTTP/1.1 20'],
    ['a two-digit status and a reason', 'HTTP/1.1 20 OK'],
    ['a four-digit status', 'HTTP/1.1 2000'],
    ['a status starting with 0', 'HTTP/1.1 099 Odd'],
    ['a status that is not a number', 'HTTP/1.1 abc OK'],
    ['a signed status', 'HTTP/1.1 +20 OK'],
    ['two spaces before the status', 'HTTP/1.1  200 OK'],
    ['a tab after the status', 'HTTP/1.1 200\tOK'],
    ['a tab before the status', 'HTTP/1.1\t200 OK'],
    ['a version in lower case', 'http/1.1 200 OK'],
    ['HTTP/1.2', 'HTTP/1.2 200 OK'],
    ['HTTP/2', 'HTTP/2 200 OK'],
    ['not HTTP', 'ICY 200 OK'],
    ['a space before the version', ' HTTP/1.1 200 OK'],
    ['a control character in the reason', 'HTTP/1.1 200 O\x00K'],
    ['DEL in the reason', 'HTTP/1.1 200 O\x7fK'],
    ['a bare LF in the reason', 'HTTP/1.1 200 OK\nContent-Length: 0'],
    ['a bare CR in the reason', 'HTTP/1.1 200 OK\rContent-Length: 0'],
    ['a bare LF after the status', 'HTTP/1.1 200\nContent-Length: 0'],
  ];
  for (const [what, text] of refused) {
    test(`parseResponseHead() refuses ${what}: ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseResponseHead(text, 'GET'), { ok: false, reason: 'malformed status line' });
    });
  }
});

describe('parseResponseHead() works out how the body is delimited and whether the connection is reusable', () => {
  const cases: [string, string, string, Framing, boolean, string[]?][] = [
    ['Content-Length: 5', head('HTTP/1.1 200 OK', 'Content-Length: 5'), 'GET', length(5), true],
    ['Content-Length: 0 (no body)', head('HTTP/1.1 200 OK', 'Content-Length: 0'), 'GET', NONE, true],
    [
      'the largest Content-Length read (15 digits)',
      head('HTTP/1.1 200 OK', 'Content-Length: 999999999999999'),
      'GET',
      length(999_999_999_999_999),
      true,
    ],
    [
      'the same Content-Length twice',
      head('HTTP/1.1 200 OK', 'Content-Length: 5', 'content-length: 5'),
      'GET',
      length(5),
      true,
    ],
    [
      'the same Content-Length three times',
      head('HTTP/1.1 200 OK', 'Content-Length: 5', 'Content-Length: 5', 'Content-Length:5'),
      'GET',
      length(5),
      true,
    ],
    ['no length (until the destination closes)', head('HTTP/1.1 200 OK'), 'GET', CLOSE, false],
    ['no length on HTTP/1.0', head('HTTP/1.0 200 OK', 'Server: x'), 'GET', CLOSE, false],
    [
      'Transfer-Encoding: chunked',
      head('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'),
      'GET',
      CHUNKED,
      true,
    ],
    [
      'Transfer-Encoding: CHUNKED',
      head('HTTP/1.1 200 OK', 'Transfer-Encoding: CHUNKED'),
      'GET',
      CHUNKED,
      true,
    ],
    [
      'chunked last after gzip',
      head('HTTP/1.1 200 OK', 'Transfer-Encoding: gzip, chunked'),
      'GET',
      CHUNKED,
      true,
    ],
    [
      'chunked last across two fields',
      head('HTTP/1.1 200 OK', 'Transfer-Encoding: gzip', 'Transfer-Encoding: chunked'),
      'GET',
      CHUNKED,
      true,
    ],
    [
      'Transfer-Encoding: gzip (until close)',
      head('HTTP/1.1 200 OK', 'Transfer-Encoding: gzip'),
      'GET',
      CLOSE,
      false,
    ],
    [
      'chunked before gzip (until close)',
      head('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked, gzip'),
      'GET',
      CLOSE,
      false,
    ],
    [
      'chunked twice (until close)',
      head('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked, chunked'),
      'GET',
      CLOSE,
      false,
    ],
    [
      'an empty coding (until close)',
      head('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked,'),
      'GET',
      CLOSE,
      false,
    ],
    [
      'Content-Length and chunked (chunked wins, not reused)',
      head('HTTP/1.1 200 OK', 'Content-Length: 5', 'Transfer-Encoding: chunked'),
      'GET',
      CHUNKED,
      false,
    ],
    [
      'chunked and an invalid Content-Length (chunked wins, not reused)',
      head('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', 'Content-Length: abc'),
      'GET',
      CHUNKED,
      false,
    ],
    [
      'Content-Length and gzip (until close)',
      head('HTTP/1.1 200 OK', 'Content-Length: 5', 'Transfer-Encoding: gzip'),
      'GET',
      CLOSE,
      false,
    ],
    [
      'a HEAD response with a Content-Length',
      head('HTTP/1.1 200 OK', 'Content-Length: 5'),
      'HEAD',
      NONE,
      true,
    ],
    [
      'a HEAD response with chunked',
      head('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'),
      'HEAD',
      NONE,
      true,
    ],
    ['a HEAD response without length', head('HTTP/1.1 200 OK'), 'HEAD', NONE, true],
    ['100 Continue', head('HTTP/1.1 100 Continue'), 'POST', NONE, true],
    ['103 Early Hints', head('HTTP/1.1 103 Early Hints', 'Link: </a>'), 'GET', NONE, true],
    ['204 with a Content-Length', head('HTTP/1.1 204 No Content', 'Content-Length: 5'), 'GET', NONE, true],
    ['204 without length', head('HTTP/1.1 204 No Content'), 'GET', NONE, true],
    [
      '304 with a Content-Length',
      head('HTTP/1.1 304 Not Modified', 'Content-Length: 100'),
      'GET',
      NONE,
      true,
    ],
    ['304 with chunked', head('HTTP/1.1 304 Not Modified', 'Transfer-Encoding: chunked'), 'GET', NONE, true],
    ['205 (a body like any other)', head('HTTP/1.1 205 Reset Content'), 'GET', CLOSE, false],
    [
      'an HTTP/1.0 response with a length (not reused)',
      head('HTTP/1.0 200 OK', 'Content-Length: 5'),
      'GET',
      length(5),
      false,
    ],
    [
      'an HTTP/1.0 response with keep-alive (not reused)',
      head('HTTP/1.0 200 OK', 'Connection: keep-alive', 'Content-Length: 5'),
      'GET',
      length(5),
      false,
      ['keep-alive'],
    ],
    ['an HTTP/1.0 204 (not reused)', head('HTTP/1.0 204 No Content'), 'GET', NONE, false],
    [
      'Connection: close (not reused)',
      head('HTTP/1.1 200 OK', 'Connection: close', 'Content-Length: 5'),
      'GET',
      length(5),
      false,
      ['close'],
    ],
    [
      'Connection: Close among other tokens (not reused)',
      head('HTTP/1.1 200 OK', 'Connection: Keep-Alive, Close', 'Content-Length: 5'),
      'GET',
      length(5),
      false,
      ['close', 'keep-alive'],
    ],
    [
      'Connection: close on a 304 (not reused)',
      head('HTTP/1.1 304 Not Modified', 'Connection: close'),
      'GET',
      NONE,
      false,
      ['close'],
    ],
    [
      'Connection tokens lower-cased',
      head('HTTP/1.1 200 OK', 'Connection: X-Foo, Keep-Alive', 'Content-Length: 1'),
      'GET',
      length(1),
      true,
      ['keep-alive', 'x-foo'],
    ],
  ];
  for (const [what, text, method, framing, reusable, tokens = []] of cases) {
    test(`parseResponseHead() reads ${what} (${method})`, () => {
      const result = response(text, method);
      assert.ok(typeof result !== 'string', result as string);
      assert.deepEqual(
        { framing: result.framing, reusable: result.reusable, connectionTokens: result.connectionTokens },
        { framing, reusable, connectionTokens: tokens },
      );
    });
  }

  test('parseResponseHead() reads a whole head exactly', () => {
    assert.deepEqual(response(head('HTTP/1.1 201 Created', 'Location: /x', 'Content-Length: 2'), 'POST'), {
      minor: 1,
      status: 201,
      reason: 'Created',
      framing: length(2),
      reusable: true,
      connectionTokens: [],
    });
    const result = parseResponseHead(head('HTTP/1.1 200 OK', 'Content-Type:  text/plain ', 'X-E:'), 'GET');
    assert.ok(result.ok);
    assert.deepEqual(result.value.headers, [
      { name: 'Content-Type', lower: 'content-type', value: 'text/plain' },
      { name: 'X-E', lower: 'x-e', value: '' },
    ]);
  });
});

describe('parseResponseHead() refuses what two parsers could read differently', () => {
  const cases: [string, string, string][] = [
    [
      'two different Content-Lengths',
      head('HTTP/1.1 200 OK', 'Content-Length: 5', 'Content-Length: 6'),
      'invalid Content-Length from the destination',
    ],
    [
      'the same length written two ways',
      head('HTTP/1.1 200 OK', 'Content-Length: 5', 'Content-Length: 05'),
      'invalid Content-Length from the destination',
    ],
    [
      'a Content-Length list',
      head('HTTP/1.1 200 OK', 'Content-Length: 5, 5'),
      'invalid Content-Length from the destination',
    ],
    [
      'a Content-Length that is not a number',
      head('HTTP/1.1 200 OK', 'Content-Length: abc'),
      'invalid Content-Length from the destination',
    ],
    [
      'the same invalid Content-Length twice',
      head('HTTP/1.1 200 OK', 'Content-Length: abc', 'Content-Length: abc'),
      'invalid Content-Length from the destination',
    ],
    [
      'a negative Content-Length',
      head('HTTP/1.1 200 OK', 'Content-Length: -1'),
      'invalid Content-Length from the destination',
    ],
    [
      'an empty Content-Length',
      head('HTTP/1.1 200 OK', 'Content-Length:'),
      'invalid Content-Length from the destination',
    ],
    [
      'a Content-Length of 16 digits',
      head('HTTP/1.1 200 OK', 'Content-Length: 1000000000000000'),
      'invalid Content-Length from the destination',
    ],
    ['a folded line', head('HTTP/1.1 200 OK', 'X: a', ' b'), 'obsolete line folding'],
    ['whitespace before the first field', head('HTTP/1.1 200 OK', '\tX: a'), 'obsolete line folding'],
    ['whitespace before a colon', head('HTTP/1.1 200 OK', 'Content-Length : 5'), 'whitespace before a colon'],
    [
      'whitespace before the colon of Transfer-Encoding',
      head('HTTP/1.1 200 OK', 'Transfer-Encoding\t: chunked'),
      'whitespace before a colon',
    ],
    ['a bad field name', head('HTTP/1.1 200 OK', 'X/Y: a'), 'malformed header name'],
    ['a line without a colon', head('HTTP/1.1 200 OK', 'nonsense'), 'malformed header line'],
    ['an empty line inside the head', head('HTTP/1.1 200 OK', '', 'X: a'), 'malformed header line'],
    [
      'a bare LF between fields',
      head('HTTP/1.1 200 OK', 'X: a\nContent-Length: 5'),
      "invalid character in header 'X'",
    ],
    [
      'a bare CR between fields',
      head('HTTP/1.1 200 OK', 'X: a\rContent-Length: 5'),
      "invalid character in header 'X'",
    ],
    ['NUL in a value', head('HTTP/1.1 200 OK', 'X: a\x00'), "invalid character in header 'X'"],
  ];
  for (const [what, text, reason] of cases) {
    test(`parseResponseHead() refuses ${what}: ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseResponseHead(text, 'GET'), { ok: false, reason });
    });
  }

  test('parseResponseHead() refuses a malformed field even after HEAD, 204 and 304', () => {
    for (const [line, method] of [
      ['HTTP/1.1 200 OK', 'HEAD'],
      ['HTTP/1.1 204 No Content', 'GET'],
      ['HTTP/1.1 304 Not Modified', 'GET'],
    ] as const) {
      assert.deepEqual(parseResponseHead(head(line, 'X: a', ' b'), method), {
        ok: false,
        reason: 'obsolete line folding',
      });
    }
  });
});

describe('parseRequestHead() refuses a Connection header that names a framing header', () => {
  for (const name of ['Content-Length', 'transfer-encoding', 'Host']) {
    test(`Connection: keep-alive, ${name}`, () => {
      assert.equal(
        request(head('POST http://a.test/ HTTP/1.1', `Connection: keep-alive, ${name}`, 'Content-Length: 5')),
        `refused: Connection names '${name.toLowerCase()}'`,
      );
    });
  }
});
