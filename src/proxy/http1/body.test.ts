import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BodyReader } from './body.js';

const bytes = (text: string) => Buffer.from(text, 'latin1');

describe('BodyReader', () => {
  test('no body: ended at once, takes nothing (the bytes are the next message)', () => {
    const body = new BodyReader({ kind: 'none' });
    assert.equal(body.ended, true);
    assert.equal(body.take(bytes('GET / HTTP/1.1\r\n')), 0);
    assert.equal(body.bytes, 0);
  });

  test('Content-Length over several reads: takes up to the length, ends there, counts the bytes', () => {
    const body = new BodyReader({ kind: 'length', length: 10 });
    assert.equal(body.take(bytes('hello')), 5);
    assert.equal(body.ended, false);
    assert.equal(body.take(bytes('worldGET /next')), 5);
    assert.equal(body.ended, true);
    assert.equal(body.bytes, 10);
    assert.equal(body.take(bytes('more')), 0);
  });

  test('chunked: ends after the last chunk, counts the data without its framing', () => {
    const body = new BodyReader({ kind: 'chunked' });
    assert.equal(body.take(bytes('5\r\nhel')), 6);
    assert.equal(body.ended, false);
    const rest = bytes('lo\r\n0\r\n\r\nNEXT');
    assert.equal(body.take(rest), rest.length - 4);
    assert.equal(body.ended, true);
    assert.equal(body.bytes, 5);
  });

  test('chunked and malformed: -1, the scanner says why', () => {
    const body = new BodyReader({ kind: 'chunked' });
    assert.equal(body.take(bytes('zz\r\n')), -1);
    assert.equal(body.chunked?.error, 'malformed chunk size');
    assert.equal(body.ended, false);
  });

  test('framed by the close: every byte is body, it never ends here', () => {
    const body = new BodyReader({ kind: 'close' });
    assert.equal(body.take(bytes('abc')), 3);
    assert.equal(body.take(bytes('HTTP/1.1 200 OK\r\n')), 17);
    assert.equal(body.ended, false);
    assert.equal(body.bytes, 20);
  });
});
