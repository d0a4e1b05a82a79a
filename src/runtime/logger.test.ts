import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { BatchedWriter, createLogger, fastInfo } from './logger.js';

/** A logger writing into an array of lines. */
function capture(debug: boolean): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, log: createLogger({ debug, name: 'egress-test', destination }) };
}

describe('fastInfo() writes the lines log.info writes', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'a request line',
      { kind: 'http', client: '10.0.0.1', status: 200, bytes_in: 0, rule: undefined },
      'request',
    ],
    ['no fields', {}, 'stopped'],
    [
      'quotes, unicode and nesting',
      { host: 'a"b\\c', note: 'ü\n', list: [1, 'x'], nested: { a: null } },
      'msg "q"',
    ],
  ];
  for (const debug of [false, true]) {
    for (const [what, fields, msg] of cases) {
      test(`${what}${debug ? ' (debug level)' : ''}`, async () => {
        const { lines, log } = capture(debug);
        log.info(fields, msg);
        fastInfo(log)(fields, msg);
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(lines.length, 2);
        const [viaPino, viaFast] = lines.map((line) => line.replace(/"time":\d+/, '"time":0'));
        assert.equal(viaFast, viaPino);
      });
    }
  }
});

describe('BatchedWriter writes lines in batches, in order', () => {
  test('held until minLength or a flush, then written together', () => {
    const dir = mkdtempSync(join(tmpdir(), 'batched-'));
    const path = join(dir, 'log');
    const fd = openSync(path, 'w');
    try {
      const writer = new BatchedWriter(fd, 20, 60_000);
      writer.write('one\n');
      writer.write('two\n');
      assert.equal(readFileSync(path, 'utf8'), '', 'held');
      writer.write('a line past the batch size\n');
      assert.equal(readFileSync(path, 'utf8'), 'one\ntwo\na line past the batch size\n');
      writer.write('ü last\n');
      writer.flushSync();
      assert.equal(readFileSync(path, 'utf8'), 'one\ntwo\na line past the batch size\nü last\n');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
