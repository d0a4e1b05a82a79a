import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  KernelErrnoError,
  NetlinkClosedError,
  NetlinkError,
  NetlinkTimeoutError,
} from './errors.js';
import { NetlinkHandle, type NetlinkTransport } from './handle.js';
import {
  concat,
  decodeMessages,
  encodeMessage,
  encodeStringAttribute,
  type NetlinkMessage,
  type NetlinkRequest,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
} from './nlmsg.js';
import { dumpLinksRequest, getLinkRequest, IFLA_IFNAME, RTM_NEWLINK, setLinkUpRequest } from './rtnetlink.js';
import { decodeLink } from './rtnetlink-decode.js';

/** What the fake kernel sends back for one request: datagrams (each a list of messages), or nothing. */
type Answer = (request: NetlinkMessage) => Uint8Array[][];

/** A stand-in for the raw socket: answers like the kernel would, records refs, sends and closes. */
class FakeKernel extends EventEmitter implements NetlinkTransport {
  readonly sent: NetlinkMessage[] = [];
  referenced = true;
  closes = 0;
  sendError: Error | undefined;
  constructor(readonly answer: Answer) {
    super();
  }
  send(message: Uint8Array, _options: undefined, callback: (error?: Error) => void): void {
    const [request] = decodeMessages(message);
    this.sent.push(request!);
    setImmediate(() => {
      callback(this.sendError);
      if (this.sendError !== undefined) return;
      for (const datagram of this.answer(request!)) {
        this.emit('message', Buffer.from(concat(datagram)), { port: 0 });
      }
    });
  }
  close(): void {
    this.closes++;
  }
  ref(): void {
    this.referenced = true;
  }
  unref(): void {
    this.referenced = false;
  }
}

function reply(request: NetlinkMessage, type: number, payload: Uint8Array, flags = 0): Uint8Array {
  return encodeMessage({ type, flags, seq: request.seq, pid: 4242, payload });
}

/** NLMSG_ERROR: errno 0 is the acknowledgement. */
function ack(request: NetlinkMessage, errno = 0): Uint8Array {
  const payload = new Uint8Array(20);
  new DataView(payload.buffer).setInt32(0, -errno, true);
  payload.set(encodeMessage({ ...request, payload: new Uint8Array() }).subarray(0, 16), 4);
  return reply(request, NLMSG_ERROR, payload);
}

function done(request: NetlinkMessage, errno = 0): Uint8Array {
  const payload = new Uint8Array(4);
  new DataView(payload.buffer).setInt32(0, -errno, true);
  return reply(request, NLMSG_DONE, payload, NLM_F_MULTI);
}

function link(request: NetlinkMessage, index: number, name: string, flags = 0): Uint8Array {
  const header = new Uint8Array(16);
  new DataView(header.buffer).setInt32(4, index, true);
  return reply(request, RTM_NEWLINK, concat([header, encodeStringAttribute(IFLA_IFNAME, name)]), flags);
}

const never: Answer = () => [];
const changeRequest = (): NetlinkRequest => setLinkUpRequest(3);

