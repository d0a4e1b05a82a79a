/**
 * The lab's client: `node client.js tcp|udp HOST PORT TIMEOUT_MS`.
 *
 * Makes one TCP connection (and reads the answer until the server closes) or sends one UDP datagram
 * (and waits for one answer), then prints one JSON line, a {@link RequestResult}:
 * `{"ok":true,"reply":{...}}` or `{"ok":false,"failure":"refused|timeout|...","message":"..."}`.
 * Exits 0 whatever the network did, 2 on bad arguments.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { failureOf, parseEchoReply, type RequestResult } from './echo-protocol.js';

function finish(result: RequestResult): never {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

function fromError(error: NodeJS.ErrnoException): RequestResult {
  return { ok: false, failure: failureOf(error.code), message: error.message };
}

function fromAnswer(text: string): RequestResult {
  const reply = parseEchoReply(text);
  if (reply !== undefined) return { ok: true, reply };
  return { ok: false, failure: 'error', message: `not an echo reply: ${JSON.stringify(text.slice(0, 200))}` };
}

function tcp(host: string, port: number): void {
  let answer = '';
  const socket = net.connect({ host, port });
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    answer += chunk;
  });
  socket.on('end', () => {
    if (answer === '') finish({ ok: false, failure: 'closed', message: 'closed without an answer' });
    finish(fromAnswer(answer));
  });
  socket.on('error', (error) => {
    if (answer !== '') finish(fromAnswer(answer));
    finish(fromError(error));
  });
}

function udp(host: string, port: number): void {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  socket.on('error', (error) => finish(fromError(error)));
  socket.on('message', (message) => finish(fromAnswer(message.toString('utf8'))));
  socket.connect(port, host, (error?: Error) => {
    if (error) finish(fromError(error));
    socket.send('ping\n');
  });
}

function main(): void {
  const [proto, host, portText, timeoutText] = process.argv.slice(2);
  const port = Number(portText);
  const timeoutMs = Number(timeoutText);
  if (
    (proto !== 'tcp' && proto !== 'udp') ||
    host === undefined ||
    !Number.isInteger(port) ||
    port < 1 ||
    port > 65535 ||
    !Number.isFinite(timeoutMs) ||
    timeoutMs <= 0
  ) {
    process.stderr.write('usage: client.js tcp|udp HOST PORT TIMEOUT_MS\n');
    process.exit(2);
  }
  setTimeout(
    () => finish({ ok: false, failure: 'timeout', message: `no answer within ${timeoutMs} ms` }),
    timeoutMs,
  );
  if (proto === 'tcp') tcp(host, port);
  else udp(host, port);
}

main();
