import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ChunkedScanner } from './chunked.js';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');

/** What one scanner says about `input` fed at once from `from`: the end, 'more', or the error. */
function scanOnce(input: Uint8Array | string, from = 0): number | 'more' | string {
  const scanner = new ChunkedScanner();
  const end = scanner.scan(typeof input === 'string' ? bytes(input) : input, from);
  if (end === -2) {
    assert.equal(scanner.done, false);
    assert.equal(typeof scanner.error, 'string');
    return `refused: ${scanner.error}`;
  }
  assert.equal(scanner.error, undefined);
  assert.equal(scanner.done, end >= 0);
  return end === -1 ? 'more' : end;
}

describe('ChunkedScanner finds where a chunked body ends', () => {
  const cases: [string, string, number][] = [
    ['one chunk', '5\r\nhello\r\n0\r\n\r\n', 15],
    ['two chunks', '5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n', 21],
    ['no data at all', '0\r\n\r\n', 5],
    ['a last chunk with leading zeros', '000\r\n\r\n', 7],
    ['a size with leading zeros', '0005\r\nhello\r\n0\r\n\r\n', 18],
    ['a size of 13 digits', '0000000000005\r\nhello\r\n0\r\n\r\n', 27],
    ['an upper-case hex size', `A\r\n${'x'.repeat(10)}\r\n0\r\n\r\n`, 20],
    ['a lower-case hex size', `a\r\n${'x'.repeat(10)}\r\n0\r\n\r\n`, 20],
    ['a mixed-case hex size', `1aF\r\n${'x'.repeat(0x1af)}\r\n0\r\n\r\n`, 5 + 0x1af + 7],
    ['an extension', '5;name=value\r\nhello\r\n0\r\n\r\n', 26],
    ['an extension without a value', '5;x\r\nhello\r\n0\r\n\r\n', 17],
    ['an empty extension', '5;\r\nhello\r\n0\r\n\r\n', 16],
    ['extensions with quotes, spaces and tabs', '5;a="b c";\td = e\r\nhello\r\n0;last\r\n\r\n', 35],
    ['obs-text in an extension', '5;n=\xe9\xff\r\nhello\r\n0\r\n\r\n', 20],
    ['a trailer', '0\r\nX-Sum: abc\r\n\r\n', 17],
    ['two trailers', '5\r\nhello\r\n0\r\nX-Sum: abc\r\nY: \tz\xe9\r\n\r\n', 35],
    ['data holding CRLF and a last chunk', '5\r\n0\r\n\r\n\r\n0\r\n\r\n', 15],
    ['data holding any byte', '3\r\n\x00\n\r\r\n0\r\n\r\n', 13],
  ];
  for (const [what, encoding, end] of cases) {
    test(`ChunkedScanner reads ${what}: ${JSON.stringify(encoding).slice(0, 80)}`, () => {
      assert.equal(end, encoding.length, 'the case itself');
      assert.equal(scanOnce(encoding), end);
    });
  }

  test('ChunkedScanner returns the index after the final CRLF and leaves the next bytes alone', () => {
    const body = '5\r\nhello\r\n0\r\n\r\n';
    for (const after of ['H', 'HTTP/1.1 200 OK\r\n\r\n', '\r\n', '5\r\nhello\r\n0\r\n\r\n']) {
      assert.equal(scanOnce(body + after), body.length, JSON.stringify(after));
    }
  });

  test('ChunkedScanner starts at from and returns an index into the same bytes', () => {
    const prefix = 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n';
    const body = '3\r\nabc\r\n0\r\n\r\n';
    assert.equal(scanOnce(`${prefix}${body}GET`, prefix.length), prefix.length + body.length);
  });

  test('ChunkedScanner needs more until the final CRLF has arrived, however it is cut', () => {
    const body = '5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n';
    for (let n = 0; n < body.length; n++) {
      assert.equal(scanOnce(body.slice(0, n)), 'more', `after ${n} bytes`);
    }
    assert.equal(scanOnce(body), body.length);
  });

  test('ChunkedScanner resumes across pieces, each scanned from 0', () => {
    const scanner = new ChunkedScanner();
    assert.equal(scanner.scan(bytes('5\r\nhe')), -1);
    assert.equal(scanner.done, false);
    assert.equal(scanner.scan(bytes('llo\r\n0\r')), -1);
    assert.equal(scanner.scan(bytes('\n\r')), -1);
    assert.equal(scanner.done, false);
    assert.equal(scanner.scan(bytes('\nnext')), 1);
    assert.equal(scanner.done, true);
    assert.equal(scanner.error, undefined);
  });

  test('ChunkedScanner, once done, takes no more bytes', () => {
    const scanner = new ChunkedScanner();
    assert.equal(scanner.scan(bytes('0\r\n\r\n')), 5);
    assert.equal(scanner.scan(bytes('5\r\nhello\r\n0\r\n\r\n')), 0);
    assert.equal(scanner.scan(bytes('abc'), 2), 2);
    assert.equal(scanner.done, true);
  });

  test('ChunkedScanner takes a size of 13 hex digits and reads the data of a large chunk', () => {
    const scanner = new ChunkedScanner();
    assert.equal(scanner.scan(bytes('0000000100000\r\n')), -1);
    const megabyte = new Uint8Array(0x100000).fill(0x0a);
    assert.equal(scanner.scan(megabyte), -1);
    assert.equal(scanner.scan(bytes('\r\n0\r\n\r\n')), 7);
  });
});