describe('NetlinkHandle', () => {
  test('collects a dump over several datagrams up to NLMSG_DONE, skipping what is not its answer', async () => {
    const kernel = new FakeKernel((request) => [
      [
        link(request, 1, 'lo', NLM_F_MULTI),
        link({ ...request, seq: request.seq + 7 }, 9, 'other', NLM_F_MULTI),
      ],
      [link(request, 2, 'v0', NLM_F_MULTI)],
      [done(request)],
    ]);
    const handle = new NetlinkHandle(kernel);
    const links = await handle.request('list things', dumpLinksRequest, decodeLink);
    assert.deepEqual(
      links.map((l) => [l.index, l.name]),
      [
        [1, 'lo'],
        [2, 'v0'],
      ],
    );
    assert.equal(kernel.sent[0]!.flags, NLM_F_DUMP | NLM_F_REQUEST | NLM_F_ACK);
    assert.equal(kernel.sent[0]!.seq, 1);
    handle.close();
  });

  test('a request is done at its acknowledgement: the answer before it, nothing for a change', async () => {
    const kernel = new FakeKernel((request) =>
      request.flags & NLM_F_DUMP ? [] : [[link(request, 3, 'v0')], [ack(request)]],
    );
    const handle = new NetlinkHandle(kernel);
    const [v0] = await handle.request('look up v0', () => getLinkRequest({ name: 'v0' }), decodeLink);
    assert.equal(v0?.name, 'v0');
    const changeKernel = new FakeKernel((request) => [[ack(request)]]);
    const change = new NetlinkHandle(changeKernel);
    assert.deepEqual(await change.request('set up', changeRequest), []);
    assert.equal(changeKernel.sent[0]!.flags, NLM_F_REQUEST | NLM_F_ACK);
    handle.close();
    change.close();
  });

  test('an answer from a port other than the kernel is ignored', async () => {
    const kernel = new FakeKernel(never);
    const handle = new NetlinkHandle(kernel, { timeoutMs: 1000 });
    const result = handle.request('set up', changeRequest);
    await new Promise((resolve) => setImmediate(resolve));
    const request = kernel.sent[0]!;
    kernel.emit('message', Buffer.from(ack(request, 1)), { port: 77 });
    kernel.emit('message', Buffer.from(ack(request)), { port: 0 });
    assert.deepEqual(await result, []);
    handle.close();
  });

  test('maps a kernel errno to a typed error naming the operation', async () => {
    const handle = new NetlinkHandle(new FakeKernel((request) => [[ack(request, 17)]]));
    await assert.rejects(handle.request('add thing', changeRequest), (error: AlreadyExistsError) => {
      assert.ok(error instanceof AlreadyExistsError);
      assert.equal(error.message, 'add thing: already exists (EEXIST)');
      assert.ok(error.cause instanceof KernelErrnoError);
      assert.equal(error.cause.message, 'the kernel refused the request: EEXIST');
      assert.equal(error.cause.errno, 17);
      return true;
    });
    assert.equal(handle.closed, false);
    handle.close();
  });

  test('an errno Node has no name for, and a dump that ends in an error', async () => {
    const unnamed = new NetlinkHandle(new FakeKernel((request) => [[ack(request, 523)]]));
    await assert.rejects(unnamed.request('x', changeRequest), { name: 'NetlinkError', code: 'ERRNO_523' });
    const interrupted = new NetlinkHandle(
      new FakeKernel((request) => [[link(request, 1, 'lo', NLM_F_MULTI), done(request, 4)]]),
    );
    await assert.rejects(interrupted.request('dump', dumpLinksRequest, decodeLink), {
      code: 'EINTR',
      message: 'dump: the kernel refused the request: EINTR (EINTR)',
    });
    unnamed.close();
    interrupted.close();
  });

  test('an answer that does not decode is a typed ERR_NETLINK_MALFORMED, not a crash', async () => {
    const garbage = new NetlinkHandle(new FakeKernel(() => [[new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])]]));
    await assert.rejects(
      garbage.request('list things', dumpLinksRequest, decodeLink),
      (error: NetlinkError) => {
        assert.ok(error instanceof NetlinkError);
        assert.equal(error.code, 'ERR_NETLINK_MALFORMED');
        assert.equal(
          error.message,
          'list things: malformed answer at byte 0: truncated header: 8 bytes, not 16 (ERR_NETLINK_MALFORMED)',
        );
        return true;
      },
    );
    const wrongType = new NetlinkHandle(
      new FakeKernel((request) => [[reply(request, 99, new Uint8Array(16), NLM_F_MULTI), done(request)]]),
    );
    await assert.rejects(wrongType.request('list things', dumpLinksRequest, decodeLink), {
      code: 'ERR_NETLINK_MALFORMED',
      message:
        'list things: malformed answer: expected RTM_NEWLINK (16), got message type 99 (ERR_NETLINK_MALFORMED)',
    });
    garbage.close();
    wrongType.close();
  });

  test('holds the event loop only while a request is in flight', async () => {
    const kernel = new FakeKernel((request) => [[ack(request)]]);
    const handle = new NetlinkHandle(kernel);
    assert.equal(kernel.referenced, false);
    const result = handle.request('set up', changeRequest);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(kernel.referenced, true);
    await result;
    assert.equal(kernel.referenced, false);
    handle.close();
  });

  test('sends one request at a time, in call order', async () => {
    const order: string[] = [];
    const kernel = new FakeKernel((request) => {
      order.push(`sent ${request.seq} (${kernel.sent.length} sent)`);
      return [[ack(request)]];
    });
    const handle = new NetlinkHandle(kernel);
    await Promise.all([
      handle.request('first', changeRequest).then(() => order.push('first done')),
      handle.request('second', changeRequest).then(() => order.push('second done')),
    ]);
    assert.deepEqual(order, ['sent 1 (1 sent)', 'first done', 'sent 2 (2 sent)', 'second done']);
    handle.close();
  });

  test('a request that cannot be built is a typed EINVAL, sent to nobody', async () => {
    const kernel = new FakeKernel(never);
    const handle = new NetlinkHandle(kernel);
    await assert.rejects(
      handle.request('set up', () => setLinkUpRequest(0)),
      (error: InvalidArgumentError) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.equal(error.message, 'set up: interface index out of range 1..2147483647: 0 (EINVAL)');
        return true;
      },
    );
    assert.equal(kernel.sent.length, 0);
    handle.close();
  });

  test('a send error fails the request with its code', async () => {
    const kernel = new FakeKernel(never);
    kernel.sendError = Object.assign(new Error('send failed'), { code: 'ENOBUFS' });
    const handle = new NetlinkHandle(kernel);
    await assert.rejects(handle.request('set up', changeRequest), { code: 'ENOBUFS' });
    assert.equal(kernel.referenced, false);
    handle.close();
  });

  test('close is idempotent, fails requests in flight and refuses new ones', async () => {
    const kernel = new FakeKernel(never);
    const handle = new NetlinkHandle(kernel);
    const inFlight = handle.request('list things', dumpLinksRequest);
    const queued = handle.request('then more', dumpLinksRequest);
    await new Promise((resolve) => setImmediate(resolve));
    handle.close();
    handle.close();
    assert.equal(kernel.closes, 1);
    await assert.rejects(inFlight, (error: NetlinkClosedError) => {
      assert.ok(error instanceof NetlinkClosedError);
      assert.equal(error.code, 'ERR_NETLINK_CLOSED');
      assert.match(error.message, /^list things: /);
      return true;
    });
    await assert.rejects(queued, { code: 'ERR_NETLINK_CLOSED', message: /^then more: / });
    await assert.rejects(handle.request('later', changeRequest), NetlinkClosedError);
    assert.equal(kernel.sent.length, 1);
  });

  test('a request without answer times out and closes the handle', async () => {
    const kernel = new FakeKernel(never);
    const handle = new NetlinkHandle(kernel, { timeoutMs: 30 });
    await assert.rejects(handle.request('get thing', changeRequest), (error: NetlinkTimeoutError) => {
      assert.ok(error instanceof NetlinkTimeoutError);
      assert.equal(error.code, 'ETIMEDOUT');
      assert.match(error.message, /^get thing: no answer within 30 ms/);
      return true;
    });
    assert.equal(handle.closed, true);
    assert.equal(kernel.closes, 1);
  });

  test('a socket error fails the requests in flight instead of crashing', async () => {
    const kernel = new FakeKernel(never);
    const handle = new NetlinkHandle(kernel);
    const inFlight = handle.request('dump', dumpLinksRequest);
    await new Promise((resolve) => setImmediate(resolve));
    kernel.emit('error', Object.assign(new Error('recv failed'), { code: 'ENOBUFS' }));
    await assert.rejects(inFlight, { code: 'ENOBUFS' });
    handle.close();
  });
});
