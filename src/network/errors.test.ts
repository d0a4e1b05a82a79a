import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AlreadyExistsError,
  errnoName,
  KernelErrnoError,
  LinkNotFoundError,
  MalformedMessageError,
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

  test('maps what the handle rejects with for a kernel errno, by its code', () => {
    const refused = new KernelErrnoError(19);
    assert.equal(refused.message, 'the kernel refused the request: ENODEV');
    const mapped = mapNetlinkError(refused, 'set interface index 9 up');
    assert.ok(mapped instanceof NoSuchDeviceError);
    assert.equal(mapped.message, 'set interface index 9 up: no such device (ENODEV)');
    assert.equal(mapped.cause, refused);
    assert.equal(mapNetlinkError(new KernelErrnoError(523), 'x').code, 'ERRNO_523');
  });

  test('errnoName() names errnos as Node does, either sign, ERRNO_<n> when unnamed', () => {
    assert.equal(errnoName(17), 'EEXIST');
    assert.equal(errnoName(-101), 'ENETUNREACH');
    assert.equal(errnoName(95), 'ENOTSUP');
    assert.equal(errnoName(523), 'ERRNO_523');
    assert.equal(errnoName(0), 'ERRNO_0');
  });

  test('MalformedMessageError says where, when it knows', () => {
    const error = new MalformedMessageError('truncated header: 5 bytes, not 16', 32);
    assert.equal(error.message, 'malformed netlink message at byte 32: truncated header: 5 bytes, not 16');
    assert.equal(error.code, 'ERR_NETLINK_MALFORMED');
    assert.equal(error.offset, 32);
    assert.ok(error instanceof NetworkError);
    assert.equal(new MalformedMessageError('x').message, 'malformed netlink message: x');
  });

  test('LinkNotFoundError names the interface', () => {
    const error = new LinkNotFoundError('macvlan0');
    assert.equal(error.message, "interface 'macvlan0' not found");
    assert.equal(error.code, 'ENODEV');
    assert.equal(error.ifname, 'macvlan0');
    assert.ok(error instanceof NoSuchDeviceError);
  });
});
