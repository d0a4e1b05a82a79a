import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { ProcessHandle } from '../src/lab/index.js';
import { groupMembers } from '../src/lab/process.js';
import { parseSample } from '../src/runtime/prometheus-sum.js';
import { DnsProxyLab, jsonLines } from './dns-proxy/_dns-lab.js';
import {
  BIN,
  configMapDir,
  connectRequest,
  getRequest,
  type LogLine,
  ProxyLab,
  type RunningProxy,
  skipReason,
  sleep,
} from './http-proxy/_proxy-lab.js';

const skip = skipReason();

/** One series' value in a Prometheus exposition. */
function metric(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    const sample = parseSample(line);
    if (sample?.head === series) return sample.value;
  }
  return undefined;
}

/** The workers' process ids, by number, from the supervisor's "workers started" line. */
function workerPids(proxy: RunningProxy): Map<number, number> {
  const started = proxy.logs().find((l) => l.worker === 0 && l.msg === 'workers started');
  const pids = (started?.pids ?? {}) as Record<string, number>;
  return new Map(Object.entries(pids).map(([index, pid]) => [Number(index), pid]));
}

const byWorker = (lines: LogLine[], msg: string) =>
  [...new Set(lines.filter((l) => l.msg === msg).map((l) => l.worker))].sort();

/** Waits until the workers `expected` have each logged `msg` (lines come in batches, up to 200 ms late). */
async function loggedBy(proxy: RunningProxy, msg: string, expected: number[]): Promise<void> {
  const deadline = Date.now() + 3000;
  while (JSON.stringify(byWorker(proxy.logs(), msg)) !== JSON.stringify(expected)) {
    if (Date.now() > deadline) assert.deepEqual(byWorker(proxy.logs(), msg), expected, msg);
    await sleep(50);
  }
}

