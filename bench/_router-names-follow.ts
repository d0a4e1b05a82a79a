/**
 * The client of bench/router-names.ts's DNS-change measurement, run in the lab's client namespace:
 * `node _router-names-follow.js HOST PORT EXPECT TIMEOUT_MS`. Prints `ready`, then opens one
 * connection after another to HOST:PORT (each reads the destination's first line, `{"local":...}`,
 * and closes) until one arrives at EXPECT (`address:port`), and prints one JSON line:
 * `{"at":<Date.now() of that arrival>,"connections":N,"failures":N}`; `{"at":null,...}` on timeout.
 */
import net from 'node:net';

function once(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => socket.destroy(), 1_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline === -1) return;
      try {
        resolve((JSON.parse(text.slice(0, newline)) as { local: string }).local);
      } catch {
        resolve(undefined);
      }
      socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

async function main(): Promise<void> {
  const [host = '', portText = '', expect = '', timeoutText = '10000'] = process.argv.slice(2);
  const end = Date.now() + Number(timeoutText);
  let connections = 0;
  let failures = 0;
  process.stdout.write('ready\n');
  while (Date.now() < end) {
    const local = await once(host, Number(portText));
    connections++;
    if (local === undefined) failures++;
    if (local === expect) {
      process.stdout.write(`${JSON.stringify({ at: Date.now(), connections, failures })}\n`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  process.stdout.write(`${JSON.stringify({ at: null, connections, failures })}\n`);
}

void main();
