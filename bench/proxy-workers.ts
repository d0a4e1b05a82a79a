/**
 * Issue 13: the proxies with EGRESS_*_PROXY_WORKERS=2 against 1 worker, and against their peers
 * with two workers: squid 5.7 with `workers 2` (SMP) for the HTTP proxy, haproxy 2.6 with
 * `nbthread 2` for the DNS proxy; plain-HTTP requests/s (wrk, 64 keep-alive connections), short
 * CONNECT tunnels/s each carrying one small HTTP exchange, and the DNS proxy's new connections/s
 * (wrk with `Connection: close` through an address entry), each in total and per CPU-second of the
 * proxy (all its processes). Plus how the kernel spreads connections over two workers: one shared
 * listening socket (cluster SCHED_NONE, what the proxies do) against SO_REUSEPORT (`reusePort`).
 *
 * Nothing is pinned: the machine has 2 cores, and the proxies' workers, the load clients and nginx
 * share them, so "per CPU-second" (rate over the proxy's CPU time) is the per-core figure; the
 * totals say what 2 workers give on this machine when the load shares it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab, ProcessHandle } from '../src/lab/index.js';
import { groupMembers } from '../src/lab/process.js';
import { HTTP_PROXY_NODE_FLAGS } from '../src/runtime/node-flags.js';
import {
  type BenchContext,
  BIN,
  fmt,
  type GoalSummary,
  leanEnv,
  median,
  ratio,
  routerEnv,
  runBench,
  table,
} from './_common.js';
import { productNode } from './_image-node.js';
import { cpuSeconds } from './_procs.js';
import { oldImageHaproxyConfig } from './dns-proxy-haproxy.js';

const LOAD = fileURLToPath(new URL('./_proxy-load.js', import.meta.url));
const ACCEPT = fileURLToPath(new URL('./_workers-accept.js', import.meta.url));
const OUT = '203.0.113.25';
const POD = '10.128.0.2';
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 2;
const SECONDS = quick ? 2 : 5;
const NODE = productNode();

/** A proxy set-up under test: how to start it, where it listens. */
interface Case {
  readonly name: string;
  readonly port: number;
  start(ctx: BenchContext): Promise<ProcessHandle>;
}

function spawnQuiet(lab: Lab, argv: string[], env: Record<string, string>): Promise<ProcessHandle> {
  return lab.spawnIn('pod', 'bash', ['-c', 'exec "$@" >/dev/null 2>&1', 'proxy', ...argv], {
    env: { ...leanEnv(), ...env },
  });
}

const ours = (workers: number): Case => ({
  name: `egress-router, ${workers} worker${workers === 1 ? '' : 's'}`,
  port: 8080,
  start: ({ lab }) =>
    spawnQuiet(lab, [NODE.path, ...HTTP_PROXY_NODE_FLAGS, BIN, 'http-proxy'], {
      ...routerEnv({}),
      EGRESS_HTTP_PROXY_DESTINATION: '203.0.113.0/24\n',
      EGRESS_HTTP_PROXY_WORKERS: String(workers),
    }),
});

const squid2: Case = {
  name: 'squid 5.7, workers 2',
  port: 3128,
  start: ({ lab, work }) => {
    // The old image's squid.conf (as bench/http-proxy.ts) plus `workers 2`; --foreground keeps the
    // SMP kids (coordinator and two workers) under one parent in the process group.
    const conf = join(work, 'squid-smp.conf');
    writeFileSync(
      conf,
      [
        'http_port 3128',
        'workers 2',
        'cache deny all',
        'access_log none all',
        'debug_options ALL,0',
        'shutdown_lifetime 0',
        `pid_filename ${join(work, 'squid.pid')}`,
        'cache_log /dev/null',
        'visible_hostname egress-bench',
        'max_filedescriptors 16384',
        'acl dest1 dst 203.0.113.0/24',
        'http_access allow dest1',
        'http_access deny all',
        '',
      ].join('\n'),
    );
    return spawnQuiet(lab, ['squid', '--foreground', '-f', conf], {});
  },
};

const oursDns = (workers: number): Case => ({
  name: `egress-router dns-proxy, ${workers} worker${workers === 1 ? '' : 's'}`,
  port: 8001,
  start: ({ lab }) =>
    spawnQuiet(lab, [NODE.path, BIN, 'dns-proxy'], {
      ...routerEnv({}),
      EGRESS_DNS_PROXY_DESTINATION: `8001 ${OUT} 80\n`,
      EGRESS_DNS_PROXY_WORKERS: String(workers),
    }),
});

