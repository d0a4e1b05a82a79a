import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DNS_QUERY_TIMEOUT_MS, DNS_QUERY_TRIES } from '../../src/dns-proxy/dns-lookup.js';
import type { ProcessHandle } from '../../src/lab/index.js';
import { LOG_FLUSH_MS } from '../../src/runtime/logger.js';
import { configMapDir, eventually } from '../router/_router-lab.js';
import { BIN, DnsProxyLab, jsonLines, type Outcome, skipReason } from './_dns-lab.js';

const skip = skipReason();

/** Fast re-resolution for the tests: dnsmasq's TTL is 1 s. */
const TUNING = {
  EGRESS_DNS_PROXY_MIN_TTL_SECONDS: '0.5',
  EGRESS_DNS_PROXY_MAX_TTL_SECONDS: '2',
  EGRESS_DNS_PROXY_NEGATIVE_HOLD_SECONDS: '1',
  EGRESS_DNS_PROXY_CONNECT_TIMEOUT_SECONDS: '1',
  EGRESS_DNS_PROXY_DRAIN_TIMEOUT_SECONDS: '5',
};

const LIST = `# the DNS proxy tests' list
8001 203.0.113.25 7001
8002 2001:db8:113::25 7001
7003 one.egress.test
8004 one.egress.test 7001
8005 two.egress.test 7001
8006 dual.egress.test 7001
8007 change.egress.test 7001
8008 half.egress.test 7009
8009 slow.egress.test 7001
8010 later.egress.test 7001
8011 gone.egress.test 7001
8012 keep.egress.test 7001
`;

/** Log lines are written in batches: at most this long after the event (LOG_FLUSH_MS and slack). */
const LOG_BATCH_MS = LOG_FLUSH_MS + 300;

/**
 * With the DNS server gone, how long until the proxy logs the failed round: the next round starts
 * within the maximum TTL, and c-ares gives up after its tries, each waiting twice as long as the one
 * before; then the log batch, and slack for a loaded machine (CI once took over 8 s).
 */
const DNS_DOWN_LOGGED_MS =
  Number(TUNING.EGRESS_DNS_PROXY_MAX_TTL_SECONDS) * 1000 +
  DNS_QUERY_TIMEOUT_MS * (2 ** DNS_QUERY_TRIES - 1) +
  LOG_BATCH_MS +
  4_000;

/** Waits until the proxy has logged a line matching `pattern`. */
const logged = (proxy: ProcessHandle, pattern: RegExp) => proxy.waitFor(pattern, { timeoutMs: 5_000 });

