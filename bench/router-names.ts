/**
 * Issue 13: the router's DNS name entries (legacy mode, the kernel path), side by side in one run:
 * `node dist/bench/router-names.js [--quick]` (root; builds the DNS proxy's namespace lab, with
 * dnsmasq serving `bench.egress.test` with a TTL of 1 s, and removes it in `finally`, also on
 * failure, on the watchdog or on Ctrl-C).
 *
 * - Connection rate: wrk (1 thread, 50 connections, `Connection: close`: one TCP connection per
 *   request) from the client namespace to the pod, to a destination that answers and closes
 *   (haproxy's `http-request return`). Throughput: iperf3, one stream.
 * - Contenders, rotated round by round: the router with a name entry (`8080 tcp bench.egress.test
 *   7080`); the router with the same entry by address (the kernel path without names); haproxy
 *   configured as the old ose-egress-dns-proxy image (bench/dns-proxy-haproxy.ts), pinned to one
 *   core as that image's single-threaded haproxy; and a direct path (no router: the client routes
 *   to the destination through the pod, which forwards without NAT). wrk and the destinations are
 *   pinned to CPU 0.
 * - The time from a DNS change (dnsmasq re-reads its hosts file) to the first new connection that
 *   arrives at the new address, with a client connecting every 10 ms.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProcessHandle } from '../src/lab/index.js';
import { BIN, DNS4, DnsProxyLab } from '../test/dns-proxy/_dns-lab.js';
import { finishBench, fmt, type GoalSummary, median, ratio, startBench, stats, table } from './_common.js';
import { destinationHaproxyConfig, oldImageHaproxyConfig } from './dns-proxy-haproxy.js';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 1 : 3;
const RATE_SECONDS = QUICK ? 2 : 5;
const IPERF_SECONDS = QUICK ? 2 : 5;
const FOLLOW_RUNS = QUICK ? 2 : 8;
const LIMIT_MS = 290_000;
const NAME = 'bench.egress.test';
const RATE_PORT = 8080;
const DESTINATION_HTTP_PORT = 7080;
const IPERF_PORT = 5201;
const FOLLOW_PORT = 7001;
const TTL_MS = 1_000;
const PROXY_CPU = '1';
const LOAD_CPU = '0';
const FOLLOW = fileURLToPath(new URL('./_router-names-follow.js', import.meta.url));
const PATH = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';

type Kind = 'names' | 'address' | 'haproxy' | 'direct';
const KINDS: readonly Kind[] = ['names', 'address', 'haproxy', 'direct'];
const TITLES: Record<Kind, string> = {
  names: 'router, name entry (nft: numgen over the name map)',
  address: 'router, the same entry by address (nft map)',
  haproxy: 'haproxy 2.6 as the old dns-proxy image (one core)',
  direct: 'direct path: no router, plain forwarding',
};

interface Sample {
  readonly kind: Kind;
  readonly rate: number;
  readonly errors: number;
  readonly mbps: number;
  /** CPU time of the whole machine (every core, user, system and softirq) per connection, µs. */
  readonly busyUsPerConnection: number;
}

/** CPU time spent busy on every core so far (not idle, not iowait), in seconds (USER_HZ 100). */
function machineBusySeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return (fields.reduce((a, b) => a + b, 0) - idle) / 100;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const run = startBench('router-names', LIMIT_MS);
  run.log('building the lab');
  const dl = await DnsProxyLab.create({ prefix: `brn${process.pid}` });
  let result: Awaited<ReturnType<typeof body>>;
  try {
    result = await body(dl, run.log);
  } finally {
    run.log('destroying the lab');
    await dl.destroy();
    rmSync(run.work, { recursive: true, force: true });
  }
  finishBench(run, 'Router name entries: connection rate, throughput, following a DNS change', result);
}

