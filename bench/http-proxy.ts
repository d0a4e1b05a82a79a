/**
 * Issues 4 and 13: the egress HTTP proxy side by side with squid 5.7 configured the way the old
 * ose-egress-http-proxy image configured it, and tinyproxy, in one run, in the same namespace, each
 * proxy given the same one core (taskset): plain-HTTP requests/s (wrk, 32 connections), CONNECT
 * download MB/s, short-lived CONNECT tunnels per second that each carry one small HTTP exchange (as
 * an HTTPS client's) and the proxy's CPU time per tunnel, and resident memory with 2,000 idle
 * tunnels open (and per tunnel). Plus decisions per second of the policy with 10 and 10,000 rules
 * (micro-benchmark, no network).
 *
 * `--only=rps,mbps,tunnels,memory` runs some of the measurements (for development; the results
 * file then says so).
 *
 * Topology (src/lab): wrk and the load client in the client namespace; the three proxies in the
 * egress router pod (set up by the router in http-proxy mode, so they leave through macvlan0 from
 * the egress source address); nginx and the hold server in the outside namespace.
 */
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab, ProcessHandle } from '../src/lab/index.js';
import { compilePolicy } from '../src/proxy/policy/compile-policy.js';
import { decide } from '../src/proxy/policy/decide.js';
import { toNumericIp } from '../src/proxy/policy/ip.js';
import { parsePolicy } from '../src/proxy/policy/parse-policy.js';
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

const LOAD = fileURLToPath(new URL('./_proxy-load.js', import.meta.url));
const OUT = '203.0.113.25';
const POD = '10.128.0.2';
const quick = process.argv.includes('--quick');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const measures = (what: 'rps' | 'mbps' | 'tunnels' | 'memory') => only === undefined || only.includes(what);
const ROUNDS = quick ? 1 : 3;
const SECONDS = quick ? 3 : 6;
/** The core every proxy runs on (the same for all), and the one the load client and the servers share. */
const PROXY_CPU = '1';
const LOAD_CPU = '0';
const IDLE_TUNNELS = 2000;
const LARGE_MB = quick ? 64 : 256;
/** Our proxy runs on the Node the images ship (the load client on the machine's). */
const NODE = productNode();

interface Proxy {
  readonly name: string;
  readonly port: number;
  /** Not a peer: the runtime's floor, measured for tunnels/s only (bench/_proxy-load.ts bare-relay). */
  readonly reference?: boolean;
  start(ctx: BenchContext): Promise<ProcessHandle>;
}

const PROXIES: readonly Proxy[] = [
  {
    name: 'egress-router',
    port: 8080,
    start: ({ lab }) =>
      spawnQuiet(lab, [NODE.path, ...HTTP_PROXY_NODE_FLAGS, BIN, 'http-proxy'], {
        ...routerEnv({}),
        EGRESS_HTTP_PROXY_DESTINATION: '203.0.113.0/24\n',
        EGRESS_HTTP_PROXY_PORT: '8080',
        // One process on its one core (the default would follow the affinity mask to 1 as well).
        EGRESS_HTTP_PROXY_WORKERS: '1',
      }),
  },
  {
    name: 'squid 5.7',
    port: 3128,
    start: ({ lab, work }) => {
      // The old image's squid.conf (http_port, cache deny all, access_log none, debug_options ALL,0,
      // shutdown_lifetime 0, one acl + http_access per rule, then deny all), plus what squid needs
      // to run here (pid and log files, a host name, enough descriptors for 2,000 tunnels).
      const conf = join(work, 'squid.conf');
      writeFileSync(
        conf,
        [
          'http_port 3128',
          'cache deny all',
          'access_log none all',
          'debug_options ALL,0',
          'shutdown_lifetime 0',
          'pid_filename none',
          'cache_log /dev/null',
          'visible_hostname egress-bench',
          'max_filedescriptors 16384',
          'acl dest1 dst 203.0.113.0/24',
          'http_access allow dest1',
          'http_access deny all',
          '',
        ].join('\n'),
      );
      return spawnQuiet(lab, ['squid', '-N', '-f', conf], {});
    },
  },
  {
    name: 'tinyproxy 1.11',
    port: 8888,
    start: ({ lab, work }) => {
      const conf = join(work, 'tinyproxy.conf');
      writeFileSync(
        conf,
        ['Port 8888', 'Timeout 600', 'MaxClients 8192', 'LogLevel Critical', 'Allow 10.128.0.0/24', ''].join(
          '\n',
        ),
      );
      return spawnQuiet(lab, ['tinyproxy', '-d', '-c', conf], {});
    },
  },
  {
    name: 'bare Node relay (floor)',
    port: 8090,
    reference: true,
    start: ({ lab }) =>
      spawnQuiet(lab, [NODE.path, ...HTTP_PROXY_NODE_FLAGS, LOAD, 'bare-relay', '8090'], {}),
  },
];

