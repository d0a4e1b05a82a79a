import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchedWriter, createLogger, fastInfo, fastInfoJson } from './logger.js';

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

describe('fastInfo() and fastInfoJson() write the lines log.info writes', () => {
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
        fastInfoJson(log)(JSON.stringify(fields).slice(1, -1), msg);
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(lines.length, 3);
        const [viaPino, viaFast, viaJson] = lines.map((line) => line.replace(/"time":\d+/, '"time":0'));
        assert.equal(viaFast, viaPino);
        assert.equal(viaJson, viaPino);
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

describe('BatchedWriter on a stdout pipe nobody reads for a while (non-blocking, EAGAIN)', () => {
  test('keeps order, bounds its backlog, says how many lines it dropped, and writes the rest at exit', async () => {
    // A child writes 60,000 lines of 200 bytes (12 MB: past the pipe and the 8 MiB backlog) to its
    // stdout, made non-blocking as Node makes a pipe it uses, then exits; the parent starts reading
    // only after a second.
    const logger = new URL('./logger.js', import.meta.url).href;
    const code = `
      process.stdout; // Node sets a pipe on fd 1 non-blocking once it is used
      const { BatchedWriter } = await import(${JSON.stringify(logger)});
      const writer = new BatchedWriter(1, 4096, 200);
      const pad = 'x'.repeat(180);
      for (let i = 0; i < 60000; i++) writer.write(JSON.stringify({ i, pad }) + '\\n');
      process.once('exit', () => writer.flushSync(2000));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    const chunks: Buffer[] = [];
    const ended = new Promise((resolve) => child.stdout.on('end', resolve));
    child.stdout.pause();
    await sleep(1000);
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdout.resume();
    const [status] = (await exited) as [number];
    await ended;
    assert.equal(status, 0);
    const lines = Buffer.concat(chunks)
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    const numbered = lines.filter((l) => typeof l.i === 'number').map((l) => l.i as number);
    const notes = lines.filter((l) => l.msg === 'log lines dropped: stdout was not read');
    const dropped = notes.reduce((sum, l) => sum + (l.dropped as number), 0);
    assert.ok(
      numbered.every((i, at) => at === 0 || i > numbered[at - 1]!),
      'in order',
    );
    assert.ok(dropped > 0, 'some lines were dropped');
    assert.equal(numbered.length + dropped, 60000, 'every line written or counted as dropped');
    assert.equal(numbered.at(-1), 59999, 'the last lines reach stdout at exit');
  });
});