async function body(dl: DnsProxyLab, log: (line: string) => void) {
  const { lab } = dl;
  const a = lab.addresses;
  const [o25, o26] = a.outside4 as [string, string];
  await dl.setRecords({ bench: [o25] });

  const destCfg = join(dl.work, 'destination-haproxy.cfg');
  writeFileSync(destCfg, destinationHaproxyConfig(o25, DESTINATION_HTTP_PORT));
  await lab.spawnIn('out', 'taskset', ['-c', LOAD_CPU, 'haproxy', '-db', '-f', destCfg]);
  const iperf = await lab.spawnIn('out', 'iperf3', ['-s', '-p', String(IPERF_PORT), '--forceflush']);
  await iperf.waitFor(/Server listening/, { timeoutMs: 5_000 });
  await dl.startUpstream([String(FOLLOW_PORT)]);

  // The direct path: the client routes the outside network through the pod, which forwards it;
  // the gateway routes the pod network back through the pod's node-network address.
  await lab.ip('client', ['route', 'replace', a.outsideNetwork4, 'via', a.pod4]);
  await lab.ip('gw', ['route', 'replace', a.podNetwork4, 'via', a.egressSource4]);
  await lab.sysctl('pod', 'net.ipv4.ip_forward', 1);

  const routerEnv = (list: string) => ({
    PATH,
    EGRESS_SOURCE: `${a.egressSource4}/24`,
    EGRESS_GATEWAY: a.gateway4,
    EGRESS_ROUTER_MODE: 'legacy',
    EGRESS_DESTINATION: list,
  });
  const startRouter = async (list: string, names: boolean): Promise<ProcessHandle> => {
    const handle = await lab.spawnIn('pod', process.execPath, [BIN], { env: routerEnv(list) });
    await handle.waitFor(names ? /"msg":"name maps updated"/ : /"msg":"egress router set up"/, {
      timeoutMs: 10_000,
    });
    return handle;
  };
  const dropTable = () =>
    lab.exec('pod', 'nft', ['delete', 'table', 'inet', 'egress_router'], { check: false });
  const stopRouter = async (router: ProcessHandle) => {
    await router.stop();
    await dropTable();
  };
  const waitListening = async (port: number) => {
    for (let i = 0; i < 100; i++) {
      const out = await lab.exec('pod', 'ss', ['-Hltn', `sport = :${port}`], { check: false });
      if (out.stdout.trim() !== '') return;
      await sleep(100);
    }
    throw new Error(`nothing listens on ${port} in the pod`);
  };

  const start: Record<Kind, () => Promise<{ host: string; ratePort: number; stop: () => Promise<void> }>> = {
    names: async () => {
      const router = await startRouter(
        `${RATE_PORT} tcp ${NAME} ${DESTINATION_HTTP_PORT}\n${IPERF_PORT} tcp ${NAME} ${IPERF_PORT}\n`,
        true,
      );
      return { host: a.pod4, ratePort: RATE_PORT, stop: () => stopRouter(router) };
    },
    address: async () => {
      const router = await startRouter(
        `${RATE_PORT} tcp ${o25} ${DESTINATION_HTTP_PORT}\n${IPERF_PORT} tcp ${o25} ${IPERF_PORT}\n`,
        false,
      );
      return { host: a.pod4, ratePort: RATE_PORT, stop: () => stopRouter(router) };
    },
    haproxy: async () => {
      await dropTable();
      const cfg = join(dl.work, 'old-image-haproxy.cfg');
      writeFileSync(
        cfg,
        oldImageHaproxyConfig(
          [
            { port: RATE_PORT, target: NAME, targetPort: DESTINATION_HTTP_PORT, isName: true },
            { port: IPERF_PORT, target: NAME, targetPort: IPERF_PORT, isName: true },
          ],
          [DNS4],
        ),
      );
      const proxy = await lab.spawnIn('pod', 'taskset', ['-c', PROXY_CPU, 'haproxy', '-db', '-f', cfg]);
      await waitListening(RATE_PORT);
      await sleep(1_000); // its resolvers answer
      return {
        host: a.pod4,
        ratePort: RATE_PORT,
        stop: async () => {
          await proxy.stop(3_000);
        },
      };
    },
    direct: async () => {
      await dropTable();
      return { host: o25, ratePort: DESTINATION_HTTP_PORT, stop: async () => {} };
    },
  };

  const wrk = async (host: string, port: number, seconds: number) => {
    const result = await lab.exec(
      'client',
      'taskset',
      [
        '-c',
        LOAD_CPU,
        'wrk',
        '-t1',
        '-c50',
        `-d${seconds}s`,
        '-H',
        'Connection: close',
        `http://${host}:${port}/`,
      ],
      { timeoutMs: (seconds + 20) * 1000 },
    );
    const text = result.stdout;
    const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? Number.NaN);
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
    return {
      requests,
      rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? Number.NaN),
      errors: (socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0) + non2xx,
    };
  };
  const iperf3 = async (host: string) => {
    const result = await lab.exec(
      'client',
      'taskset',
      [
        '-c',
        '0-1',
        'iperf3',
        '-c',
        host,
        '-p',
        String(IPERF_PORT),
        '-t',
        String(IPERF_SECONDS),
        '-O',
        '1',
        '-J',
      ],
      { timeoutMs: (IPERF_SECONDS + 20) * 1000, check: false },
    );
    const json = JSON.parse(result.stdout) as {
      end?: { sum_received?: { bits_per_second: number } };
      error?: string;
    };
    if (json.error) throw new Error(`iperf3 to ${host}: ${json.error}`);
    return (json.end?.sum_received?.bits_per_second ?? Number.NaN) / 8 / 1e6;
  };

  const samples: Sample[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of round % 2 === 0 ? KINDS : [...KINDS].reverse()) {
      log(`round ${round + 1}/${ROUNDS}: ${kind}`);
      const contender = await start[kind]();
      try {
        await wrk(contender.host, contender.ratePort, 1); // warm-up
        const before = machineBusySeconds();
        const { rate, errors, requests } = await wrk(contender.host, contender.ratePort, RATE_SECONDS);
        const busyUsPerConnection = ((machineBusySeconds() - before) / requests) * 1e6;
        const mbps = await iperf3(contender.host);
        samples.push({ kind, rate, errors, mbps, busyUsPerConnection });
      } finally {
        await contender.stop();
      }
    }
  }

  // Following a DNS change: the router with a name entry, the name moved between two addresses.
  log('DNS changes');
  const follows: number[] = [];
  const router = await startRouter(`${FOLLOW_PORT} tcp ${NAME} ${FOLLOW_PORT}\n`, true);
  try {
    let current = o25;
    for (let i = 0; i < FOLLOW_RUNS; i++) {
      const next = current === o25 ? o26 : o25;
      const client = await lab.spawnIn('client', process.execPath, [
        FOLLOW,
        a.pod4,
        String(FOLLOW_PORT),
        `${next}:${FOLLOW_PORT}`,
        '8000',
      ]);
      await client.waitFor(/^ready$/m);
      await sleep(300);
      const changed = Date.now();
      await dl.setRecords({ bench: [next] });
      await client.exited;
      const line = client.output().stdout.trim().split('\n').at(-1) ?? '{}';
      const { at } = JSON.parse(line) as { at: number | null };
      if (at === null) {
        throw new Error(
          `new connections did not follow the change to ${next}: ${line}\n${router.output().stdout.slice(-3000)}`,
        );
      }
      follows.push(at - changed);
      current = next;
      await sleep(500 + Math.floor(Math.random() * 500)); // not in step with the router's 1 s rounds
    }
  } finally {
    await router.stop();
    await dropTable();
  }
  return report(samples, follows);
}