describe('ChunkedScanner refuses what two parsers could read differently', () => {
  const cases: [string, string, string][] = [
    // Chunk sizes.
    ['a size that is not hex', 'g\r\nhello\r\n0\r\n\r\n', 'malformed chunk size'],
    ['a hex size with a bad digit', '5g\r\nhello\r\n0\r\n\r\n', 'malformed chunk size'],
    ['no size', '\r\nhello\r\n0\r\n\r\n', 'malformed chunk size'],
    ['a size starting with an extension', ';e\r\n', 'malformed chunk size'],
    ['a space before the CRLF of a size', '5 \r\nhello\r\n0\r\n\r\n', 'malformed chunk size'],
    ['a tab before the CRLF of a size', '5\t\r\nhello\r\n0\r\n\r\n', 'malformed chunk size'],
    ['a space before a size', ' 5\r\nhello\r\n0\r\n\r\n', 'malformed chunk size'],
    ['a space before an extension', '5 ;e\r\nhello\r\n0\r\n\r\n', 'malformed chunk size'],
    ['a signed size', '+5\r\nhello\r\n0\r\n\r\n', 'malformed chunk size'],
    ['a negative size', '-5\r\nhello\r\n0\r\n\r\n', 'malformed chunk size'],
    ['a 0x size', '0x5\r\nhello\r\n0\r\n\r\n', 'malformed chunk size'],
    ['a space in the last chunk', '0 \r\n\r\n', 'malformed chunk size'],
    ['14 size digits', '00000000000005\r\nhello\r\n0\r\n\r\n', 'chunk size too large'],
    ['a size past 2^52', 'FFFFFFFFFFFFFF\r\n', 'chunk size too large'],
    ['14 digits in the last chunk', '00000000000000\r\n\r\n', 'chunk size too large'],
    // Bare LF and CR.
    ['a bare LF after a size', '5\nhello\r\n0\r\n\r\n', 'malformed chunk size'],
    ['a bare LF after an extension', '5;e\nhello\r\n0\r\n\r\n', 'invalid character in a chunk extension'],
    ['a bare CR after a size', '5\rhello\r\n0\r\n\r\n', 'bare CR after a chunk size'],
    ['CR CR after a size', '5\r\rhello\r\n0\r\n\r\n', 'bare CR after a chunk size'],
    ['a bare LF after data', '5\r\nhello\n0\r\n\r\n', 'chunk data longer than its size'],
    ['a bare CR after data', '5\r\nhello\r0\r\n\r\n', 'bare CR after chunk data'],
    ['a bare LF after the last chunk', '0\n\r\n', 'malformed chunk size'],
    ['a bare LF as the final line', '0\r\n\n', 'malformed trailer'],
    ['a bare CR as the final line', '0\r\n\rX', 'bare CR at the end of a chunked body'],
    ['CR CR as the final line', '0\r\n\r\r\n', 'bare CR at the end of a chunked body'],
    ['a bare LF after a trailer', '0\r\nX: y\n\r\n', 'invalid character in a trailer'],
    ['a bare CR after a trailer', '0\r\nX: y\rZ: w\r\n\r\n', 'bare CR in a trailer'],
    // Chunk data.
    ['data longer than its size', '3\r\nhello\r\n0\r\n\r\n', 'chunk data longer than its size'],
    [
      'data shorter than its size (the CR taken as data)',
      '6\r\nhello\r\n0\r\n\r\n',
      'chunk data longer than its size',
    ],
    ['data ending without CRLF', '5\r\nhello0\r\n\r\n', 'chunk data longer than its size'],
    // Chunk extensions.
    ['NUL in an extension', '5;a\x00\r\nhello\r\n0\r\n\r\n', 'invalid character in a chunk extension'],
    [
      'a control character in an extension',
      '5;a=\x01\r\nhello\r\n0\r\n\r\n',
      'invalid character in a chunk extension',
    ],
    ['DEL in an extension', '5;a\x7f\r\nhello\r\n0\r\n\r\n', 'invalid character in a chunk extension'],
    ['ESC in the last extension', '0;\x1b\r\n\r\n', 'invalid character in a chunk extension'],
    ['an extension of 4097 bytes', `5;${'e'.repeat(4097)}\r\nhello\r\n0\r\n\r\n`, 'chunk extension too long'],
    // Trailers.
    ['a trailer starting with a space (folding)', '0\r\n X: y\r\n\r\n', 'malformed trailer'],
    ['a trailer starting with a tab (folding)', '0\r\n\tX: y\r\n\r\n', 'malformed trailer'],
    ['a folded trailer line', '0\r\nX: y\r\n z\r\n\r\n', 'malformed trailer'],
    ['a trailer starting with NUL', '0\r\n\x00X: y\r\n\r\n', 'malformed trailer'],
    ['NUL in a trailer', '0\r\nX: y\x00\r\n\r\n', 'invalid character in a trailer'],
    ['DEL in a trailer', '0\r\nX: \x7f\r\n\r\n', 'invalid character in a trailer'],
    ['trailers of 16385 bytes', `0\r\nX: ${'t'.repeat(16_382)}\r\n\r\n`, 'trailers too long'],
    [
      'trailers of 16385 bytes over many lines',
      `0\r\n${`X: ${'t'.repeat(97)}\r\n`.repeat(163)}Y: ${'t'.repeat(82)}\r\n\r\n`,
      'trailers too long',
    ],
  ];
  for (const [what, encoding, error] of cases) {
    test(`ChunkedScanner refuses ${what}: ${JSON.stringify(encoding).slice(0, 80)}`, () => {
      assert.equal(scanOnce(encoding), `refused: ${error}`);
    });
  }

  test('ChunkedScanner takes the longest extension and trailers allowed', () => {
    const longest = [
      `5;${'e'.repeat(4096)}\r\nhello\r\n0;${'e'.repeat(4096)}\r\n\r\n`,
      `0\r\nX: ${'t'.repeat(16_381)}\r\n\r\n`,
      // The extension limit is per chunk.
      `1;${'e'.repeat(3000)}\r\na\r\n1;${'e'.repeat(3000)}\r\nb\r\n0\r\n\r\n`,
    ];
    for (const encoding of longest) assert.equal(scanOnce(encoding), encoding.length);
  });

  test('ChunkedScanner keeps refusing once it has refused', () => {
    const scanner = new ChunkedScanner();
    assert.equal(scanner.scan(bytes('5\r\nhel')), -1);
    assert.equal(scanner.scan(bytes('lo!\r\n')), -2);
    assert.equal(scanner.error, 'chunk data longer than its size');
    assert.equal(scanner.scan(bytes('\r\n0\r\n\r\n')), -2);
    assert.equal(scanner.scan(bytes('')), -2);
    assert.equal(scanner.done, false);
    assert.equal(scanner.error, 'chunk data longer than its size');
  });
});

