/**
 * The connection-distribution micro-benchmark of bench/proxy-workers.ts, run in the lab's pod:
 *
 *   node _workers-accept.js shared|reuseport WORKERS ADDRESS PORT
 *
 * WORKERS cluster workers each answer every connection with one small HTTP response and close it:
 * `shared` is the proxies' way (one listening socket the primary made, accept()ed by every worker:
 * cluster SCHED_NONE); `reuseport` gives each worker a socket of its own bound with SO_REUSEPORT
 * (`reusePort`, Node 22.12 and 23.1 on), the kernel spreading connections over them by hash. Prints
 * "ready"; on SIGTERM prints JSON {counts: [per worker]} and exits.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:net';

const [mode = 'shared', workersText = '2', address = '0.0.0.0', portText = '8099'] = process.argv.slice(2);
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n');

if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const workers = Array.from({ length: Number(workersText) }, () => cluster.fork());
  let ready = 0;
  for (const worker of workers) {
    worker.on('message', (message: { ready?: boolean }) => {
      if (message.ready && ++ready === workers.length) process.stdout.write('ready\n');
    });
  }
  process.once('SIGTERM', async () => {
    const counts = await Promise.all(
      workers.map(
        (worker) =>
          new Promise<number>((resolve) => {
            worker.once('message', (message: { count: number }) => resolve(message.count));
            worker.send('count');
          }),
      ),
    );
    process.stdout.write(`${JSON.stringify({ counts })}\n`);
    for (const worker of workers) worker.kill();
  });
} else {
  let count = 0;
  const server = createServer({ noDelay: true }, (socket) => {
    count++;
    socket.on('error', () => {});
    socket.once('data', () => socket.end(RESPONSE));
  });
  const options: Record<string, unknown> = { host: address, port: Number(portText), backlog: 4096 };
  if (mode === 'reuseport') options.reusePort = true;
  server.listen(options, () => process.send?.({ ready: true }));
  process.on('message', (message) => {
    if (message === 'count') process.send?.({ count });
  });
}
