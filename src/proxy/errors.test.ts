import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectErrorCode, ProxyError, type ProxyErrorCode, statusFor } from './errors.js';

describe('statusFor()', () => {
  const cases: [ProxyErrorCode, number][] = [
    ['BAD_REQUEST', 400],
    ['DENIED', 403],
    ['SELF', 403],
    ['NAME_NOT_RESOLVED', 502],
    ['CONNECT_REFUSED', 502],
    ['UNREACHABLE', 502],
    ['UPSTREAM_ERROR', 502],
    ['CONNECT_TIMEOUT', 504],
    ['RESPONSE_TIMEOUT', 504],
  ];
  for (const [code, status] of cases) {
    test(`statusFor() maps ${code} to ${status}`, () => {
      assert.equal(statusFor(code), status);
    });
  }
});

describe('connectErrorCode()', () => {
  const cases: [string | undefined, ProxyErrorCode][] = [
    ['ECONNREFUSED', 'CONNECT_REFUSED'],
    ['ETIMEDOUT', 'CONNECT_TIMEOUT'],
    ['EHOSTUNREACH', 'UNREACHABLE'],
    ['ENETUNREACH', 'UNREACHABLE'],
    ['EADDRNOTAVAIL', 'UNREACHABLE'],
    ['ECONNRESET', 'UPSTREAM_ERROR'],
    ['EPIPE', 'UPSTREAM_ERROR'],
    [undefined, 'UPSTREAM_ERROR'],
  ];
  for (const [errno, code] of cases) {
    test(`connectErrorCode() classifies ${errno ?? 'an error without a code'} as ${code}`, () => {
      const error: NodeJS.ErrnoException = new Error('x');
      if (errno !== undefined) error.code = errno;
      assert.equal(connectErrorCode(error), code);
    });
  }
});

test('ProxyError keeps its code, message and cause', () => {
  const cause = new Error('connect ECONNREFUSED');
  const error = new ProxyError('CONNECT_REFUSED', 'connecting to 203.0.113.1:80 failed: ECONNREFUSED', {
    cause,
  });
  assert.equal(error.name, 'ProxyError');
  assert.equal(error.code, 'CONNECT_REFUSED');
  assert.equal(error.message, 'connecting to 203.0.113.1:80 failed: ECONNREFUSED');
  assert.equal(error.cause, cause);
  assert.ok(error instanceof Error);
});
