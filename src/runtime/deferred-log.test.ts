import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DeferredLog, type LogSink } from './deferred-log.js';

function recorder(): LogSink & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (fields: object, message: string) =>
    lines.push(`${level} ${message} ${JSON.stringify(fields)}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('DeferredLog', () => {
  test('queues until attached, then hands over the queue in order and logs straight through', () => {
    const log = new DeferredLog(true);
    log.debug({ step: 1 }, 'first');
    log.warn({ step: 2 }, 'second');
    const target = recorder();
    assert.equal(log.attached, false);
    log.attach(target);
    assert.equal(log.attached, true);
    log.info({ step: 3 }, 'third');
    log.error({ step: 4 }, 'fourth');
    assert.deepEqual(target.lines, [
      'debug first {"step":1}',
      'warn second {"step":2}',
      'info third {"step":3}',
      'error fourth {"step":4}',
    ]);
  });

  test('drops debug lines unless debug is on, before and after attaching', () => {
    const log = new DeferredLog(false);
    log.debug({}, 'dropped');
    log.info({}, 'kept');
    const target = recorder();
    log.attach(target);
    log.debug({}, 'dropped too');
    assert.deepEqual(target.lines, ['info kept {}']);
  });
});