const haproxy2: Case = {
  name: 'haproxy 2.6, nbthread 2',
  port: 8001,
  start: ({ lab, work }) => {
    const cfg = join(work, 'haproxy-nbthread2.cfg');
    const text = oldImageHaproxyConfig([{ port: 8001, target: OUT, targetPort: 80, isName: false }], []);
    writeFileSync(cfg, text.replace('    maxconn     4000', '    maxconn     4000\n    nbthread    2'));
    return spawnQuiet(lab, ['haproxy', '-db', '-f', cfg], {});
  },
};

const accept = (mode: 'shared' | 'reuseport'): Case => ({
  name: mode === 'shared' ? 'one shared socket (SCHED_NONE)' : 'SO_REUSEPORT, a socket per worker',
  port: 8099,
  start: ({ lab }) =>
    lab.spawnIn('pod', NODE.path, [ACCEPT, mode, '2', '0.0.0.0', '8099'], { env: leanEnv() }),
});

/** CPU seconds of every process of a group, from /proc. */
async function groupCpu(pids: readonly number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    try {
      total += cpuSeconds(pid);
    } catch {
      // Gone.
    }
  }
  return total;
}

async function waitForPort(lab: Lab, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await lab.exec('pod', 'bash', ['-c', 'exec 3<>"/dev/tcp/$0/$1"', POD, String(port)], {
      check: false,
    });
    if (r.code === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on ${POD}:${port}`);
}

/** A rate and the proxy's CPU meanwhile. */
interface Measured {
  readonly perSecond: number;
  /** The proxy's CPU seconds per second of the run (2: both cores). */
  readonly cores: number;
}

async function measure(handle: ProcessHandle, run: () => Promise<{ count: number; seconds: number }>) {
  const pids = groupMembers(handle.pid);
  const cpu0 = await groupCpu(pids);
  const { count, seconds } = await run();
  const cpu = (await groupCpu(pids)) - cpu0;
  return { perSecond: count / seconds, cores: cpu / seconds };
}

async function wrk(
  ctx: BenchContext,
  port: number,
  close: boolean,
): Promise<{ count: number; seconds: number }> {
  const script = join(ctx.work, close ? 'direct.lua' : 'absolute.lua');
  writeFileSync(
    script,
    close
      ? 'wrk.method = "GET"\nwrk.path = "/small"\nwrk.headers["Connection"] = "close"\n'
      : `wrk.method = "GET"\nwrk.path = "http://${OUT}/small"\n`,
  );
  const r = await ctx.lab.exec(
    'client',
    'wrk',
    ['-t2', '-c64', `-d${SECONDS}s`, '-s', script, `http://${POD}:${port}`],
    { timeoutMs: (SECONDS + 20) * 1000, env: leanEnv() },
  );
  const count = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
  const seconds = Number(/requests in ([\d.]+)s/.exec(r.stdout)?.[1]);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: .*/.exec(r.stdout)?.[0];
  if (errors) ctx.log(`port ${port}: wrk reported ${errors}`);
  return { count, seconds };
}

/** Two load clients (one per core) of short tunnels with one exchange each, 32 at a time each. */
async function tunnels(ctx: BenchContext, port: number): Promise<{ count: number; seconds: number }> {
  const results = await Promise.all(
    [0, 1].map(() =>
      ctx.lab.exec(
        'client',
        NODE.path,
        [LOAD, 'tunnel-exchange', POD, String(port), `${OUT}:80`, '32', String(SECONDS)],
        {
          timeoutMs: (SECONDS + 30) * 1000,
          env: leanEnv(),
        },
      ),
    ),
  );
  const parsed = results.map(
    (r) => JSON.parse(r.stdout) as { tunnels: number; seconds: number; errors: number },
  );
  const errors = parsed.reduce((n, p) => n + p.errors, 0);
  if (errors > 0) ctx.log(`port ${port}: ${errors} failed tunnels`);
  return {
    count: parsed.reduce((n, p) => n + p.tunnels, 0),
    seconds: Math.max(...parsed.map((p) => p.seconds)),
  };
}

async function withCase<T>(
  ctx: BenchContext,
  c: Case,
  use: (handle: ProcessHandle) => Promise<T>,
): Promise<T> {
  const handle = await c.start(ctx);
  try {
    await waitForPort(ctx.lab, c.port);
    await new Promise((resolve) => setTimeout(resolve, 300));
    return await use(handle);
  } finally {
    await handle.stop(5000);
  }
}