const locals = (outcomes: Outcome[]) => outcomes.map((o) => (o.ok ? o.local : `failed: ${o.failure}`));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('egress DNS proxy in network namespaces', { skip }, () => {
  let dl: DnsProxyLab;
  const records: Record<string, string[]> = {
    one: ['203.0.113.25'],
    two: ['203.0.113.25', '203.0.113.26'],
    dual: ['203.0.113.27', '2001:db8:113::27'],
    change: ['203.0.113.25'],
    half: ['203.0.113.25', '203.0.113.26'],
    // 203.0.113.99 is on the outside network but nobody has it: connects to it time out.
    slow: ['203.0.113.99', '203.0.113.25'],
    gone: ['203.0.113.25'],
    keep: ['203.0.113.26'],
  };

  before(async () => {
    dl = await DnsProxyLab.create({ prefix: `edp${process.pid}` });
    await dl.setRecords(records);
    // 7009 only on .25: .26 refuses it.
    await dl.startUpstream(['7001', '7003', '7009@203.0.113.25']);
  });
  after(async () => {
    await dl?.destroy();
  });

  describe('one proxy with every kind of entry', () => {
    let proxy: ProcessHandle;
    before(async () => {
      proxy = await dl.startProxy({ EGRESS_DNS_PROXY_DESTINATION: LIST, ...TUNING });
      await proxy.waitFor(/"name":"keep\.egress\.test","outcome":"answer"/);
    });
    after(async () => {
      await proxy?.stop();
    });

    test('an IP entry relays to its address and remote port, for IPv4 and IPv6 clients', async () => {
      assert.deepEqual(locals(await dl.requests(8001, 2)), ['203.0.113.25:7001', '203.0.113.25:7001']);
      assert.deepEqual(locals(await dl.requests(8001, 1, dl.lab.addresses.pod6)), ['203.0.113.25:7001']);
    });

    test('an IPv6 address entry relays to IPv6', async () => {
      assert.deepEqual(locals(await dl.requests(8002, 1)), ['[2001:db8:113::25]:7001']);
    });

    test('a name entry relays to its address, on the same port and on a remapped one', async () => {
      assert.deepEqual(locals(await dl.requests(7003, 1)), ['203.0.113.25:7003']);
      assert.deepEqual(locals(await dl.requests(8004, 1)), ['203.0.113.25:7001']);
    });

    test('a name with two addresses: connections reach both, round robin', async () => {
      const reached = locals(await dl.requests(8005, 6));
      assert.equal(reached.filter((l) => l === '203.0.113.25:7001').length, 3, String(reached));
      assert.equal(reached.filter((l) => l === '203.0.113.26:7001').length, 3, String(reached));
    });

    test('a name with an A and an AAAA record: connections reach both families', async () => {
      const reached = new Set(locals(await dl.requests(8006, 4)));
      assert.deepEqual([...reached].sort(), ['203.0.113.27:7001', '[2001:db8:113::27]:7001']);
    });

    test('a record changed while running: new connections follow within the TTL, an open one stays', async () => {
      const held = await dl.hold(8007);
      assert.equal(held.local, '203.0.113.25:7001');
      records.change = ['203.0.113.26'];
      await dl.setRecords(records);
      const changedAt = Date.now();
      const followed = await eventually(async () => {
        const [outcome] = await dl.requests(8007, 1);
        return outcome?.ok && outcome.local === '203.0.113.26:7001' ? Date.now() - changedAt : undefined;
      }, 6_000);
      assert.ok(followed !== undefined, 'new connections never reached the new address');
      // TTL 1 s, plus a round trip of the test's own client.
      assert.ok(followed < 3_000, `took ${followed} ms`);
      // Keep the held connection open well past the old answer's TTL (1 s), however quickly new
      // connections followed: it must still be exchanging after the proxy dropped the old address.
      await sleep(Math.max(300, 2_000 - (Date.now() - changedAt)));
      const summary = await held.finish();
      assert.equal(summary.event, 'summary', 'the open connection was not cut');
      assert.equal(summary.local, '203.0.113.25:7001');
      assert.deepEqual(summary.errors, []);
      // One exchange every 100 ms for at least 2 s: every line sent was answered but the last one or two, in flight.
      assert.ok(summary.exchanges >= 10, `only ${summary.exchanges} exchanges`);
      assert.ok(summary.sent - summary.exchanges <= 2, `${summary.sent} sent, ${summary.exchanges} answered`);
    });

    test('one of two addresses refuses: no client sees a failure, the refusing address is skipped', async () => {
      const outcomes = await dl.requests(8008, 12);
      assert.deepEqual(locals(outcomes), Array(12).fill('203.0.113.25:7009'));
      await sleep(LOG_BATCH_MS);
      const lines = jsonLines(proxy).filter((l) => l.port === 8008);
      const down = lines.filter((l) => l.event === 'address');
      assert.ok(down.length >= 1 && down.length <= 3, `${down.length} connect failures logged`);
      assert.equal(down[0]?.address, '203.0.113.26');
      assert.equal(down[0]?.error, 'ECONNREFUSED');
      const connections = lines.filter((l) => l.event === 'connection');
      assert.ok(
        connections.every((l) => l.result === 'ok'),
        'every connection relayed',
      );
    });

    test('an address that does not answer: after the connect timeout the connection goes on to the next', async () => {
      const outcomes = await dl.requests(8009, 4, dl.lab.addresses.pod4, 5_000);
      assert.deepEqual(locals(outcomes), Array(4).fill('203.0.113.25:7001'));
      await logged(proxy, /"event":"address","port":8009/);
      const timedOut = jsonLines(proxy).filter((l) => l.event === 'address' && l.port === 8009);
      assert.equal(timedOut[0]?.address, '203.0.113.99');
      assert.equal(timedOut[0]?.error, 'ETIMEDOUT');
    });

    test('a name unknown at start: its connections are refused at once, and relayed once it resolves', async () => {
      const started = Date.now();
      const [refused] = await dl.requests(8010, 1);
      assert.equal(refused?.ok, false);
      assert.equal(!refused?.ok && refused?.failure, 'reset');
      assert.ok(Date.now() - started < 2_000, 'refused at once, not after a timeout');
      records.later = ['203.0.113.27'];
      await dl.setRecords(records);
      const reached = await eventually(async () => {
        const [outcome] = await dl.requests(8010, 1);
        return outcome?.ok ? outcome.local : undefined;
      }, 8_000);
      assert.equal(reached, '203.0.113.27:7001');
    });

    test('a name gone from the DNS: kept for the negative hold time, then its connections are refused', async () => {
      assert.deepEqual(locals(await dl.requests(8011, 1)), ['203.0.113.25:7001']);
      delete records.gone;
      await dl.setRecords(records);
      const refused = await eventually(async () => {
        const [outcome] = await dl.requests(8011, 1);
        return outcome?.ok === false ? outcome.failure : undefined;
      }, 8_000);
      assert.equal(refused, 'reset');
      await logged(proxy, /"name":"gone\.egress\.test"[^\n]*"status":"unresolved"/);
      const statuses = jsonLines(proxy)
        .filter((l) => l.event === 'resolution' && l.name === 'gone.egress.test')
        .map((l) => l.status);
      assert.ok(statuses.includes('held'), `statuses: ${statuses}`);
      assert.equal(statuses.at(-1), 'unresolved');
    });

    test('the DNS server down: the last good answer is used', async () => {
      await dl.stopDns();
      try {
        await proxy.waitFor(/"name":"keep\.egress\.test","outcome":"failure"[^\n]*"status":"stale"/, {
          timeoutMs: DNS_DOWN_LOGGED_MS,
        });
        assert.deepEqual(locals(await dl.requests(8012, 3)), Array(3).fill('203.0.113.26:7001'));
        const failure = jsonLines(proxy).find(
          (l) => l.name === 'keep.egress.test' && l.outcome === 'failure',
        );
        assert.deepEqual(failure?.addresses, ['203.0.113.26']);
        // c-ares reports a server that answers with ICMP port unreachable as a timeout.
        const codes = failure?.codes as string[];
        assert.ok(
          codes.length === 2 && codes.every((c) => ['ETIMEOUT', 'ECONNREFUSED'].includes(c)),
          `${codes}`,
        );
      } finally {
        await dl.startDns();
      }
    });

    test('/metrics counts connections, bytes, resolutions and addresses; /healthz and /readyz answer', async () => {
      assert.deepEqual(await dl.admin('/healthz'), { status: 200, body: 'ok\n' });
      assert.deepEqual(await dl.admin('/readyz'), { status: 200, body: 'ready\n' });
      const { status, body } = await dl.admin('/metrics');
      assert.equal(status, 200);
      for (const pattern of [
        /^egress_dns_proxy_connections_total\{port="8005",destination="two.egress.test",result="ok"\} 6$/m,
        /^egress_dns_proxy_connections_total\{port="8010",destination="later.egress.test",result="unresolved"\} [1-9]/m,
        /^egress_dns_proxy_active_connections\{port="8001",destination="203.0.113.25"\} 0$/m,
        /^egress_dns_proxy_bytes_total\{port="8001",destination="203.0.113.25",direction="to_client"\} [1-9]/m,
        /^egress_dns_proxy_resolutions_total\{name="one.egress.test",outcome="answer"\} [1-9]/m,
        /^egress_dns_proxy_resolution_failures_total\{name="keep.egress.test"\} [1-9]/m,
        /^egress_dns_proxy_addresses\{port="8005",destination="two.egress.test"\} 2$/m,
        /^egress_dns_proxy_addresses\{port="8011",destination="gone.egress.test"\} 0$/m,
        /^egress_dns_proxy_connect_failures_total\{port="8008",destination="half.egress.test",address="203.0.113.26"\} [1-9]/m,
      ]) {
        assert.match(body, pattern);
      }
    });

    test('one JSON log line per connection, when it ends', async () => {
      await sleep(LOG_BATCH_MS);
      const before = jsonLines(proxy).filter((l) => l.event === 'connection').length;
      await dl.requests(8004, 2);
      await sleep(LOG_BATCH_MS);
      const lines = jsonLines(proxy).filter((l) => l.event === 'connection');
      assert.equal(lines.length, before + 2);
      const line = lines.at(-1)!;
      assert.deepEqual(Object.keys(line).sort(), [
        'address',
        'attempts',
        'bytesFromClient',
        'bytesToClient',
        'client',
        'clientPort',
        'destination',
        'durationMs',
        'event',
        'level',
        'msg',
        'name',
        'port',
        'remotePort',
        'result',
        'time',
      ]);
      assert.equal(line.client, dl.lab.addresses.client4);
      assert.equal(line.port, 8004);
      assert.equal(line.destination, 'one.egress.test');
      assert.equal(line.address, '203.0.113.25');
      assert.equal(line.remotePort, 7001);
      assert.equal(line.result, 'ok');
      assert.equal(line.bytesFromClient, 0);
      assert.ok((line.bytesToClient as number) > 0);
    });

    test('a proxy port already in use: exit status 1, one line on stderr, nothing left running', async () => {
      const run = await dl.lab.exec('pod', process.execPath, [BIN, 'dns-proxy'], {
        env: {
          PATH: process.env.PATH ?? '',
          EGRESS_DNS_PROXY_DESTINATION: '9001 one.egress.test\n8001 203.0.113.25',
          EGRESS_DNS_PROXY_ADMIN_PORT: '9099',
        },
        check: false,
      });
      assert.equal(run.code, 1);
      assert.equal(run.stderr, 'egress-router dns-proxy: cannot listen on port 8001: EADDRINUSE\n');
    });
  });

  describe('a followed destination file', () => {
    test('a changed file is applied without a restart; open connections stay; an invalid file is logged and the list stays', async () => {
      const cm = configMapDir(
        '9101 203.0.113.25 7001\n9102 one.egress.test 7001\n9103 two.egress.test 7001\n',
      );
      let proxy: ProcessHandle | undefined;
      try {
        proxy = await dl.startProxy({ EGRESS_DNS_PROXY_DESTINATION_FILE: cm.path, ...TUNING });
        await proxy.waitFor(/"name":"two\.egress\.test","outcome":"answer"/);
        const held = await dl.hold(9101);
        const heldChanged = await dl.hold(9102);
        assert.equal(heldChanged.local, '203.0.113.25:7001');

        // 9101 removed, 9102 changed to another address, 9103 as it was, 9104 added.
        cm.update('9102 203.0.113.27 7001\n9103 two.egress.test 7001\n9104 one.egress.test 7003\n');
        await proxy.waitFor(/"event":"reload"[^\n]*"msg":"destination list applied"/);
        assert.deepEqual(locals(await dl.requests(9104, 1)), ['203.0.113.25:7003']);
        assert.deepEqual(locals(await dl.requests(9102, 1)), ['203.0.113.27:7001']);
        const [removed] = await dl.requests(9101, 1);
        assert.equal(!removed?.ok && removed?.failure, 'refused', 'the removed port no longer listens');
        for (const connection of [held, heldChanged]) {
          const summary = await connection.finish();
          assert.equal(summary.event, 'summary', 'an open connection was cut by the reload');
          assert.deepEqual(summary.errors, []);
        }

        cm.update('9102 203.0.113.27 7001\n9105 not-a-name\n');
        await proxy.waitFor(/"msg":"invalid destination list, the running list stays"/);
        const invalid = jsonLines(proxy).find(
          (l) => l.msg === 'invalid destination list, the running list stays',
        );
        assert.equal(invalid?.error, "Bad destination '9105 not-a-name'");
        assert.equal(invalid?.line, 2);
        assert.deepEqual(locals(await dl.requests(9104, 1)), ['203.0.113.25:7003']);
        assert.equal(proxy.running(), true);
      } finally {
        await proxy?.stop();
        cm.remove();
      }
    });
  });

  describe('SIGTERM', () => {
    test('SIGTERM stops taking connections, lets open ones finish, and exits 0', async () => {
      const proxy = await dl.startProxy({
        EGRESS_DNS_PROXY_DESTINATION: '9201 203.0.113.25 7001',
        ...TUNING,
      });
      const held = await dl.hold(9201);
      process.kill(proxy.pid, 'SIGTERM');
      await proxy.waitFor(/"event":"draining"/);
      const [refused] = await dl.requests(9201, 1);
      assert.equal(!refused?.ok && refused?.failure, 'refused');
      await sleep(300);
      assert.equal(proxy.running(), true, 'still draining');
      const summary = await held.finish();
      assert.equal(summary.event, 'summary');
      assert.deepEqual(summary.errors, []);
      assert.deepEqual(await proxy.exited, { code: 0, signal: null });
      const stopped = jsonLines(proxy).find((l) => l.event === 'stopped');
      assert.equal(stopped?.open, 1);
      assert.equal(stopped?.cut, 0);
    });

    test('SIGTERM with a connection that stays open: cut when the drain time runs out, exit 0', async () => {
      const proxy = await dl.startProxy({
        EGRESS_DNS_PROXY_DESTINATION: '9202 203.0.113.25 7001',
        ...TUNING,
        EGRESS_DNS_PROXY_DRAIN_TIMEOUT_SECONDS: '1',
      });
      const held = await dl.hold(9202);
      const started = Date.now();
      process.kill(proxy.pid, 'SIGTERM');
      assert.deepEqual(await proxy.exited, { code: 0, signal: null });
      const took = Date.now() - started;
      assert.ok(took >= 900 && took < 4_000, `exited after ${took} ms`);
      const summary = await held.finish();
      assert.equal(summary.event, 'closed');
      assert.equal(jsonLines(proxy).find((l) => l.event === 'connection')?.result, 'shutdown');
    });
  });
});