function report(samples: readonly Sample[], follows: readonly number[]) {
  const of = (kind: Kind) => samples.filter((s) => s.kind === kind);
  const rate = (kind: Kind) => median(of(kind).map((s) => s.rate));
  const mbps = (kind: Kind) => median(of(kind).map((s) => s.mbps));
  const errors = (kind: Kind) => of(kind).reduce((sum, s) => sum + s.errors, 0);
  const busy = (kind: Kind) => median(of(kind).map((s) => s.busyUsPerConnection));
  // What the path between client and destination adds per connection: the machine's CPU per
  // connection less the direct path's (wrk and the destination cost the same in every case).
  const added = (kind: Kind) => Math.max(busy(kind) - busy('direct'), 0.01);
  const perCore = (kind: Kind) => 1e6 / added(kind);
  const rateRatio = perCore('names') / perCore('haproxy');
  const endToEnd = rate('names') / rate('haproxy');
  const mbpsRatio = mbps('names') / mbps('direct');
  const follow = stats(follows);
  const goals: GoalSummary[] = [
    {
      goal: 'new connections/s one core carries through the name entry vs through haproxy as the old dns-proxy image (1 / the CPU the path adds per connection)',
      target: '≥ 3×',
      measured: `${fmt(perCore('names'), 0)}/s (${fmt(added('names'), 1)} µs per connection)`,
      peer: `${ratio(rateRatio)} haproxy (${fmt(perCore('haproxy'), 0)}/s, ${fmt(added('haproxy'), 1)} µs)`,
      met: rateRatio >= 3,
    },
    {
      goal: 'throughput through the name entry vs a direct path (iperf3)',
      target: '≥ 0.9×',
      measured: `${fmt(mbps('names'), 0)} MB/s`,
      peer: `${ratio(mbpsRatio)} direct (${fmt(mbps('direct'), 0)} MB/s)`,
      met: mbpsRatio >= 0.9,
    },
    {
      goal: 'a DNS change to new connections following (worst of the runs)',
      target: `≤ TTL + 1 s = ${(TTL_MS + 1000) / 1000} s`,
      measured: `${fmt(follow.max, 0)} ms (median ${fmt(follow.median, 0)} ms)`,
      peer: '',
      met: follow.max <= TTL_MS + 1000,
    },
  ];
  const rows = KINDS.map((kind) => [
    TITLES[kind],
    fmt(rate(kind), 0),
    ratio(rate(kind) / rate('haproxy')),
    fmt(busy(kind), 1),
    kind === 'direct' ? '' : fmt(added(kind), 1),
    fmt(mbps(kind), 0),
    ratio(mbps(kind) / mbps('direct')),
    fmt(errors(kind), 0),
  ]);
  const markdown = `
**Goals (issue 13):** through a name entry of the router's own list, new connections per second at
least 3× haproxy configured as the old dns-proxy image, throughput at least 0.9× a direct path, and
new connections following a DNS change within the TTL plus 1 s.

**How:** the DNS proxy's lab (client, pod, node, gateway, outside namespaces; dnsmasq in the
outside namespace answers \`${NAME}\` with a TTL of 1 s). wrk (1 thread, 50 connections,
\`Connection: close\`: one TCP connection per request) for ${RATE_SECONDS} s after a 1 s warm-up, to a
destination that answers and closes (haproxy \`http-request return\`); iperf3 (one stream,
${IPERF_SECONDS} s after 1 s omitted, client and server free to use both cores). ${ROUNDS} round(s), the contenders in turn (reversed every other round), medians.
wrk and the HTTP destination on CPU ${LOAD_CPU}, haproxy (the relay) on CPU ${PROXY_CPU}; the
router's data path is the kernel's (softirq, on the cores the packets are handled on).

**Reading the rate.** On this 2-core machine wrk and the destination saturate CPU ${LOAD_CPU} before
either relay does: the end-to-end rates below are the load generator's ceiling, not the relays'
(the direct path, with nothing in between, is only a little faster). So the rate goal is read as
what one core carries through the path: the machine's busy CPU time (every core, from
/proc/stat) per connection during the wrk run, less the same for the direct path, is what the
path adds per connection; one core's worth of it is the per-core rate. Other work on the machine
during a run adds to every path alike only on average: compare within one run. For the DNS change, the
router runs \`${FOLLOW_PORT} tcp ${NAME} ${FOLLOW_PORT}\`, a client opens a connection every 10 ms,
and the name is moved to the other of two addresses (dnsmasq re-reads its hosts file); the time
runs from the change to the first connection that arrives at the new address. ${FOLLOW_RUNS} runs.

| goal | target | measured | vs peer (same run) | |
| --- | --- | --- | --- | --- |
${goals.map((g) => `| ${g.goal} | ${g.target} | ${g.measured} | ${g.peer} | ${g.met ? 'met' : '**missed**'} |`).join('\n')}

${table(
  [
    'path',
    'connections/s',
    'vs haproxy',
    'machine CPU µs / connection',
    'added by the path, µs',
    'MB/s',
    'vs direct',
    'failed requests',
  ],
  rows,
)}

End to end (wrk, the load generator's ceiling here): ${fmt(rate('names'), 0)} connections/s through the
name entry, ${ratio(endToEnd)} haproxy's ${fmt(rate('haproxy'), 0)}/s; the direct path ${fmt(rate('direct'), 0)}/s.

DNS change to new connections following, ms, per run: ${follows.map((ms) => fmt(ms, 0)).join(', ')}
(the router asks again when the 1 s TTL runs out, so the time is up to one TTL plus the update).
`;
  return {
    markdown,
    goals,
    raw: { samples, follows, rounds: ROUNDS, rateSeconds: RATE_SECONDS, iperfSeconds: IPERF_SECONDS },
  };
}

void main().catch((error: Error) => {
  process.stderr.write(`router-names: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