// Property tests: valid encodings built from random chunks, extensions and trailers.

const FIELD_BYTE = fc.oneof(
  fc.constant(0x09),
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0x80, max: 0xff }),
);
const FIELD_START = fc.oneof(fc.integer({ min: 0x21, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }));

const extensionArb = fc.option(fc.array(FIELD_BYTE, { maxLength: 12 }), { nil: undefined });
const sizeForm = { zeros: fc.integer({ min: 0, max: 3 }), upper: fc.boolean(), extension: extensionArb };

const encodingArb = fc.record({
  chunks: fc.array(fc.record({ data: fc.uint8Array({ minLength: 1, maxLength: 40 }), ...sizeForm }), {
    maxLength: 6,
  }),
  last: fc.record(sizeForm),
  trailers: fc.array(fc.tuple(FIELD_START, fc.array(FIELD_BYTE, { maxLength: 12 })), { maxLength: 3 }),
  after: fc.uint8Array({ maxLength: 16 }),
});

interface Encoded {
  /** The encoding followed by the bytes after it. */
  readonly bytes: Uint8Array;
  /** Where the encoding ends. */
  readonly end: number;
  /** The index of the CR of every CRLF that frames the body (not the CRLFs inside chunk data). */
  readonly framingCrs: readonly number[];
}

