/**
 * The connect-latency client: `node _connect-client.js HOST FIRST_PORT LAST_PORT ROUNDS WARMUP
 * EXPECT_LOCAL EXPECT_PEER`, run inside the lab's client namespace.
 *
 * Makes sequential TCP connections to HOST, alternating FIRST_PORT and LAST_PORT (the order flips
 * every round), and times each from just before `net.connect()` to the `connect` event: the SYN
 * through the router's NAT lookup and the SYN-ACK back. Each connection then reads the echo
 * server's answer to the end, which must say it was reached at EXPECT_LOCAL from EXPECT_PEER (the
 * mapping and the SNAT really happened). Prints one JSON line `{"first":[µs...],"last":[µs...]}`;
 * exits 1 on any failed or wrong connection.
 */
import { connectOnce } from './_connect-once.js';

async function main(): Promise<void> {
  const [host, firstText, lastText, roundsText, warmupText, expectLocal, expectPeer] = process.argv.slice(2);
  const first = Number(firstText);
  const last = Number(lastText);
  const rounds = Number(roundsText);
  const warmup = Number(warmupText);
  if (!host || !first || !last || !rounds || Number.isNaN(warmup) || !expectLocal || !expectPeer) {
    throw new Error('usage: _connect-client.js HOST FIRST LAST ROUNDS WARMUP EXPECT_LOCAL EXPECT_PEER');
  }
  const out = { first: [] as number[], last: [] as number[] };
  for (let round = 0; round < warmup + rounds; round++) {
    const order = round % 2 === 0 ? [first, last] : [last, first];
    for (const port of order) {
      const sample = await connectOnce(host, port);
      const answer = JSON.parse(sample.reply) as { local?: string; peer?: string };
      if (answer.local !== expectLocal || answer.peer !== expectPeer) {
        throw new Error(
          `port ${port}: reached ${answer.local} from ${answer.peer}, expected ${expectLocal} from ${expectPeer}`,
        );
      }
      if (round >= warmup)
        (port === first ? out.first : out.last).push(Math.round(sample.connectUs * 10) / 10);
    }
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`connect-client: ${error.message}\n`);
  process.exitCode = 1;
});
