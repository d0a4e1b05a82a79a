import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net, { type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, afterEach, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createLogger } from '../runtime/logger.js';
import { type DnsProxySettings, defaultSettings } from './config.js';
import { DnsProxyMetrics } from './metrics.js';
import type { DnsProxyEntry } from './parse-destinations.js';
import { DnsProxy } from './proxy.js';
import type { ConnectionRecord } from './relay.js';
import type { NameLookup } from './resolution.js';

/** Log lines, parsed (tests read what the proxy logged instead of mocking the logger). */
class LogLines extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString().split('\n')) if (line !== '') this.lines.push(JSON.parse(line));
    done();
  }
  connections(): ConnectionRecord[] {
    return this.lines.filter((line) => line.event === 'connection') as unknown as ConnectionRecord[];
  }
}

/** A fake DNS: names to A records (TTL 1 s); others are NXDOMAIN. */
class FakeDns {
  readonly records = new Map<string, string[]>();
  lookup = async (name: string): Promise<NameLookup> => {
    const addresses = this.records.get(name);
    if (!addresses)
      return { v4: { kind: 'negative', code: 'ENOTFOUND' }, v6: { kind: 'negative', code: 'ENOTFOUND' } };
    return {
      v4: { kind: 'records', records: addresses.map((address) => ({ address, ttl: 1 })) },
      v6: { kind: 'negative', code: 'ENODATA' },
    };
  };
}

const servers: Server[] = [];
const proxies: DnsProxy[] = [];
afterEach(async () => {
  for (const proxy of proxies.splice(0)) await proxy.drain();
});
after(() => {
  for (const server of servers) server.close();
});

function settings(overrides: Partial<DnsProxySettings> = {}): DnsProxySettings {
  return { ...defaultSettings(), minTtlMs: 100, maxTtlMs: 200, drainTimeoutMs: 1_000, ...overrides };
}

function startProxy(overrides: Partial<DnsProxySettings> = {}, dns = new FakeDns()) {
  const log = new LogLines();
  const proxy = new DnsProxy({
    settings: settings(overrides),
    log: createLogger({ debug: false, name: 'test', destination: log }),
    metrics: new DnsProxyMetrics(new Registry()),
    lookup: dns.lookup,
  });
  proxies.push(proxy);
  return { proxy, log, dns };
}

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '::' }, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A destination: says where it was reached, then echoes; ends when the client ends. */
async function startUpstream(
  host = '127.0.0.1',
  port = 0,
  onSocket?: (socket: Socket) => void,
): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    if (onSocket) return onSocket(socket);
    socket.write(`${socket.localAddress}\n`);
    socket.pipe(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen({ port, host }, resolve));
  return (server.address() as net.AddressInfo).port;
}

function entry(listenPort: number, target: string, remotePort: number): DnsProxyEntry {
  return {
    line: 1,
    listenPort,
    target: net.isIP(target)
      ? { kind: 'address', address: { address: target, family: net.isIPv6(target) ? 6 : 4 } }
      : { kind: 'name', name: target },
    remotePort,
  };
}

/** Connects, sends `send` (then ends), and collects what comes back until the proxy closes. */
function exchange(port: number, send = ''): Promise<{ text: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('connect', () => socket.end(send));
    socket.on('error', (error: NodeJS.ErrnoException) => resolve({ text, error: error.code ?? 'error' }));
    socket.on('close', () => resolve({ text }));
  });
}

/** A connection kept open: `say` sends a line and waits for its echo. */
async function openConnection(port: number) {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setEncoding('utf8');
  let buffer = '';
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (const waiter of waiters.splice(0)) waiter();
  });
  const closed = new Promise<string | undefined>((resolve) => {
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    socket.on('close', () => resolve(undefined));
  });
  const waitFor = async (text: string) => {
    while (!buffer.includes(text)) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  await waitFor('\n');
  const hello = buffer.split('\n')[0];
  return {
    hello,
    socket,
    closed,
    async say(line: string) {
      socket.write(`${line}\n`);
      await waitFor(`${line}\n`);
    },
  };
}

function until(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error('condition not met in time'));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