// EGRESS_HTTP_PROXY_WORKERS: N worker processes share the proxy port; one policy, reloaded in
// every worker by the supervisor; metrics summed on its admin port; crashed workers restarted.
describe('http-proxy with 2 workers', { skip }, () => {
  let lab: ProxyLab;
  let proxy: RunningProxy;
  let configMap: ReturnType<typeof configMapDir>;
  before(async () => {
    configMap = configMapDir('# v1\n203.0.113.0/24\n');
    lab = await ProxyLab.create('wk');
    proxy = await lab.startProxy({
      EGRESS_HTTP_PROXY_DESTINATION_FILE: configMap.path,
      EGRESS_HTTP_PROXY_WORKERS: '2',
      EGRESS_HTTP_PROXY_DRAIN_MS: '5000',
    });
    await proxy.waitForLog((l) => l.msg === 'workers started', 10_000);
  });
  after(async () => {
    try {
      await lab?.destroy();
    } finally {
      configMap?.remove();
    }
  });

  const status = async (url: string) => (await lab.raw(getRequest(url))).status;

  test('two workers listen; every log line says which worker (0: the supervisor)', async () => {
    assert.equal(workerPids(proxy).size, 2);
    await loggedBy(proxy, 'egress HTTP proxy listening', [1, 2]);
    assert.ok(proxy.logs().every((l) => typeof l.worker === 'number'));
    assert.equal(groupMembers(proxy.handle.pid).length, 3, 'the supervisor and two workers');
  });

  test('metrics are the sums over the workers, with the workers running and restarted', async () => {
    const before = await lab.admin('/metrics');
    const series = 'egress_http_proxy_requests_total{kind="http",decision="allow",status="200"}';
    const already = metric(before.body, series) ?? 0;
    // Concurrent connections, so that both workers take some.
    const statuses = await Promise.all(Array.from({ length: 40 }, () => status('http://203.0.113.25/')));
    assert.deepEqual([...new Set(statuses)], [200]);
    await sleep(300);
    const served = proxy.requestLogs().filter((l) => l.status === 200);
    const { status: code, body } = await lab.admin('/metrics');
    assert.equal(code, 200);
    assert.equal(metric(body, series), already + 40);
    assert.equal(metric(body, 'egress_http_proxy_workers'), 2);
    assert.equal(metric(body, 'egress_http_proxy_worker_restarts_total'), 0);
    assert.equal(metric(body, 'egress_http_proxy_policy_rules'), 1, 'the same policy in each: not summed');
    // The process metrics add up the processes: three resident set sizes.
    assert.ok((metric(body, 'process_resident_memory_bytes') ?? 0) > 3 * 20e6);
    assert.equal(served.length, already + 40);
    assert.equal((await lab.admin('/readyz')).status, 200);
  });

  test('a policy reload reaches every worker; a bad one is refused once, everywhere', async () => {
    configMap.update('# v2\n!203.0.113.25\n203.0.113.0/24\n');
    await proxy.waitForLog((l) => l.msg === 'policy reloaded in every worker', 5000);
    await loggedBy(proxy, 'policy reloaded', [1, 2]);
    const statuses = await Promise.all(Array.from({ length: 20 }, () => status('http://203.0.113.25/')));
    assert.deepEqual([...new Set(statuses)], [403], 'every worker denies now');

    configMap.update('203.0.113.0/24\n!foo bar\n');
    const invalid = await proxy.waitForLog(
      (l) => l.msg === 'new policy is invalid; the running policy stays',
    );
    assert.equal(invalid.worker, 0);
    assert.equal(invalid.error, "Bad destination 'foo bar'");
    await sleep(700);
    assert.equal(proxy.logs().filter((l) => l.msg === 'policy reloaded').length, 2, 'no worker reloaded');
    const after = await Promise.all(Array.from({ length: 10 }, () => status('http://203.0.113.25/')));
    assert.deepEqual([...new Set(after)], [403], 'the running policy stays');
    const { body } = await lab.admin('/metrics');
    assert.equal(metric(body, 'egress_http_proxy_policy_reloads_total{result="applied"}'), 1);
    assert.equal(metric(body, 'egress_http_proxy_policy_reloads_total{result="invalid"}'), 1);
  });

  test('a worker killed with SIGKILL is restarted with the running policy, and counted', async () => {
    const victim = workerPids(proxy).get(1)!;
    const readyBefore = proxy.logs().filter((l) => l.msg === 'worker ready' && l.index === 1).length;
    process.kill(victim, 'SIGKILL');
    const exited = await proxy.waitForLog((l) => l.msg === 'worker exited; restarting it', 5000);
    assert.equal(exited.index, 1);
    assert.equal(exited.signal, 'SIGKILL');
    // Meanwhile the other worker serves.
    assert.equal(await status('http://203.0.113.26/'), 200);
    const deadline = Date.now() + 5000;
    while (proxy.logs().filter((l) => l.msg === 'worker ready' && l.index === 1).length === readyBefore) {
      assert.ok(Date.now() < deadline, 'worker 1 ready again');
      await sleep(50);
    }
    const listening = () =>
      proxy.logs().filter((l) => l.msg === 'egress HTTP proxy listening' && l.worker === 1);
    while (listening().length < 2) {
      assert.ok(Date.now() < deadline + 1000, 'the restarted worker logs that it listens');
      await sleep(50);
    }
    assert.equal(listening().at(-1)?.rules, 2, 'the restarted worker runs the reloaded policy (2 rules)');
    const { body } = await lab.admin('/metrics');
    assert.equal(metric(body, 'egress_http_proxy_worker_restarts_total'), 1);
    assert.equal(metric(body, 'egress_http_proxy_workers'), 2);
    const statuses = await Promise.all(Array.from({ length: 20 }, () => status('http://203.0.113.25/')));
    assert.deepEqual([...new Set(statuses)], [403]);
  });

  test('SIGTERM drains every worker: open tunnels keep relaying, new connections are refused, exit 0', async () => {
    const tunnels = [];
    for (let i = 0; i < 6; i++) {
      const tunnel = await lab.connect();
      tunnel.write(connectRequest('203.0.113.26:7'));
      assert.equal(await tunnel.readUntil('\r\n\r\n'), 'HTTP/1.1 200 Connection established\r\n\r\n');
      tunnels.push(tunnel);
    }
    process.kill(proxy.handle.pid, 'SIGTERM');
    await proxy.waitForLog((l) => l.msg === 'stopping: every worker drains');
    await loggedBy(proxy, 'stopping: draining open requests and tunnels', [1, 2]);
    assert.equal((await lab.admin('/readyz')).status, 503);
    await assert.rejects(lab.raw(getRequest('http://203.0.113.26/'), 1000), 'no new connection taken');
    for (const [i, tunnel] of tunnels.entries()) {
      tunnel.write(`still ${i}\n`);
      assert.equal(await tunnel.read(8), `still ${i}\n`);
    }
    assert.equal(proxy.handle.running(), true, 'still draining');
    for (const tunnel of tunnels) tunnel.end();
    assert.deepEqual(await proxy.handle.exited, { code: 0, signal: null });
    await loggedBy(proxy, 'stopped', [0, 1, 2]);
    assert.equal(proxy.logs().filter((l) => l.msg === 'tunnel' && l.status === 200).length >= 6, true);
  });
});

