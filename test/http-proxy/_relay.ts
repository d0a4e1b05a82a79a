/**
 * A TCP relay for the tests: `node _relay.js serve <unix socket path>`, run in the lab's client
 * namespace. A Unix socket is a file, not bound to a network namespace, so the test process (in the
 * host's namespace) connects to it and gets a TCP connection made from the client namespace: it
 * writes `<host> <port>\n`, the relay connects and answers `ok\n` (or `error <code>\n` and closes),
 * then bytes flow both ways unchanged, half-close included. Prints `ready` once listening.
 *
 * Not a test file: without the `serve` argument it does nothing.
 */
import { connect, createServer, type Socket } from 'node:net';

function relay(local: Socket): void {
  local.on('error', () => local.destroy());
  let head = '';
  const onData = (chunk: Buffer) => {
    head += chunk.toString('latin1');
    const newline = head.indexOf('\n');
    if (newline === -1) return;
    local.off('data', onData);
    local.pause();
    const [host = '', port = ''] = head.slice(0, newline).split(' ');
    const rest = Buffer.from(head.slice(newline + 1), 'latin1');
    const remote = connect({ host, port: Number(port), allowHalfOpen: true });
    remote.once('error', (error: NodeJS.ErrnoException) => {
      local.end(`error ${error.code ?? error.message}\n`);
    });
    remote.once('connect', () => {
      remote.removeAllListeners('error');
      remote.on('error', () => local.destroy());
      local.on('error', () => remote.destroy());
      local.write('ok\n');
      if (rest.length > 0) remote.write(rest);
      local.pipe(remote);
      remote.pipe(local);
      local.on('close', () => remote.destroy());
      remote.on('close', () => local.destroy());
    });
  };
  local.on('data', onData);
}

async function serve(path: string): Promise<void> {
  process.on('SIGTERM', () => process.exit(0));
  const server = createServer({ allowHalfOpen: true }, relay);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  process.stdout.write('ready\n');
}

if (process.argv[2] === 'serve' && process.argv[3]) void serve(process.argv[3]);
