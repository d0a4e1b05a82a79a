import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { plainResponse, requestHeadFor, responseHeadFor } from './forward.js';
import { parseRequestHead, parseResponseHead } from './head.js';

const lines = (...l: string[]) => `${l.join('\r\n')}\r\n\r\n`;

function requestHead(text: string) {
  const parsed = parseRequestHead(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
}

function responseHead(text: string, method = 'GET') {
  const parsed = parseResponseHead(text, method);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
}

describe('requestHeadFor() writes the head the destination gets', () => {
  test('origin form, Host from the checked authority, hop-by-hop dropped, framing from what was read, Via appended', () => {
    const head = requestHead(
      [
        'POST http://a.test:8080/x?y HTTP/1.1',
        'Host: other.test',
        'Connection: keep-alive, X-Hop',
        'X-Hop: 1',
        'Proxy-Authorization: secret',
        'Content-Length: 007',
        'Via: 1.0 client-proxy',
        'Accept: */*',
      ].join('\r\n'),
    );
    assert.equal(
      requestHeadFor(head, '/x?y', 'a.test:8080'),
      lines(
        'POST /x?y HTTP/1.1',
        'Host: a.test:8080',
        'Accept: */*',
        'Content-Length: 7',
        'Via: 1.0 client-proxy, 1.1 egress-router',
      ),
    );
  });

  test('a chunked body keeps its Transfer-Encoding as received', () => {
    const head = requestHead('POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: gzip, chunked');
    assert.equal(
      requestHeadFor(head, '/', 'a.test'),
      lines('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: gzip, chunked', 'Via: 1.1 egress-router'),
    );
  });
});

describe('responseHeadFor() writes the head the client gets', () => {
  test('a length written once, hop-by-hop and Connection-named headers dropped, even Connection: content-length', () => {
    const head = responseHead(
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\nConnection: content-length, x-a\r\nX-A: 1\r\nKeep-Alive: timeout=5\r\nETag: "e"',
    );
    assert.equal(
      responseHeadFor(head, false),
      lines('HTTP/1.1 200 OK', 'ETag: "e"', 'Content-Length: 5', 'Via: 1.1 egress-router'),
    );
  });

  test('chunked passes with its Transfer-Encoding; a Content-Length beside it is dropped', () => {
    const head = responseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9');
    assert.equal(
      responseHeadFor(head, true),
      lines('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', 'Via: 1.1 egress-router', 'Connection: close'),
    );
  });

  test('de-chunked for an HTTP/1.0 client: no Transfer-Encoding', () => {
    const head = responseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked');
    assert.equal(
      responseHeadFor(head, true, true),
      lines('HTTP/1.1 200 OK', 'Via: 1.1 egress-router', 'Connection: close'),
    );
  });

  test('the Content-Length of a HEAD response is kept, once', () => {
    const head = responseHead('HTTP/1.1 200 OK\r\nContent-Length: 50\r\nContent-Length: 50', 'HEAD');
    assert.equal(
      responseHeadFor(head, false),
      lines('HTTP/1.1 200 OK', 'Content-Length: 50', 'Via: 1.1 egress-router'),
    );
  });
});

describe('plainResponse() counts its body in bytes', () => {
  test('a body with non-ASCII text', () => {
    const response = plainResponse(403, "egress-router: denied by rule 1 '!*.bücher.test'\n", false);
    const text = response.toString('utf8');
    const [head, body] = text.split('\r\n\r\n') as [string, string];
    assert.match(head, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.equal(/content-length: (\d+)/.exec(head)?.[1], String(Buffer.byteLength(body)));
    assert.ok(!head.includes('connection: close'));
  });
});
