/**
 * The new-connection client of the node firewall datapath benchmark:
 * `node _datapath-connect.js FIRST_HOST PORT COUNT WARMUP EXPECT_PEER`, run inside a pod's namespace.
 *
 * Makes WARMUP then COUNT sequential TCP connections to the lab's echo server on PORT, each to the
 * next IPv4 address from FIRST_HOST on (FIRST_HOST, FIRST_HOST + 1, ...: the outside namespace
 * answers on a whole local prefix), so that every connection is a new source-destination pair for
 * the node's firewall. Each one is timed from just before `net.connect()` to the `connect` event (the handshake: the SYN
 * through the node's forward hook and the SYN-ACK back) and to the `close` event (the whole
 * cycle: the server's one-line answer, its FIN, the client's FIN). The answer must say the server
 * saw EXPECT_PEER (the node's address: the pod's traffic was forwarded and masqueraded by the
 * node). Prints one JSON line `{"connectUs":[...],"cycleUs":[...],"wallMs":N}` for the COUNT timed
 * connections (wallMs: from the first timed connect to the last close); exits 1 on any failed or
 * wrong connection.
 */
import { connectOnce } from './_connect-once.js';

/** What one batch measured. */
export interface ConnectBatch {
  /** Per connection, `connect()` to the `connect` event, µs. */
  readonly connectUs: number[];
  /** Per connection, `connect()` to `close`, µs. */
  readonly cycleUs: number[];
  /** The timed connections, first connect to last close, ms. */
  readonly wallMs: number;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

/** The IPv4 address `offset` after `first`. */
function nextAddress(first: string, offset: number): string {
  const parts = first.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: '${first}'`);
  }
  const value = (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]! + offset) >>> 0;
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

async function main(): Promise<void> {
  const [first, portText, countText, warmupText, expectPeer] = process.argv.slice(2);
  const port = Number(portText);
  const count = Number(countText);
  const warmup = Number(warmupText);
  if (!first || !port || !count || Number.isNaN(warmup) || !expectPeer) {
    throw new Error('usage: _datapath-connect.js FIRST_HOST PORT COUNT WARMUP EXPECT_PEER');
  }
  const out: ConnectBatch = { connectUs: [], cycleUs: [], wallMs: 0 };
  let timedFrom = 0n;
  for (let i = 0; i < warmup + count; i++) {
    if (i === warmup) timedFrom = process.hrtime.bigint();
    const host = nextAddress(first, i);
    const sample = await connectOnce(host, port);
    const answer = JSON.parse(sample.reply) as { peer?: string };
    if (answer.peer !== expectPeer) {
      throw new Error(`${host}:${port}: the server saw ${answer.peer}, expected ${expectPeer}`);
    }
    if (i >= warmup) {
      out.connectUs.push(round1(sample.connectUs));
      out.cycleUs.push(round1(sample.cycleUs));
    }
  }
  const wallMs = Number(process.hrtime.bigint() - timedFrom) / 1e6;
  process.stdout.write(`${JSON.stringify({ ...out, wallMs: Math.round(wallMs * 1000) / 1000 })}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`datapath-connect: ${error.message}\n`);
  process.exitCode = 1;
});