type Parts = typeof encodingArb extends fc.Arbitrary<infer T> ? T : never;

function encode({ chunks, last, trailers, after }: Parts): Encoded {
  const out: number[] = [];
  const framingCrs: number[] = [];
  const crlf = () => {
    framingCrs.push(out.length);
    out.push(0x0d, 0x0a);
  };
  const sizeLine = (
    size: number,
    form: { zeros: number; upper: boolean; extension: number[] | undefined },
  ) => {
    const hex = size.toString(16);
    out.push(...bytes('0'.repeat(form.zeros) + (form.upper ? hex.toUpperCase() : hex)));
    if (form.extension !== undefined) out.push(0x3b, ...form.extension);
    crlf();
  };
  for (const chunk of chunks) {
    sizeLine(chunk.data.length, chunk);
    out.push(...chunk.data);
    crlf();
  }
  sizeLine(0, last);
  for (const [first, rest] of trailers) {
    out.push(first, ...rest);
    crlf();
  }
  crlf();
  const end = out.length;
  out.push(...after);
  return { bytes: Uint8Array.from(out), end, framingCrs };
}

/** Cuts `input` at the given points (taken modulo its length + 1), empty pieces included. */
function cut(input: Uint8Array, points: readonly number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (input.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const p of at) {
    pieces.push(input.subarray(from, p));
    from = p;
  }
  pieces.push(input.subarray(from));
  return pieces;
}

/** What a scanner says about `input` fed one byte at a time: the end, 'more', or the error. */
function scanByteByByte(input: Uint8Array): number | 'more' | string {
  const scanner = new ChunkedScanner();
  for (let i = 0; i < input.length; i++) {
    // The bytes so far, scanned from the new one: the index returned is into all of them.
    const end = scanner.scan(input.subarray(0, i + 1), i);
    if (end === -2) return `refused: ${scanner.error}`;
    if (end !== -1) return end;
  }
  return 'more';
}

