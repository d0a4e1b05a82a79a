import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  failureOf,
  formatHostPort,
  normalizeAddress,
  parseEchoReply,
  parseRequestResult,
  splitHostPort,
} from './echo-protocol.js';

describe('echo protocol', () => {
  it('unmaps IPv4-mapped addresses and leaves others alone', () => {
    assert.equal(normalizeAddress('::ffff:192.168.12.99'), '192.168.12.99');
    assert.equal(normalizeAddress('2001:db8::1'), '2001:db8::1');
    assert.equal(normalizeAddress('10.0.0.1'), '10.0.0.1');
  });

  it('formats and splits host:port, bracketing IPv6', () => {
    assert.equal(formatHostPort('203.0.113.25', 80), '203.0.113.25:80');
    assert.equal(formatHostPort('2001:db8:113::25', 80), '[2001:db8:113::25]:80');
    assert.deepEqual(splitHostPort('[2001:db8:113::25]:80'), { address: '2001:db8:113::25', port: 80 });
    assert.deepEqual(splitHostPort('203.0.113.25:53'), { address: '203.0.113.25', port: 53 });
    assert.equal(splitHostPort('2001:db8::1:80'), undefined);
    assert.equal(splitHostPort('host:80'), undefined);
    assert.equal(splitHostPort('1.2.3.4:70000'), undefined);
  });

  it('parses replies and results strictly', () => {
    const reply = { local: '203.0.113.25:80', peer: '192.168.12.99', proto: 'tcp' };
    assert.deepEqual(parseEchoReply(`${JSON.stringify(reply)}\nmore`), reply);
    assert.equal(parseEchoReply('{"local":"x","peer":"y","proto":"sctp"}'), undefined);
    assert.equal(parseEchoReply('not json'), undefined);
    assert.deepEqual(parseRequestResult(JSON.stringify({ ok: true, reply })), { ok: true, reply });
    assert.deepEqual(parseRequestResult('{"ok":false,"failure":"timeout","message":"m"}\n'), {
      ok: false,
      failure: 'timeout',
      message: 'm',
    });
    assert.equal(parseRequestResult('{"ok":false,"failure":"weird"}'), undefined);
    assert.equal(parseRequestResult(''), undefined);
  });

  it('maps errno names to failures', () => {
    assert.equal(failureOf('ECONNREFUSED'), 'refused');
    assert.equal(failureOf('EHOSTUNREACH'), 'unreachable');
    assert.equal(failureOf('ENETUNREACH'), 'unreachable');
    assert.equal(failureOf('ECONNRESET'), 'reset');
    assert.equal(failureOf(undefined), 'error');
  });
});