/**
 * Starts a proxy in the pod on PROXY_CPU with its output discarded (the descriptor limit here is
 * 20,000). taskset execs the proxy: the handle's pid is the proxy's.
 */
function spawnQuiet(lab: Lab, argv: string[], env: Record<string, string>): Promise<ProcessHandle> {
  return lab.spawnIn('pod', 'bash', ['-c', 'exec taskset -c "$0" "$@" >/dev/null 2>&1', PROXY_CPU, ...argv], {
    env: { ...leanEnv(), ...env },
  });
}

/** Runs a load tool in the client namespace on LOAD_CPU. */
function execLoad(ctx: BenchContext, argv: string[], timeoutMs: number) {
  return ctx.lab.exec('client', 'taskset', ['-c', LOAD_CPU, ...argv], { timeoutMs, env: leanEnv() });
}

async function waitForPort(lab: Lab, ns: 'pod' | 'out', host: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await lab.exec(ns, 'bash', ['-c', 'exec 3<>"/dev/tcp/$0/$1"', host, String(port)], {
      check: false,
    });
    if (r.code === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on ${host}:${port} in ${ns}`);
}

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
}

async function withProxy<T>(
  ctx: BenchContext,
  proxy: Proxy,
  use: (handle: ProcessHandle) => Promise<T>,
): Promise<T> {
  const handle = await proxy.start(ctx);
  try {
    await waitForPort(ctx.lab, 'pod', POD, proxy.port);
    return await use(handle);
  } finally {
    await handle.stop();
  }
}

async function wrkRps(ctx: BenchContext, proxy: Proxy): Promise<number> {
  const script = join(ctx.work, 'absolute.lua');
  writeFileSync(script, `wrk.method = "GET"\nwrk.path = "http://${OUT}/small"\n`);
  const r = await execLoad(
    ctx,
    ['wrk', '-t1', '-c32', `-d${SECONDS}s`, '-s', script, `http://${POD}:${proxy.port}`],
    (SECONDS + 20) * 1000,
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: .*/.exec(r.stdout)?.[0];
  if (errors) ctx.log(`${proxy.name}: wrk reported ${errors}`);
  return rps;
}

async function connectDownloadMBps(ctx: BenchContext, proxy: Proxy): Promise<number> {
  const r = await execLoad(
    ctx,
    [
      'curl',
      '-s',
      '-p',
      '-x',
      `http://${POD}:${proxy.port}`,
      '-o',
      '/dev/null',
      '-w',
      '%{speed_download}',
      `http://${OUT}/large`,
    ],
    120_000,
  );
  return Number(r.stdout) / 1e6;
}

/**
 * Short-lived tunnels per second, each carrying one small HTTP exchange (GET /small from nginx,
 * `Connection: close`), 32 at a time; and the proxy's CPU time per tunnel (µs), which does not
 * depend on whether the proxy or the load client was the limit.
 */
async function tunnelRate(
  ctx: BenchContext,
  proxy: Proxy,
  handle: ProcessHandle,
): Promise<{ perSecond: number; cpuUs: number; busy: number }> {
  const cpuBefore = cpuSeconds(handle.pid);
  const r = await execLoad(
    ctx,
    [NODE.path, LOAD, 'tunnel-exchange', POD, String(proxy.port), `${OUT}:80`, '32', String(SECONDS)],
    (SECONDS + 30) * 1000,
  );
  const cpu = cpuSeconds(handle.pid) - cpuBefore;
  const result = JSON.parse(r.stdout) as {
    tunnels: number;
    seconds: number;
    perSecond: number;
    errors: number;
  };
  if (result.errors > 0) ctx.log(`${proxy.name}: ${result.errors} failed tunnels`);
  return {
    perSecond: result.perSecond,
    cpuUs: (cpu / result.tunnels) * 1e6,
    busy: cpu / result.seconds,
  };
}

async function idleMemory(ctx: BenchContext, proxy: Proxy): Promise<{ baseMb: number; loadedMb: number }> {
  return withProxy(ctx, proxy, async (handle) => {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const base = await rssKb(handle.pid);
    const client = await ctx.lab.spawnIn('client', 'taskset', [
      '-c',
      LOAD_CPU,
      NODE.path,
      LOAD,
      'idle-tunnels',
      POD,
      String(proxy.port),
      `${OUT}:7000`,
      String(IDLE_TUNNELS),
    ]);
    try {
      await client.waitFor(/ready \d+/, { timeoutMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const loaded = await rssKb(handle.pid);
      return { baseMb: base / 1024, loadedMb: loaded / 1024 };
    } finally {
      await client.stop();
    }
  });
}

/** A compiled policy of `rules` rules (names, domains and ranges), then a final `*`. */
function policyOf(rules: number) {
  const lines: string[] = [];
  for (let i = 0; i < rules; i++) {
    if (i % 3 === 0) lines.push(`host${i}.example.com`);
    else if (i % 3 === 1) lines.push(`!*.zone${i}.example.net`);
    else lines.push(`10.${(i >> 8) & 255}.${i & 255}.0/24`);
  }
  lines.push('*');
  const parsed = parsePolicy(lines.join('\n'));
  if (!parsed.ok) throw new Error(parsed.errors[0]!.message);
  return compilePolicy(parsed.value);
}

const DECISION_NAMES = [
  'www.example.org',
  'a.b.zone7.example.net',
  'host3.example.com',
  'deep.sub.domain.example.com',
];
const DECISION_ADDRESS = [toNumericIp('203.0.113.25')!];

/** Decisions per second of one compiled policy over `iterations` decisions. */
function decisionRate(compiled: ReturnType<typeof compilePolicy>, iterations: number): number {
  let sink = 0;
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    sink += decide(compiled, DECISION_NAMES[i & 3], DECISION_ADDRESS).allowed.length;
  }
  const seconds = (performance.now() - started) / 1000;
  if (sink < 0) throw new Error('unreachable');
  return iterations / seconds;
}

/**
 * Decisions per second with 10 and with 10,000 rules: the two take turns for 7 rounds and the
 * medians are compared, so that a moment of load on the shared machine does not decide the ratio.
 */
function decisionsPerSecond(): { ten: number; tenThousand: number } {
  const small = policyOf(10);
  const large = policyOf(10_000);
  const iterations = quick ? 50_000 : 300_000;
  decisionRate(small, iterations);
  decisionRate(large, iterations);
  const ten: number[] = [];
  const tenThousand: number[] = [];
  for (let round = 0; round < 7; round++) {
    ten.push(decisionRate(small, iterations));
    tenThousand.push(decisionRate(large, iterations));
  }
  return { ten: median(ten), tenThousand: median(tenThousand) };
}

await runBench(
  'http-proxy',
  'hp',
  'Egress HTTP proxy versus squid 5.7 and tinyproxy, per core',
  6 * 60_000,
  async (ctx) => {
    const { lab, work, log } = ctx;
    log('setting the pod up with the egress router (http-proxy mode)');
    await lab.exec('pod', process.execPath, [BIN], { env: routerEnv({ EGRESS_ROUTER_MODE: 'http-proxy' }) });

    log(`origin: nginx (small response, ${LARGE_MB} MB file) and a hold server in the outside namespace`);
    const large = join(work, 'large.bin');
    writeFileSync(large, Buffer.alloc(LARGE_MB * 1024 * 1024, 97));
    const nginxConf = join(work, 'nginx.conf');
    writeFileSync(
      nginxConf,
      `worker_processes 1;
pid ${join(work, 'nginx.pid')};
error_log /dev/null crit;
events { worker_connections 16384; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  server {
    listen ${OUT}:80 reuseport backlog=4096;
    location = /small { default_type text/plain; return 200 "hello from the outside\\n"; }
    location = /large { alias ${large}; default_type application/octet-stream; }
  }
}
`,
    );
    const nginx = await lab.spawnIn('out', 'taskset', [
      '-c',
      LOAD_CPU,
      'nginx',
      '-c',
      nginxConf,
      '-g',
      'daemon off;',
    ]);
    const hold = await lab.spawnIn('out', 'taskset', [
      '-c',
      LOAD_CPU,
      NODE.path,
      LOAD,
      'hold-server',
      '7000',
    ]);
    await hold.waitFor(/ready/, { timeoutMs: 10_000 });
    await waitForPort(lab, 'out', OUT, 80);

    const rps = new Map<string, number[]>();
    const mbps = new Map<string, number[]>();
    const tps = new Map<string, number[]>();
    const cpuUs = new Map<string, number[]>();
    const busy = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const proxy of PROXIES) {
        if (!measures('rps') && !measures('mbps') && !measures('tunnels')) break;
        await withProxy(ctx, proxy, async (handle) => {
          log(`round ${round + 1}: ${proxy.name}`);
          if (measures('rps') && !proxy.reference) push(rps, proxy.name, await wrkRps(ctx, proxy));
          if (measures('mbps') && !proxy.reference)
            push(mbps, proxy.name, await connectDownloadMBps(ctx, proxy));
          if (measures('tunnels')) {
            const t = await tunnelRate(ctx, proxy, handle);
            push(tps, proxy.name, t.perSecond);
            push(cpuUs, proxy.name, t.cpuUs);
            push(busy, proxy.name, t.busy);
          }
        });
      }
    }
    const memory = new Map<string, { baseMb: number; loadedMb: number }>();
    for (const proxy of PROXIES) {
      if (!measures('memory')) break;
      if (proxy.reference) continue;
      log(`memory with ${IDLE_TUNNELS} idle tunnels: ${proxy.name}`);
      memory.set(proxy.name, await idleMemory(ctx, proxy));
    }
    await nginx.stop();
    await hold.stop();

    log('policy micro-benchmark');
    const { ten: decisions10, tenThousand: decisions10k } = decisionsPerSecond();

    const ours = PROXIES[0]!.name;
    const squid = PROXIES[1]!.name;
    const peers = PROXIES.slice(1)
      .filter((p) => !p.reference)
      .map((p) => p.name);
    const floor = PROXIES.find((p) => p.reference)!.name;
    const m = (map: Map<string, number[]>, name: string) => {
      const samples = map.get(name) ?? [];
      return samples.length === 0 ? Number.NaN : median(samples);
    };
    const kbPerTunnel = (name: string) => {
      const r = memory.get(name);
      return r === undefined ? Number.NaN : ((r.loadedMb - r.baseMb) * 1024) / IDLE_TUNNELS;
    };
    /** A measure a row does not have (the floor's) is a dash. */
    const cell = (value: number, digits?: number) => (Number.isNaN(value) ? '—' : fmt(value, digits));
    const rows = PROXIES.map((p) => [
      p.name,
      cell(m(rps, p.name), 0),
      cell(m(mbps, p.name), 0),
      cell(m(tps, p.name), 0),
      cell(m(cpuUs, p.name), 0),
      cell(m(busy, p.name) * 100, 0),
      cell(memory.get(p.name)?.baseMb ?? Number.NaN, 1),
      cell(memory.get(p.name)?.loadedMb ?? Number.NaN, 1),
      cell(kbPerTunnel(p.name), 1),
    ]);
    const bestPeer = peers.reduce((best, name) => (m(tps, name) > m(tps, best) ? name : best), peers[0]!);
    const oursMemory = memory.get(ours);
    const squidMemory = memory.get(squid);
    const goals: GoalSummary[] = [];
    if (measures('rps'))
      goals.push(goalAtLeast('plain HTTP requests/s (wrk, 32 connections)', m(rps, ours), m(rps, squid)));
    if (measures('mbps')) goals.push(goalAtLeast('CONNECT download MB/s', m(mbps, ours), m(mbps, squid)));
    if (measures('tunnels')) {
      goals.push({
        goal: 'CONNECT tunnels/s, each with one small HTTP exchange, one core',
        target: "≥ the best peer's",
        measured: fmt(m(tps, ours), 0),
        peer: peers
          .map((name) => `${ratio(m(tps, ours) / m(tps, name))} ${name} (${fmt(m(tps, name), 0)})`)
          .join(', '),
        met: m(tps, ours) >= m(tps, bestPeer),
      });
    }
    if (oursMemory !== undefined && squidMemory !== undefined) {
      goals.push({
        goal: `resident memory with ${IDLE_TUNNELS} idle tunnels`,
        target: "≤ squid's",
        measured: `${fmt(oursMemory.loadedMb)} MB (${fmt(kbPerTunnel(ours), 1)} KB per tunnel)`,
        peer: `${ratio(oursMemory.loadedMb / squidMemory.loadedMb)} squid (${fmt(squidMemory.loadedMb)} MB, ${fmt(kbPerTunnel(squid), 1)} KB per tunnel)`,
        met: oursMemory.loadedMb <= squidMemory.loadedMb,
      });
    }
    goals.push({
      goal: 'policy decisions/s, 10 vs 10,000 rules',
      target: 'the same cost',
      measured: `${fmt(decisions10 / 1e6, 2)} M/s vs ${fmt(decisions10k / 1e6, 2)} M/s`,
      peer: `${ratio(decisions10k / decisions10)} (10,000 / 10)`,
      met: decisions10k / decisions10 > 0.8,
    });
    const markdown = `Medians of ${ROUNDS} rounds of ${SECONDS} s, the proxies taking turns, all in the egress router pod's
namespace, **each proxy pinned to the same one core** (\`taskset -c ${PROXY_CPU}\`); wrk, the load client, nginx
(1 worker) and the hold server share the other core (\`taskset -c ${LOAD_CPU}\`). Other work on the machine
shares both. squid runs the old image's configuration (one process); tinyproxy runs without a filter
(it checks nothing). Our proxy runs as the image runs it: on the images' Node (${NODE.version},
${NODE.origin === "the images' Node" ? 'bench/_image-node.ts' : NODE.origin}; the load client runs on it too), with the image's Node
flags (\`${HTTP_PROXY_NODE_FLAGS.join(' ')}\`), logging one JSON line per request and tunnel (to
/dev/null here; squid's access log is off, as in the old image).${only ? ` Only: ${only.join(', ')}.` : ''}

- **tunnels/s**: short-lived CONNECT tunnels to nginx, 32 at a time, each carrying one \`GET /small\`
  (\`Connection: close\`) sent once the 200 came, read until nginx closes; **CPU µs/tunnel** is the
  proxy's CPU time (all threads, /proc) over the tunnels it carried, and **CPU %** its share of its
  core meanwhile (near 100: the proxy was the limit).
- **RSS**: resident memory before and with ${IDLE_TUNNELS} idle tunnels open (to a server that holds
  them); **KB/tunnel** is the difference over ${IDLE_TUNNELS}.
- **${floor}**: the least a Node CONNECT relay does (the CONNECT line read, connect, 200, bytes and
  FINs passed; no head parsing, policy, limits, timeouts, logs or metrics), on the same Node with the
  same flags: the runtime's floor, for tunnels/s only.${
    measures('tunnels')
      ? ` Ours is ${ratio(m(tps, ours) / m(tps, floor))} the floor; the floor is ${ratio(m(tps, floor) / m(tps, bestPeer))} ${bestPeer}.`
      : ''
  }

${table(
  [
    'proxy',
    'HTTP req/s',
    'CONNECT MB/s',
    'tunnels/s',
    'CPU µs/tunnel',
    'CPU %',
    'RSS idle MB',
    `RSS ${IDLE_TUNNELS} tunnels MB`,
    'KB/tunnel',
  ],
  rows,
)}

Every round: ${JSON.stringify({ rps: Object.fromEntries(rps), mbps: Object.fromEntries(mbps), tunnelsPerSecond: Object.fromEntries(tps), cpuUsPerTunnel: Object.fromEntries(cpuUs) })}

Policy micro-benchmark (\`decide\` on four names, one address; names, \`*.domain\` and CIDR rules;
medians of 7 rounds, the two policies taking turns):
${fmt(decisions10 / 1e6, 2)} M decisions/s with 10 rules, ${fmt(decisions10k / 1e6, 2)} M/s with 10,000.

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
        nodeFlags: HTTP_PROXY_NODE_FLAGS,
        proxyCpu: PROXY_CPU,
        only,
        rps: Object.fromEntries(rps),
        mbps: Object.fromEntries(mbps),
        tps: Object.fromEntries(tps),
        cpuUsPerTunnel: Object.fromEntries(cpuUs),
        busy: Object.fromEntries(busy),
        memory: Object.fromEntries(memory),
        decisions10,
        decisions10k,
      },
    };
  },
);

function push(map: Map<string, number[]>, key: string, value: number): void {
  map.set(key, [...(map.get(key) ?? []), value]);
}

function goalAtLeast(goal: string, ours: number, squid: number): GoalSummary {
  return {
    goal,
    target: "≥ squid's",
    measured: fmt(ours, 0),
    peer: `${ratio(ours / squid)} squid (${fmt(squid, 0)})`,
    met: ours >= squid,
  };
}
