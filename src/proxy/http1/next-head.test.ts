import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { nextHead } from './next-head.js';

const b = (text: string) => Buffer.from(text, 'latin1');

/** Feeds the chunks as a connection reads them; the heads found, in order, and what is left. */
function heads(chunks: readonly Buffer[], max: number): { heads: string[]; tooLarge: boolean; left: number } {
  const found: string[] = [];
  let buffer: Buffer | undefined;
  for (const chunk of chunks) {
    buffer = buffer === undefined ? chunk : Buffer.concat([buffer, chunk]);
    for (;;) {
      if (buffer === undefined) break;
      const next = nextHead(buffer, max);
      if (next.kind === 'too-large') return { heads: found, tooLarge: true, left: 0 };
      if (next.kind === 'none') buffer = undefined;
      else if (next.kind === 'partial') {
        buffer = next.rest;
        break;
      } else {
        found.push(next.text);
        buffer = next.rest;
      }
    }
  }
  return { heads: found, tooLarge: false, left: buffer?.length ?? 0 };
}

describe('nextHead', () => {
  test('a head, its rest, empty lines before it dropped', () => {
    assert.deepEqual(nextHead(b('\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nGET'), 100), {
      kind: 'head',
      text: 'GET / HTTP/1.1\r\nHost: a',
      rest: b('GET'),
    });
    assert.deepEqual(nextHead(b('GET / HTTP/1.1\r\n\r\n'), 100), {
      kind: 'head',
      text: 'GET / HTTP/1.1',
      rest: undefined,
    });
    assert.deepEqual(nextHead(b('\r\n\r\n'), 100), { kind: 'none' });
    assert.deepEqual(nextHead(b('\r\nGET / HT'), 100), { kind: 'partial', rest: b('GET / HT') });
  });

  test('the limit counts the head without its final empty line, whole or not', () => {
    const head = 'GET / HTTP/1.1\r\nHost: a'; // 23 bytes
    assert.equal(nextHead(b(`${head}\r\n\r\n`), 23).kind, 'head');
    assert.equal(nextHead(b(`${head}\r\n\r\n`), 22).kind, 'too-large');
    assert.equal(nextHead(b(head), 23).kind, 'partial');
    assert.equal(nextHead(b(`${head}\r`), 23).kind, 'too-large', 'a partial head past the limit');
  });

  test('property: however the bytes are cut into reads, the same heads come out', () => {
    const line = fc.stringMatching(/^[A-Za-z0-9:/. -]{1,20}$/);
    const headText = fc.array(line, { minLength: 1, maxLength: 4 }).map((lines) => lines.join('\r\n'));
    const stream = fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), headText), {
      minLength: 1,
      maxLength: 5,
    });
    fc.assert(
      fc.property(stream, fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 30 }), (requests, cuts) => {
        const whole = b(requests.map(([blank, h]) => `${'\r\n'.repeat(blank)}${h}\r\n\r\n`).join(''));
        const chunks: Buffer[] = [];
        let at = 0;
        for (const cut of cuts) {
          if (at >= whole.length) break;
          chunks.push(whole.subarray(at, Math.min(whole.length, at + cut)));
          at += cut;
        }
        if (at < whole.length) chunks.push(whole.subarray(at));
        const expected = requests.map(([, h]) => h);
        assert.deepEqual(heads(chunks, 1_000), { heads: expected, tooLarge: false, left: 0 });
      }),
    );
  });
});