function push(map: Map<string, Measured[]>, key: string, value: Measured): void {
  map.set(key, [...(map.get(key) ?? []), value]);
}

await runBench(
  'proxy-workers',
  'pw',
  'The proxies with 2 workers: versus 1 worker, squid workers 2, haproxy nbthread 2',
  5 * 60_000,
  async (ctx) => {
    const { lab, work, log } = ctx;
    log('setting the pod up with the egress router (http-proxy mode)');
    await lab.exec('pod', process.execPath, [BIN], { env: routerEnv({ EGRESS_ROUTER_MODE: 'http-proxy' }) });
    // Tens of thousands of short connections: the connecting sides reuse TIME_WAIT ports (as
    // bench/dns-proxy.ts does), or they run out of ephemeral ports within a run.
    for (const ns of ['client', 'pod'] as const) {
      await lab.sysctl(ns, 'net.ipv4.tcp_tw_reuse', 1);
      await lab.sysctl(ns, 'net.ipv4.ip_local_port_range', '1024 65535');
    }
    const nginxConf = join(work, 'nginx.conf');
    writeFileSync(
      nginxConf,
      `worker_processes 1;
pid ${join(work, 'nginx.pid')};
error_log /dev/null crit;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen ${OUT}:80 reuseport backlog=4096;
    location = /small { default_type text/plain; return 200 "hello from the outside\\n"; }
  }
}
`,
    );
    const nginx = await lab.spawnIn('out', 'nginx', ['-c', nginxConf, '-g', 'daemon off;']);
    const rps = new Map<string, Measured[]>();
    const tps = new Map<string, Measured[]>();
    const cps = new Map<string, Measured[]>();
    const balance = new Map<string, number[]>();
    const acceptRate = new Map<string, Measured[]>();
    const httpCases = [ours(1), ours(2), squid2];
    const dnsCases = [oursDns(1), oursDns(2), haproxy2];
    const acceptCases = [accept('shared'), accept('reuseport')];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        for (const c of httpCases) {
          log(`round ${round + 1}: ${c.name}`);
          await withCase(ctx, c, async (handle) => {
            push(rps, c.name, await measure(handle, () => wrk(ctx, c.port, false)));
            push(tps, c.name, await measure(handle, () => tunnels(ctx, c.port)));
          });
        }
        for (const c of dnsCases) {
          log(`round ${round + 1}: ${c.name}`);
          await withCase(ctx, c, async (handle) => {
            push(cps, c.name, await measure(handle, () => wrk(ctx, c.port, true)));
          });
        }
        for (const c of acceptCases) {
          log(`round ${round + 1}: ${c.name}`);
          const handle = await c.start(ctx);
          try {
            await handle.waitFor(/^ready$/m, { timeoutMs: 10_000 });
            push(acceptRate, c.name, await measure(handle, () => wrk(ctx, c.port, true)));
            handle.child.kill('SIGTERM');
            await handle.waitFor(/"counts"/, { timeoutMs: 5000 });
            const counts = (
              JSON.parse(/\{"counts".*\}/.exec(handle.output().stdout)![0]) as { counts: number[] }
            ).counts;
            const total = counts.reduce((a, b) => a + b, 0);
            balance.set(c.name, [...(balance.get(c.name) ?? []), Math.min(...counts) / total]);
          } finally {
            await handle.stop();
          }
        }
      }
    } finally {
      await nginx.stop();
    }

    const med = (map: Map<string, Measured[]>, name: string) => {
      const samples = map.get(name) ?? [];
      return {
        perSecond: median(samples.map((s) => s.perSecond)),
        cores: median(samples.map((s) => s.cores)),
      };
    };
    const row = (map: Map<string, Measured[]>, name: string, base: string) => {
      const m = med(map, name);
      const b = med(map, base);
      return [
        name,
        fmt(m.perSecond, 0),
        ratio(m.perSecond / b.perSecond),
        fmt(m.cores * 100, 0),
        fmt(m.perSecond / m.cores, 0),
        ratio(m.perSecond / m.cores / (b.perSecond / b.cores)),
      ];
    };
    const headers = (what: string) => [
      'proxy',
      `${what} (total)`,
      'vs 1 worker',
      'proxy CPU %',
      `${what} per CPU-second`,
      'vs 1 worker',
    ];
    const [one, two, squid] = httpCases.map((c) => c.name) as [string, string, string];
    const [dns1, dns2, haproxy] = dnsCases.map((c) => c.name) as [string, string, string];
    const [shared, reuse] = acceptCases.map((c) => c.name) as [string, string];
    const goals: GoalSummary[] = [
      {
        goal: 'HTTP proxy, 2 workers: plain HTTP requests/s (total)',
        target: "≥ squid's with workers 2",
        measured: `${fmt(med(rps, two).perSecond, 0)} (${ratio(med(rps, two).perSecond / med(rps, one).perSecond)} 1 worker)`,
        peer: `${ratio(med(rps, two).perSecond / med(rps, squid).perSecond)} squid workers 2 (${fmt(med(rps, squid).perSecond, 0)})`,
        met: med(rps, two).perSecond >= med(rps, squid).perSecond,
      },
      {
        goal: 'HTTP proxy, 2 workers: CONNECT tunnels/s with one exchange (total)',
        target: "≥ squid's with workers 2",
        measured: `${fmt(med(tps, two).perSecond, 0)} (${ratio(med(tps, two).perSecond / med(tps, one).perSecond)} 1 worker)`,
        peer: `${ratio(med(tps, two).perSecond / med(tps, squid).perSecond)} squid workers 2 (${fmt(med(tps, squid).perSecond, 0)})`,
        met: med(tps, two).perSecond >= med(tps, squid).perSecond,
      },
      {
        goal: 'DNS proxy, 2 workers: new connections/s (total)',
        target: '> 1 worker',
        measured: `${fmt(med(cps, dns2).perSecond, 0)} (${ratio(med(cps, dns2).perSecond / med(cps, dns1).perSecond)} 1 worker)`,
        peer: `${ratio(med(cps, dns2).perSecond / med(cps, haproxy).perSecond)} haproxy nbthread 2 (${fmt(med(cps, haproxy).perSecond, 0)})`,
        met: med(cps, dns2).perSecond > med(cps, dns1).perSecond,
      },
    ];
    const balanceOf = (name: string) => fmt(median(balance.get(name) ?? []) * 100, 0);
    const markdown = `Medians of ${ROUNDS} rounds of ${SECONDS} s, the set-ups taking turns, in the egress router pod's namespace
(set up by the router in http-proxy mode), on the images' Node (${NODE.version}) with the image's flags.
**Nothing is pinned**: the machine has 2 cores, shared by the proxy's processes, the load clients (wrk
with 2 threads and 64 connections; two tunnel clients of 32) and nginx (the destination, 1 worker).
So the totals say what a second worker gives when the load shares the machine, and **per
CPU-second** (the rate over the CPU time of all the proxy's processes, /proc) is the per-core cost.
squid runs the old image's configuration with \`workers 2\` (SMP: a coordinator and two kids; it
works here, shared memory and its IPC sockets included); haproxy the old image's with \`nbthread 2\`;
the DNS proxy relays through an address entry to nginx. The client and pod namespaces reuse TIME_WAIT
ports (\`tcp_tw_reuse=1\`, ports 1024-65535).

HTTP proxy, plain HTTP requests (keep-alive):

${table(headers('req/s'), [row(rps, one, one), row(rps, two, one), row(rps, squid, one)])}

HTTP proxy, short CONNECT tunnels carrying one exchange each:

${table(headers('tunnels/s'), [row(tps, one, one), row(tps, two, one), row(tps, squid, one)])}

DNS proxy, new connections (each one request, \`Connection: close\`):

${table(headers('connections/s'), [row(cps, dns1, dns1), row(cps, dns2, dns1), row(cps, haproxy, dns1)])}

How two workers share connections (a bare Node server on ${NODE.version} answering each connection and
closing it; wrk as above): the rate, and the share of the connections the less busy worker took (50:
even).

${table(
  ['listening sockets', 'connections/s', 'CPU %', "less busy worker's share %"],
  [shared, reuse].map((name) => [
    name,
    fmt(med(acceptRate, name).perSecond, 0),
    fmt(med(acceptRate, name).cores * 100, 0),
    balanceOf(name),
  ]),
)}

${table(
  ['goal', 'target', 'measured', 'versus', 'met'],
  goals.map((g) => [g.goal, g.target, g.measured, g.peer, g.met ? 'yes' : '**no**']),
)}
`;
    return {
      markdown,
      goals,
      raw: {
        productNode: NODE.version,
        rounds: ROUNDS,
        seconds: SECONDS,
        rps: Object.fromEntries(rps),
        tps: Object.fromEntries(tps),
        cps: Object.fromEntries(cps),
        accept: Object.fromEntries(acceptRate),
        balance: Object.fromEntries(balance),
      },
    };
  },
);