describe('DnsProxy relays', () => {
  test('DnsProxy relays both ways with half-close and logs one line per connection', async () => {
    const upstream = await startUpstream();
    const port = await freePort();
    const { proxy, log } = startProxy();
    assert.deepEqual(await proxy.apply([entry(port, '127.0.0.1', upstream)]), {
      ok: true,
      added: [port],
      removed: [],
      changed: [],
    });
    assert.deepEqual(await exchange(port, 'hello\n'), { text: '127.0.0.1\nhello\n' });
    await until(() => log.connections().length === 1);
    const [record] = log.connections();
    assert.equal(record?.result, 'ok');
    assert.equal(record?.address, '127.0.0.1');
    assert.equal(record?.port, port);
    assert.equal(record?.remotePort, upstream);
    assert.equal(record?.destination, '127.0.0.1');
    assert.equal(record?.client, '127.0.0.1');
    assert.equal(record?.bytesFromClient, 6);
    assert.equal(record?.bytesToClient, 16);
    assert.equal(record?.attempts, 1);
    assert.equal(proxy.activeConnections, 0);
  });

  for (const reader of ['a fast', 'a slow'] as const) {
    test(`DnsProxy relays 8 MiB each way to ${reader} reader, byte for byte (streaming sides read into buffers of their own)`, async () => {
      const upstream = await startUpstream('127.0.0.1', 0, (socket) => socket.pipe(socket));
      const port = await freePort();
      const { proxy, log } = startProxy();
      await proxy.apply([entry(port, '127.0.0.1', upstream)]);
      const payload = randomBytes(8 << 20);
      const received = await new Promise<Buffer>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port }, () => socket.end(payload));
        const chunks: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if (reader === 'a fast') return;
          // Leaves the proxy's writes to the client pending, so its readers wait for them.
          socket.pause();
          setTimeout(() => socket.resume(), 1);
        });
        socket.on('close', () => resolve(Buffer.concat(chunks)));
      });
      assert.equal(received.length, payload.length);
      assert.ok(received.equals(payload), 'the bytes came back changed');
      await until(() => log.connections().length === 1);
      assert.equal(log.connections()[0]?.bytesFromClient, payload.length);
      assert.equal(log.connections()[0]?.bytesToClient, payload.length);
    });
  }

  test('DnsProxy spreads the connections of a name over all its addresses, round robin', async () => {
    const upstream = await startUpstream('::', 0);
    const port = await freePort();
    const dns = new FakeDns();
    dns.records.set('two.example', ['127.0.0.1', '127.0.0.2']);
    const { proxy } = startProxy({}, dns);
    await proxy.apply([entry(port, 'two.example', upstream)]);
    await until(() => proxy.ready);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const reached: string[] = [];
    for (let i = 0; i < 4; i++) reached.push((await exchange(port)).text.trim().replace('::ffff:', ''));
    assert.deepEqual(reached, ['127.0.0.1', '127.0.0.2', '127.0.0.1', '127.0.0.2']);
  });

  test('DnsProxy tries the next address when one refuses, and skips the refusing one for a while', async () => {
    const upstream = await startUpstream('127.0.0.1', 0); // 127.0.0.2 refuses that port
    const port = await freePort();
    const dns = new FakeDns();
    dns.records.set('half.example', ['127.0.0.1', '127.0.0.2']);
    const { proxy, log } = startProxy({}, dns);
    await proxy.apply([entry(port, 'half.example', upstream)]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const texts: string[] = [];
    for (let i = 0; i < 6; i++) texts.push((await exchange(port)).text.trim());
    assert.deepEqual(texts, Array(6).fill('127.0.0.1'));
    await until(() => log.connections().length === 6);
    const attempts = log.connections().map((record) => record.attempts);
    assert.equal(attempts.filter((n) => n === 2).length, 1, `one connection tried both: ${attempts}`);
    const down = log.lines.filter((line) => line.event === 'address');
    assert.equal(down.length, 1);
    assert.equal(down[0]?.address, '127.0.0.2');
    assert.equal(down[0]?.error, 'ECONNREFUSED');
  });

  test('DnsProxy refuses the client (reset) when every address refuses', async () => {
    const closed = await freePort();
    const port = await freePort();
    const { proxy, log } = startProxy();
    await proxy.apply([entry(port, '127.0.0.1', closed)]);
    const result = await exchange(port);
    assert.equal(result.error, 'ECONNRESET');
    await until(() => log.connections().length === 1);
    assert.equal(log.connections()[0]?.result, 'connect_failed');
    assert.equal(log.connections()[0]?.error, 'ECONNREFUSED');
  });

  test('DnsProxy passes a reset of the destination on to the client', async () => {
    const upstream = await startUpstream('127.0.0.1', 0, (socket) => {
      socket.once('data', () => socket.resetAndDestroy());
    });
    const port = await freePort();
    const { proxy, log } = startProxy();
    await proxy.apply([entry(port, '127.0.0.1', upstream)]);
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write('x'));
    const error = await new Promise<string | undefined>((resolve) => {
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
      socket.on('close', () => resolve(undefined));
    });
    assert.equal(error, 'ECONNRESET');
    await until(() => log.connections().length === 1);
    assert.equal(log.connections()[0]?.result, 'upstream_error');
  });

  test('DnsProxy closes a connection idle for the idle timeout', async () => {
    const upstream = await startUpstream();
    const port = await freePort();
    const { proxy, log } = startProxy({ idleTimeoutMs: 200 });
    await proxy.apply([entry(port, '127.0.0.1', upstream)]);
    const connection = await openConnection(port);
    const started = Date.now();
    await connection.closed;
    assert.ok(Date.now() - started >= 150, 'not before the idle timeout');
    await until(() => log.connections().length === 1);
    assert.equal(log.connections()[0]?.result, 'idle_timeout');
  });

  test('DnsProxy keeps a connection with traffic open past the idle timeout (seen from its byte counts)', async () => {
    const upstream = await startUpstream();
    const port = await freePort();
    const { proxy, log } = startProxy({ idleTimeoutMs: 300 });
    await proxy.apply([entry(port, '127.0.0.1', upstream)]);
    const connection = await openConnection(port);
    let gone = false;
    void connection.closed.then(() => {
      gone = true;
    });
    for (let i = 0; i < 8; i++) {
      await connection.say(`line ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(gone, false, 'closed while traffic flowed');
    await connection.closed;
    await until(() => log.connections().length === 1);
    assert.equal(log.connections()[0]?.result, 'idle_timeout');
  });

  test('DnsProxy refuses connections over the connection limit at once', async () => {
    const upstream = await startUpstream();
    const port = await freePort();
    const { proxy, log } = startProxy({ maxConnections: 1 });
    await proxy.apply([entry(port, '127.0.0.1', upstream)]);
    const first = await openConnection(port);
    assert.equal((await exchange(port)).error, 'ECONNRESET');
    await first.say('still here');
    first.socket.end();
    await first.closed;
    await until(() => log.connections().length === 2);
    assert.deepEqual(
      log
        .connections()
        .map((r) => r.result)
        .sort(),
      ['limit', 'ok'],
    );
  });
});

describe('DnsProxy and names', () => {
  test('DnsProxy refuses the connections of an unresolved name at once, and relays once it resolves', async () => {
    const upstream = await startUpstream();
    const port = await freePort();
    const dns = new FakeDns();
    const { proxy, log } = startProxy({}, dns);
    await proxy.apply([entry(port, 'later.example', upstream)]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await exchange(port)).error, 'ECONNRESET');
    dns.records.set('later.example', ['127.0.0.1']);
    await until(() =>
      log.lines.some((line) => line.event === 'resolution' && line.msg === 'addresses changed'),
    );
    assert.equal((await exchange(port)).text, '127.0.0.1\n');
    assert.deepEqual(
      log.connections().map((r) => r.result),
      ['unresolved', 'ok'],
    );
  });

  test('DnsProxy keeps open connections when the name moves, and sends new ones to the new address', async () => {
    const upstream = await startUpstream('::', 0);
    const port = await freePort();
    const dns = new FakeDns();
    dns.records.set('moving.example', ['127.0.0.1']);
    const { proxy, log } = startProxy({}, dns);
    await proxy.apply([entry(port, 'moving.example', upstream)]);
    await until(() => log.lines.some((line) => line.event === 'resolution'));
    const held = await openConnection(port);
    assert.equal(held.hello?.replace('::ffff:', ''), '127.0.0.1');
    dns.records.set('moving.example', ['127.0.0.3']);
    await until(() => log.lines.filter((line) => line.msg === 'addresses changed').length === 2);
    assert.equal((await exchange(port)).text.replace('::ffff:', ''), '127.0.0.3\n');
    await held.say('still relayed');
    held.socket.end();
    assert.equal(await held.closed, undefined);
  });
});

describe('DnsProxy.apply() and drain()', () => {
  test('apply() removing an entry closes its port but not its open connections', async () => {
    const upstream = await startUpstream();
    const [p1, p2] = [await freePort(), await freePort()];
    const { proxy } = startProxy();
    await proxy.apply([entry(p1, '127.0.0.1', upstream), entry(p2, '127.0.0.1', upstream)]);
    const held = await openConnection(p1);
    assert.deepEqual(await proxy.apply([entry(p2, '127.0.0.1', upstream)]), {
      ok: true,
      added: [],
      removed: [p1],
      changed: [],
    });
    assert.equal((await exchange(p1)).error, 'ECONNREFUSED');
    await held.say('after the reload');
    held.socket.end();
    assert.equal(await held.closed, undefined);
  });

  test('apply() changing an entry sends new connections to the new destination, old ones stay', async () => {
    const first = await startUpstream('127.0.0.1');
    const second = await startUpstream('127.0.0.4');
    const port = await freePort();
    const { proxy } = startProxy();
    await proxy.apply([entry(port, '127.0.0.1', first)]);
    const held = await openConnection(port);
    const result = await proxy.apply([entry(port, '127.0.0.4', second)]);
    assert.deepEqual(result, { ok: true, added: [], removed: [], changed: [port] });
    assert.equal((await exchange(port)).text, '127.0.0.4\n');
    await held.say('old destination');
    held.socket.end();
    await held.closed;
  });

  test('apply() with a port that cannot be opened changes nothing', async () => {
    const upstream = await startUpstream();
    const [p1, p2] = [await freePort(), await freePort()];
    const taken = net.createServer();
    servers.push(taken);
    const busy = await new Promise<number>((resolve) =>
      taken.listen({ port: 0, host: '::' }, () => resolve((taken.address() as net.AddressInfo).port)),
    );
    const { proxy } = startProxy();
    await proxy.apply([entry(p1, '127.0.0.1', upstream)]);
    const result = await proxy.apply([
      entry(p1, '127.0.0.1', upstream),
      entry(p2, '127.0.0.1', upstream),
      entry(busy, '127.0.0.1', upstream),
    ]);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.port, busy);
    assert.deepEqual(proxy.ports, [p1]);
    assert.equal(
      (await exchange(p2)).error,
      'ECONNREFUSED',
      'the port opened for the failed list is closed again',
    );
    assert.equal((await exchange(p1)).text, '127.0.0.1\n');
  });

  test('drain() stops taking connections and waits for open ones to finish', async () => {
    const upstream = await startUpstream();
    const port = await freePort();
    const { proxy } = startProxy({ drainTimeoutMs: 5_000 });
    await proxy.apply([entry(port, '127.0.0.1', upstream)]);
    const held = await openConnection(port);
    const draining = proxy.drain();
    assert.equal(proxy.ready, false);
    assert.equal((await exchange(port)).error, 'ECONNREFUSED');
    await held.say('while draining');
    held.socket.end();
    assert.deepEqual(await draining, { open: 1, cut: 0 });
  });

  test('drain() cuts what is still open when the drain time runs out', async () => {
    const upstream = await startUpstream();
    const port = await freePort();
    const { proxy, log } = startProxy({ drainTimeoutMs: 200 });
    await proxy.apply([entry(port, '127.0.0.1', upstream)]);
    const held = await openConnection(port);
    assert.deepEqual(await proxy.drain(), { open: 1, cut: 1 });
    await held.closed;
    assert.equal(log.connections()[0]?.result, 'shutdown');
  });

  test('drain() ends early when aborted (a second SIGTERM)', async () => {
    const upstream = await startUpstream();
    const port = await freePort();
    const { proxy } = startProxy({ drainTimeoutMs: 60_000 });
    await proxy.apply([entry(port, '127.0.0.1', upstream)]);
    const held = await openConnection(port);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const started = Date.now();
    assert.deepEqual(await proxy.drain(abort.signal), { open: 1, cut: 1 });
    assert.ok(Date.now() - started < 5_000);
    await held.closed;
  });
});
