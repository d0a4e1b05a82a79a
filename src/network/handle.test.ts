import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import type { RtNetlinkSocket } from 'netlink';
import { AlreadyExistsError, NetlinkClosedError, NetlinkTimeoutError } from './errors.js';
import { NetlinkHandle } from './handle.js';

/** A stand-in for the package's socket: its `socket` emits events and counts close() calls. */
function fakeSocket() {
  const inner = Object.assign(new EventEmitter(), { closes: 0, close: () => inner.closes++ });
  return { socket: inner, rt: { socket: inner } as unknown as RtNetlinkSocket };
}

const never = () => new Promise<never>(() => {});

describe('NetlinkHandle', () => {
  test('maps a rejection to a typed error naming the operation', async () => {
    const { rt } = fakeSocket();
    const handle = new NetlinkHandle(rt);
    await assert.rejects(
      handle.request('add thing', () => Promise.reject(new Error('Request rejected: EEXIST'))),
      (error: AlreadyExistsError) => {
        assert.ok(error instanceof AlreadyExistsError);
        assert.equal(error.message, 'add thing: already exists (EEXIST)');
        assert.equal((error.cause as Error).message, 'Request rejected: EEXIST');
        return true;
      },
    );
    assert.equal(handle.closed, false);
  });

  test('close is idempotent, fails requests in flight and refuses new ones', async () => {
    const { rt, socket } = fakeSocket();
    const handle = new NetlinkHandle(rt);
    const inFlight = handle.request('list things', never);
    handle.close();
    handle.close();
    assert.equal(socket.closes, 1);
    await assert.rejects(inFlight, (error: NetlinkClosedError) => {
      assert.ok(error instanceof NetlinkClosedError);
      assert.equal(error.code, 'ERR_NETLINK_CLOSED');
      assert.match(error.message, /^list things: /);
      return true;
    });
    await assert.rejects(handle.request('later', never), NetlinkClosedError);
  });

  test('a request without answer times out and closes the handle', async () => {
    const { rt, socket } = fakeSocket();
    const handle = new NetlinkHandle(rt, { timeoutMs: 30 });
    await assert.rejects(handle.request('get thing', never), (error: NetlinkTimeoutError) => {
      assert.ok(error instanceof NetlinkTimeoutError);
      assert.equal(error.code, 'ETIMEDOUT');
      assert.match(error.message, /^get thing: no answer within 30 ms/);
      return true;
    });
    assert.equal(handle.closed, true);
    assert.equal(socket.closes, 1);
  });

  test('a socket error fails the requests in flight instead of crashing', async () => {
    const { rt, socket } = fakeSocket();
    const handle = new NetlinkHandle(rt);
    const inFlight = handle.request('dump', never);
    socket.emit('error', Object.assign(new Error('recv failed'), { code: 'ENOBUFS' }));
    await assert.rejects(inFlight, { code: 'ENOBUFS' });
    handle.close();
  });
});
