import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { READ_BUFFER_BYTES, SocketReader, socketSink } from './socket-reader.js';

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
 * Relays `source` (a server sending `payload` then closing) to a slow consumer through a
 * SocketReader, the way the HTTP proxy's CONNECT tunnels do, and returns what the consumer got.
 */
async function relayThrough(payload: Buffer, banner: Buffer | undefined): Promise<Buffer> {
  const sourcePort = await listen((socket) => {
    if (banner) socket.write(banner);
    socket.end(payload);
  });
  // The consumer reads slowly, so that the relay's writes to it are often left pending.
  const received: Buffer[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const consumerPort = await listen((socket) => {
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      socket.pause();
      setTimeout(() => socket.resume(), 1);
    });
    socket.on('end', done);
  });

  const reader = new SocketReader();
  const upstream = connect({ host: '127.0.0.1', port: sourcePort, onread: reader.onread });
  await once(upstream, 'connect');
  // Give the source time to send (the banner, and more) before the relay is attached.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const client = connect({ host: '127.0.0.1', port: consumerPort });
  await once(client, 'connect');
  reader.attach(upstream, socketSink(client, reader));
  upstream.on('end', () => client.end());
  await finished;
  upstream.destroy();
  client.destroy();
  return Buffer.concat(received);
}

const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('SocketReader', () => {
  test('relays every byte in order through a slow consumer (pending writes hold the reader)', async () => {
    const payload = randomBytes(8 * READ_BUFFER_BYTES + 12_345);
    const received = await relayThrough(payload, undefined);
    assert.equal(received.length, payload.length);
    assert.equal(digest(received), digest(payload));
  });

  test('keeps what arrives before it is attached (a server that speaks first)', async () => {
    const banner = Buffer.from('220 smtp.example ESMTP\r\n');
    const payload = randomBytes(3 * READ_BUFFER_BYTES);
    const received = await relayThrough(payload, banner);
    assert.equal(digest(received), digest(Buffer.concat([banner, payload])));
  });
});