describe('ChunkedScanner properties', () => {
  test('a valid encoding fed in random pieces ends exactly where it ends, the bytes after it left alone', () => {
    fc.assert(
      fc.property(encodingArb, fc.array(fc.nat(), { maxLength: 12 }), (parts, points) => {
        const { bytes: input, end } = encode(parts);
        const scanner = new ChunkedScanner();
        let offset = 0;
        for (const piece of cut(input, points)) {
          const result = scanner.scan(piece, 0);
          if (result === -1) {
            assert.equal(scanner.done, false);
            assert.ok(offset + piece.length < end, `needs more after ${offset + piece.length} of ${end}`);
            offset += piece.length;
            continue;
          }
          assert.ok(result >= 0 && result <= piece.length, `returned ${result} (${scanner.error})`);
          assert.equal(offset + result, end);
          assert.equal(scanner.done, true);
          assert.equal(scanner.error, undefined);
          return;
        }
        assert.fail('the end was not found');
      }),
      { numRuns: 300 },
    );
  });

  test('a valid encoding scanned from an offset ends at the offset plus its length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20 }), encodingArb, (before, parts) => {
        const { bytes: encoded, end } = encode(parts);
        const input = new Uint8Array(before.length + encoded.length);
        input.set(before);
        input.set(encoded, before.length);
        assert.equal(scanOnce(input, before.length), before.length + end);
      }),
      { numRuns: 100 },
    );
  });

  test('a valid encoding fed one byte at a time ends where it ends fed at once', () => {
    fc.assert(
      fc.property(encodingArb, (parts) => {
        const { bytes: input, end } = encode(parts);
        assert.equal(scanOnce(input), end);
        assert.equal(scanByteByByte(input), end);
      }),
      { numRuns: 200 },
    );
  });

  test('any input, valid or not, fed one byte at a time reads as it reads fed at once', () => {
    const mutated = fc
      .tuple(encodingArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }))
      .map(([parts, changes]) => {
        const input = encode(parts).bytes;
        for (const [at, value] of changes) input[at % input.length] = value;
        return input;
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 40 })), (input) => {
        assert.deepEqual(scanByteByByte(input), scanOnce(input));
      }),
      { numRuns: 300 },
    );
  });

  test('changing one byte of a framing CRLF is always refused: never an end, never a need for more', () => {
    // Every framing CR and LF is a byte the scanner demands exactly (after data, after a size, at
    // the end), or a CR ending a line of field bytes that an LF follows; an LF is never a field
    // byte. So one changed byte there fails at that byte or at the LF after it, which is inside
    // the encoding: the scanner cannot need more, nor find an end, anywhere.
    fc.assert(
      fc.property(
        encodingArb,
        fc.nat(),
        fc.boolean(),
        fc.integer({ min: 1, max: 255 }),
        (parts, which, lf, delta) => {
          const { bytes: input, framingCrs } = encode(parts);
          const at = framingCrs[which % framingCrs.length]! + (lf ? 1 : 0);
          input[at] = (input[at]! + delta) % 256;
          const result = scanOnce(input);
          assert.equal(typeof result, 'string');
          assert.match(result as string, /^refused: /);
          assert.equal(scanByteByByte(input), result);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('changing one byte of any CRLF never moves the end: refused, or the same end', () => {
    // A CRLF inside chunk data is only data: changing it changes nothing the scanner reads.
    fc.assert(
      fc.property(
        encodingArb,
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.boolean(),
        fc.integer({ min: 1, max: 255 }),
        (parts, crlfData, which, lf, delta) => {
          const withCrlf = { ...parts, chunks: [...parts.chunks] };
          withCrlf.chunks.push({
            data: Uint8Array.from([...crlfData, 0x0d, 0x0a]),
            zeros: 0,
            upper: false,
            extension: undefined,
          });
          const { bytes: input, end } = encode(withCrlf);
          const crs: number[] = [];
          for (let i = 0; i + 1 < end; i++) if (input[i] === 0x0d && input[i + 1] === 0x0a) crs.push(i);
          const at = crs[which % crs.length]! + (lf ? 1 : 0);
          input[at] = (input[at]! + delta) % 256;
          const result = scanOnce(input);
          assert.ok(
            result === end || (typeof result === 'string' && result.startsWith('refused: ')),
            `${result}`,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
