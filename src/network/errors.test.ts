import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AlreadyExistsError,
  LinkNotFoundError,
  mapNetlinkError,
  NetlinkError,
  NetlinkTimeoutError,
  NetworkError,
  NetworkUnreachableError,
  NoSuchDeviceError,
  PermissionDeniedError,
} from './errors.js';

describe('mapNetlinkError', () => {
  test('maps the errno names netlink@0.3.0 puts in its messages, keeping the original as cause', () => {
    const cases: [string, new (...args: never[]) => NetlinkError, string][] = [
      ['EEXIST', AlreadyExistsError, 'EEXIST'],
      ['ENODEV', NoSuchDeviceError, 'ENODEV'],
      ['EPERM', PermissionDeniedError, 'EPERM'],
      ['EACCES', PermissionDeniedError, 'EACCES'],
      ['ENETUNREACH', NetworkUnreachableError, 'ENETUNREACH'],
      ['EBUSY', NetlinkError, 'EBUSY'],
    ];
    for (const [errno, type, code] of cases) {
      const original = new Error(`Request rejected: ${errno}`);
      const mapped = mapNetlinkError(original, 'do something');
      assert.ok(mapped instanceof type, errno);
      assert.ok(mapped instanceof NetworkError);
      assert.equal(mapped.code, code);
      assert.equal(mapped.cause, original);
      assert.match(mapped.message, new RegExp(`^do something: .*\\(${code}\\)$`));
    }
  });

  test('an unnamed errno, a timeout, an errno exception, anything else', () => {
    assert.equal(mapNetlinkError(new Error('Request rejected: -523'), 'x').code, 'ERRNO_523');
    const timeout = mapNetlinkError(new Error('Timeout has been reached'), 'x', 250);
    assert.ok(timeout instanceof NetlinkTimeoutError);
    assert.equal(timeout.code, 'ETIMEDOUT');
    assert.match(timeout.message, /250 ms/);
    const errno = Object.assign(new Error('send failed'), { code: 'ENOBUFS' });
    assert.equal(mapNetlinkError(errno, 'x').code, 'ENOBUFS');
    assert.equal(mapNetlinkError('weird', 'x').code, 'ERR_NETLINK');
    const already = new AlreadyExistsError('y');
    assert.equal(mapNetlinkError(already, 'x'), already);
  });

  test('LinkNotFoundError names the interface', () => {
    const error = new LinkNotFoundError('macvlan0');
    assert.equal(error.message, "interface 'macvlan0' not found");
    assert.equal(error.code, 'ENODEV');
    assert.equal(error.ifname, 'macvlan0');
    assert.ok(error instanceof NoSuchDeviceError);
  });
});
