/**
 * The client of the DNS proxy tests, run in the lab's client namespace:
 *
 * - `node _client.js requests HOST PORT COUNT [TIMEOUT_MS]`: COUNT connections one after the other;
 *   each reads the destination's first line (where it arrived) and closes. Prints one JSON line:
 *   `{"results":[{"ok":true,"local":"203.0.113.25:7001"} | {"ok":false,"failure":"reset",...}]}`.
 * - `node _client.js hold HOST PORT INTERVAL_MS`: one connection kept open; prints
 *   `{"event":"hello","local":...}`, then sends a numbered line every INTERVAL_MS and checks that it
 *   comes back. On SIGTERM prints `{"event":"summary","exchanges":N,"errors":[...]}` and exits 0;
 *   when the connection ends first, prints `{"event":"closed",...}`.
 * - `node _client.js get URL`: prints `{"status":200,"body":"..."}`.
 */
import net from 'node:net';
import { failureOf } from '../../src/lab/echo-protocol.js';

type Outcome =
  | { ok: true; local: string }
  | { ok: false; failure: string; code?: string | undefined; message?: string | undefined };

function once(host: string, port: number, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    let text = '';
    let settled = false;
    const done = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => done({ ok: false, failure: 'timeout' }), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline === -1) return;
      try {
        const { local } = JSON.parse(text.slice(0, newline)) as { local: string };
        socket.end();
        socket.once('close', () => done({ ok: true, local }));
      } catch {
        done({ ok: false, failure: 'error', message: text.slice(0, 200) });
      }
    });
    socket.on('end', () => {
      if (text.indexOf('\n') === -1) done({ ok: false, failure: 'closed' });
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      done({ ok: false, failure: failureOf(error.code), code: error.code, message: error.message }),
    );
  });
}

async function requests(host: string, port: number, count: number, timeoutMs: number): Promise<void> {
  const results: Outcome[] = [];
  for (let i = 0; i < count; i++) results.push(await once(host, port, timeoutMs));
  process.stdout.write(`${JSON.stringify({ results })}\n`);
}

function hold(host: string, port: number, intervalMs: number): void {
  const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  const socket = net.connect({ host, port });
  socket.setEncoding('utf8');
  let buffer = '';
  let hello: string | undefined;
  let sent = 0;
  let exchanges = 0;
  const errors: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (hello === undefined) {
        hello = (JSON.parse(line) as { local: string }).local;
        print({ event: 'hello', local: hello });
        timer = setInterval(() => socket.write(`ping ${++sent}\n`), intervalMs);
      } else if (line === `ping ${exchanges + 1}`) {
        exchanges++;
      } else {
        errors.push(`unexpected ${JSON.stringify(line)}`);
      }
    }
  });
  const finish = (event: string, error?: string) => {
    clearInterval(timer);
    print({ event, local: hello, exchanges, sent, errors: error ? [...errors, error] : errors });
    process.exit(0);
  };
  socket.on('error', (error: NodeJS.ErrnoException) => finish('closed', error.code ?? error.message));
  socket.on('end', () => finish('closed', 'end'));
  process.on('SIGTERM', () => finish('summary'));
}

async function get(url: string): Promise<void> {
  const response = await fetch(url);
  process.stdout.write(`${JSON.stringify({ status: response.status, body: await response.text() })}\n`);
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'requests') {
  const [host = '', port = '', count = '1', timeout = '3000'] = rest;
  void requests(host, Number(port), Number(count), Number(timeout));
} else if (mode === 'hold') {
  const [host = '', port = '', interval = '100'] = rest;
  hold(host, Number(port), Number(interval));
} else if (mode === 'get') {
  void get(rest[0] ?? '');
} else {
  process.stderr.write('usage: _client.js requests|hold|get ...\n');
  process.exit(2);
}