// EGRESS_DNS_PROXY_WORKERS: the same supervisor for the DNS proxy's ports.
describe('dns-proxy with 2 workers', { skip }, () => {
  let dl: DnsProxyLab;
  let proxy: ProcessHandle;
  let configMap: ReturnType<typeof configMapDir>;
  const lines = () => jsonLines<LogLine>(proxy);
  const waitLine = async (match: (l: LogLine) => boolean, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines().find(match);
      if (found) return found;
      assert.ok(Date.now() < deadline && proxy.running(), `no such line: ${proxy.output().stdout}`);
      await sleep(50);
    }
  };
  const byDnsWorker = async (msg: string, expected: number[]) => {
    const deadline = Date.now() + 3000;
    const seen = () =>
      [
        ...new Set(
          lines()
            .filter((l) => l.msg === msg)
            .map((l) => l.worker),
        ),
      ].sort();
    while (JSON.stringify(seen()) !== JSON.stringify(expected)) {
      if (Date.now() > deadline) assert.deepEqual(seen(), expected, msg);
      await sleep(50);
    }
  };
  before(async () => {
    dl = await DnsProxyLab.create({ prefix: `dwk${process.pid}` });
    await dl.setRecords({ one: ['203.0.113.25'] });
    await dl.startUpstream(['7001', '7003']);
    configMap = configMapDir('9301 203.0.113.25 7001\n');
    proxy = await dl.startProxy({
      EGRESS_DNS_PROXY_DESTINATION_FILE: configMap.path,
      EGRESS_DNS_PROXY_WORKERS: '2',
      EGRESS_DNS_PROXY_DRAIN_TIMEOUT_SECONDS: '5',
      EGRESS_DNS_PROXY_MIN_TTL_SECONDS: '0.5',
      EGRESS_DNS_PROXY_MAX_TTL_SECONDS: '2',
    });
    await waitLine((l) => l.msg === 'workers started', 10_000);
  });
  after(async () => {
    try {
      await dl?.destroy();
    } finally {
      configMap?.remove();
    }
  });

  test('a list reload reaches every worker; a bad one is refused once, everywhere', async () => {
    configMap.update('9301 203.0.113.25 7001\n9302 one.egress.test 7003\n');
    await waitLine((l) => l.msg === 'destination list applied in every worker');
    await byDnsWorker('destination list applied', [1, 2]);
    const outcomes = await dl.requests(9302, 10);
    assert.deepEqual([...new Set(outcomes.map((o) => (o.ok ? o.local : o.failure)))], ['203.0.113.25:7003']);

    configMap.update('9301 203.0.113.25 7001\n9303 not-a-name\n');
    const invalid = await waitLine((l) => l.msg === 'invalid destination list, the running list stays');
    assert.equal(invalid.worker, 0);
    assert.equal(invalid.error, "Bad destination '9303 not-a-name'");
    await sleep(700);
    assert.equal(
      lines().filter((l) => l.msg === 'invalid destination list, the running list stays').length,
      1,
    );
    assert.equal(lines().filter((l) => l.msg === 'destination list applied').length, 2, 'no worker changed');
    const { body } = await dl.admin('/metrics');
    assert.equal(metric(body, 'egress_dns_proxy_reloads_total{result="applied"}'), 1);
    assert.equal(metric(body, 'egress_dns_proxy_reloads_total{result="invalid"}'), 1);
    assert.equal(
      metric(
        body,
        'egress_dns_proxy_connections_total{port="9302",destination="one.egress.test",result="ok"}',
      ),
      10,
      'summed over the workers',
    );
    assert.equal(metric(body, 'egress_dns_proxy_addresses{port="9302",destination="one.egress.test"}'), 1);
  });

  test('a worker killed with SIGKILL is restarted with the running list, and counted', async () => {
    const started = lines().find((l) => l.msg === 'workers started');
    const victim = (started!.pids as Record<string, number>)['2']!;
    process.kill(victim, 'SIGKILL');
    const exited = await waitLine((l) => l.msg === 'worker exited; restarting it');
    assert.equal(exited.index, 2);
    await waitLine(
      (l) => l.msg === 'dns proxy started' && l.worker === 2 && (l.entries as string[]).length === 2,
    );
    const { body } = await dl.admin('/metrics');
    assert.equal(metric(body, 'egress_dns_proxy_worker_restarts_total'), 1);
    assert.equal(metric(body, 'egress_dns_proxy_workers'), 2);
    const outcomes = await dl.requests(9302, 6);
    assert.ok(outcomes.every((o) => o.ok));
  });

  test('SIGTERM drains every worker: an open connection finishes, new ones are refused, exit 0', async () => {
    const held = await dl.hold(9301);
    process.kill(proxy.pid, 'SIGTERM');
    await waitLine((l) => l.msg === 'stopping: every worker drains');
    await byDnsWorker('draining', [1, 2]);
    const [refused] = await dl.requests(9301, 1);
    assert.equal(!refused?.ok && refused?.failure, 'refused');
    await sleep(300);
    assert.equal(proxy.running(), true, 'still draining');
    const summary = await held.finish();
    assert.deepEqual(summary.errors, []);
    assert.deepEqual(await proxy.exited, { code: 0, signal: null });
    const stopped = lines().filter((l) => l.event === 'stopped' && l.worker !== 0);
    assert.equal(
      stopped.reduce((n, l) => n + Number(l.open), 0),
      1,
      'one connection was open, in one worker',
    );
    assert.equal(
      stopped.reduce((n, l) => n + Number(l.cut), 0),
      0,
    );
  });
});

