import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { IDLE_RELEASE_MS, READ_BUFFER_BYTES, readWith, SocketReader, socketSink } from './socket-reader.js';

const servers: Server[] = [];
after(() => {
  for (const server of servers) server.close();
});

/** A loopback server; `onConnection` gets each accepted socket. */
async function listen(onConnection: (socket: Socket) => void): Promise<number> {
  const server = createServer(onConnection);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/**
 * A consumer that reads slowly, so that a relay's writes to it are often left pending: `socket` is
 * connected to it, `received()` resolves to what it got once the relay ended or failed.
 */
async function slowConsumer(): Promise<{ socket: Socket; received: () => Promise<Buffer> }> {
  const chunks: Buffer[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const port = await listen((socket) => {
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      socket.pause();
      setTimeout(() => socket.resume(), 1);
    });
    socket.on('end', done);
    socket.on('error', done);
  });
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return { socket, received: () => finished.then(() => Buffer.concat(chunks)) };
}

/**
 * Relays what `source` sends (it gets the accepted socket) to a slow consumer through a
 * SocketReader, the way the HTTP proxy's CONNECT tunnels do (reader attached 50 ms after the
 * connection, so that early bytes are held), and returns what the consumer got.
 */
async function relayThrough(source: (socket: Socket) => void): Promise<Buffer> {
  const sourcePort = await listen(source);
  const consumer = await slowConsumer();
  const client = consumer.socket;
  const reader = new SocketReader();
  const upstream = connect({ host: '127.0.0.1', port: sourcePort, onread: reader.onread });
  // As in the proxy: the end and errors of the source are handled from the start.
  upstream.on('end', () => client.end());
  upstream.on('error', () => client.destroy());
  await once(upstream, 'connect');
  await sleep(50);
  reader.attach(upstream, socketSink(client, reader));
  const received = await consumer.received();
  upstream.destroy();
  client.destroy();
  reader.release();
  return received;
}

const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('SocketReader', () => {
  test('relays every byte in order through a slow consumer (pending writes hold the reader)', async () => {
    const payload = randomBytes(8 * READ_BUFFER_BYTES + 12_345);
    const received = await relayThrough((socket) => socket.end(payload));
    assert.equal(received.length, payload.length);
    assert.equal(digest(received), digest(payload));
  });

  test('keeps what arrives before it is attached (a server that speaks first)', async () => {
    const banner = Buffer.from('220 smtp.example ESMTP\r\n');
    const payload = randomBytes(3 * READ_BUFFER_BYTES);
    const received = await relayThrough((socket) => {
      socket.write(banner);
      socket.end(payload);
    });
    assert.equal(digest(received), digest(Buffer.concat([banner, payload])));
  });

  test('relays the next burst intact after giving its buffer back when idle', async () => {
    const first = randomBytes(2 * READ_BUFFER_BYTES);
    const second = randomBytes(2 * READ_BUFFER_BYTES + 7);
    const received = await relayThrough((socket) => {
      socket.write(first);
      // Idle for longer than the release time and a sweep: the reader reads into a few bytes again.
      setTimeout(() => socket.end(second), 2 * IDLE_RELEASE_MS + 500);
    });
    assert.equal(digest(received), digest(Buffer.concat([first, second])));
  });

  test('an empty stream ends the relay with nothing sent', async () => {
    const received = await relayThrough((socket) => socket.end());
    assert.equal(received.length, 0);
  });

  test('a reset from the source while writes are pending ends the relay without an error thrown', async () => {
    const received = await relayThrough((socket) => {
      socket.write(randomBytes(4 * READ_BUFFER_BYTES));
      // After the relay is attached (50 ms), while the slow consumer leaves writes pending.
      setTimeout(() => socket.resetAndDestroy(), 100);
    });
    assert.ok(received.length <= 4 * READ_BUFFER_BYTES);
  });

  test('readers one after the other reuse the pooled buffers without mixing their bytes', async () => {
    for (let i = 0; i < 5; i++) {
      const payload = randomBytes(READ_BUFFER_BYTES + i * 1000);
      assert.equal(digest(await relayThrough((socket) => socket.end(payload))), digest(payload));
    }
  });
});

describe('SocketReader with short answers (reads that never fill its few bytes)', () => {
  test('a line, then the close: relayed intact', async () => {
    const received = await relayThrough((socket) => socket.end('220 banner line\r\n'));
    assert.equal(received.toString(), '220 banner line\r\n');
  });

  test('many short writes with pauses between them: every byte, in order', async () => {
    const parts = Array.from({ length: 50 }, (_, i) => `part ${i};`);
    const received = await relayThrough(async (socket) => {
      for (const part of parts) {
        socket.write(part);
        await sleep(2);
      }
      socket.end();
    });
    assert.equal(received.toString(), parts.join(''));
  });
});

/**
 * Relays what a client sends to a slow consumer through an accepted socket given a reader
 * (readWith), attached 50 ms after the connection as the DNS proxy attaches it once the
 * destination answers; returns what the consumer got, whether the reader took the socket, and how
 * many 'data' events the accepted socket emitted (none: its reads go to the reader).
 */
async function relayAccepted(
  send: (client: Socket) => void,
): Promise<{ received: Buffer; taken: boolean; dataEvents: number }> {
  const { socket: consumer, received: consumed } = await slowConsumer();
  let taken = false;
  let dataEvents = 0;
  const reader = new SocketReader();
  const server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (accepted) => {
    accepted.on('data', () => dataEvents++);
    accepted.on('end', () => consumer.end());
    accepted.on('error', () => consumer.destroy());
    setTimeout(() => {
      taken = readWith(accepted, reader);
      reader.attach(accepted, socketSink(consumer, reader));
    }, 50);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  client.on('error', () => {});
  await once(client, 'connect');
  send(client);
  const received = await consumed();
  client.destroy();
  consumer.destroy();
  reader.release();
  return { received, taken, dataEvents };
}

describe('readWith: an accepted socket read into a reader', () => {
  test('takes the socket on this Node, relays every byte in order to a slow consumer, and the end', async () => {
    const payload = randomBytes(8 * READ_BUFFER_BYTES + 4_321);
    const { received, taken, dataEvents } = await relayAccepted((client) => client.end(payload));
    assert.equal(taken, true, "Node's onread slots were not found: reads fall back to 'data'");
    assert.equal(dataEvents, 0);
    assert.equal(received.length, payload.length);
    assert.equal(digest(received), digest(payload));
  });

  test('what the client sent before the reader was attached comes first', async () => {
    const early = Buffer.from('EHLO client.example\r\n');
    const rest = randomBytes(2 * READ_BUFFER_BYTES);
    const { received } = await relayAccepted((client) => {
      client.write(early);
      setTimeout(() => client.end(rest), 100);
    });
    assert.equal(digest(received), digest(Buffer.concat([early, rest])));
  });

  test('a client that sends nothing and closes: the end is passed on', async () => {
    const { received } = await relayAccepted((client) => client.end());
    assert.equal(received.length, 0);
  });
});