describe('http-proxy with 1 worker', { skip }, () => {
  let lab: ProxyLab;
  before(async () => {
    lab = await ProxyLab.create('wk1');
  });
  after(async () => {
    await lab?.destroy();
  });

  test('EGRESS_HTTP_PROXY_WORKERS=1 is one process, as before: no supervisor, no worker field', async () => {
    const proxy = await lab.startProxy({
      EGRESS_HTTP_PROXY_DESTINATION: '203.0.113.0/24\n',
      EGRESS_HTTP_PROXY_WORKERS: '1',
    });
    assert.equal((await lab.raw(getRequest('http://203.0.113.25/'))).status, 200);
    await proxy.requestLog(0);
    assert.deepEqual(groupMembers(proxy.handle.pid), [proxy.handle.pid]);
    assert.ok(proxy.logs().every((l) => !('worker' in l)));
    const { body } = await lab.admin('/metrics');
    assert.equal(metric(body, 'egress_http_proxy_workers'), undefined);
    await proxy.stop();
  });
});

describe('EGRESS_HTTP_PROXY_WORKERS and EGRESS_DNS_PROXY_WORKERS errors', () => {
  const cases: [string, Record<string, string>, string][] = [
    [
      'http-proxy',
      { EGRESS_HTTP_PROXY_DESTINATION: '*', EGRESS_HTTP_PROXY_WORKERS: 'two' },
      "EGRESS_HTTP_PROXY_WORKERS 'two' is invalid, must be a whole number from 0 to 256",
    ],
    [
      'dns-proxy',
      { EGRESS_DNS_PROXY_DESTINATION: '80 203.0.113.25', EGRESS_DNS_PROXY_WORKERS: '-2' },
      "EGRESS_DNS_PROXY_WORKERS '-2' is invalid: must be a whole number from 0 to 256",
    ],
  ];
  for (const [command, env, line] of cases) {
    test(`${command} refuses a bad worker count: one line on stderr, exit 1`, () => {
      const result = spawnSync(process.execPath, [BIN, command], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
        encoding: 'utf8',
        timeout: 10_000,
      });
      assert.equal(result.status, 1);
      assert.equal(result.stderr, `${line}\n`);
      assert.equal(result.stdout, '');
    });
  }
});
