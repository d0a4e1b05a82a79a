import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../../src/lab/process.js';
import { skipReason } from '../dns-proxy/_dns-lab.js';
import { configMapDir } from '../router/_router-lab.js';
import { arrivals, NamesLab, ZONE } from './_names-lab.js';

const skip = skipReason();
const PORT = 7001;

/**
 * The router's DNS name entries (legacy mode, the kernel path) in network namespaces: resolution,
 * the spread over every address, health checks, record changes, a failing DNS, a name unknown at
 * start, and reloads under load. dnsmasq answers with a TTL of 1 s.
 */
describe('router name entries in network namespaces', { skip }, () => {
  let names: NamesLab;
  let o25: string;
  let o26: string;
  let o27: string;
  before(async () => {
    names = await NamesLab.create(`ern${process.pid}`);
    [o25, o26, o27] = names.lab.addresses.outside4 as [string, string, string];
    await names.dns.startUpstream([String(PORT), '7002']);
  });
  after(async () => {
    await names?.destroy();
  });

  const updates = () => names.routerLog().filter((line) => line.msg === 'name maps updated');
  const mapsUpdated = () => updates().length;
  const waitForUpdates = async (count: number) => {
    const ok = await eventually(async () => (mapsUpdated() >= count ? true : undefined), 8_000);
    assert.ok(ok, `expected ${count} map updates: ${JSON.stringify(names.routerLog())}`);
  };

  test('two addresses: new connections are spread over both, round robin', async () => {
    await names.dns.setRecords({ db: [o25, o26] });
    await names.startRouter({ EGRESS_DESTINATION: `80 tcp db.${ZONE} ${PORT}` });
    await waitForUpdates(1);
    const seen = arrivals(await names.requests(80, 12));
    assert.deepEqual(seen, { [`${o25}:${PORT}`]: 6, [`${o26}:${PORT}`]: 6 });
  });

  test('IPv6: an AAAA name serves IPv6 clients, the A records IPv4 clients (same port, same line)', async () => {
    const [v6a, v6b] = names.lab.addresses.outside6 as [string, string];
    await names.dns.setRecords({ db: [o27, v6a, v6b] });
    await names.startRouter({ EGRESS_DESTINATION: `8080 tcp db.${ZONE} ${PORT}` });
    await waitForUpdates(1);
    const six = arrivals(await names.requests(8080, 4, names.lab.addresses.pod6));
    assert.deepEqual(six, { [`[${v6a}]:${PORT}`]: 2, [`[${v6b}]:${PORT}`]: 2 });
    assert.deepEqual(arrivals(await names.requests(8080, 2)), { [`${o27}:${PORT}`]: 2 });
  });

  test('an address failing its check is dropped from new connections, and taken back when it passes', async () => {
    await names.dns.setRecords({ db: [o25, o26] });
    await names.startRouter({ EGRESS_DESTINATION: `80 tcp db.${ZONE} ${PORT}` });
    await waitForUpdates(1);
    try {
      await names.setDown(o26, PORT, true);
      await waitForUpdates(2);
      assert.deepEqual(arrivals(await names.requests(80, 6)), { [`${o25}:${PORT}`]: 6 });
      const down = names.routerLog().find((line) => String(line.msg).startsWith('address fails its check'));
      assert.equal(down?.address, o26);
    } finally {
      await names.setDown(o26, PORT, false);
    }
    await waitForUpdates(3);
    assert.deepEqual(arrivals(await names.requests(80, 6)), { [`${o25}:${PORT}`]: 3, [`${o26}:${PORT}`]: 3 });
    // The first answer adds the 60 slots; then only the changed elements: half of the slots
    // deleted and added again, each time.
    assert.deepEqual(
      updates().map((line) => line.elements),
      [60, 60, 60],
    );
  });

  test('a record change: new connections follow within the TTL plus 1 s, an established one keeps going', async () => {
    await names.dns.setRecords({ db: [o25] });
    await names.startRouter({ EGRESS_DESTINATION: `80 tcp db.${ZONE} ${PORT}` });
    await waitForUpdates(1);
    const held = await names.dns.hold(80, 50);
    assert.equal(held.local, `${o25}:${PORT}`);
    const changed = Date.now();
    await names.dns.setRecords({ db: [o27] });
    const followed = await eventually(async () => {
      const [outcome] = await names.requests(80, 1);
      return outcome?.ok && outcome.local === `${o27}:${PORT}` ? Date.now() : undefined;
    }, 5_000);
    assert.ok(followed !== undefined, 'new connections go to the new address');
    assert.ok(followed - changed < 2_000 + 500, `followed after ${followed - changed} ms (TTL 1 s + 1 s)`);
    assert.deepEqual(
      updates().map((line) => line.elements),
      [60, 120],
      'the first answer adds 60 slots; the change deletes and adds them',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const summary = await held.finish();
    assert.deepEqual(summary.errors, [], 'the established connection was never cut');
    assert.ok(summary.exchanges > 10, `exchanges went on: ${summary.exchanges}`);
  });

  test('DNS down: the last good addresses are kept', async () => {
    await names.dns.setRecords({ db: [o25, o26] });
    const router = await names.startRouter({ EGRESS_DESTINATION: `80 tcp db.${ZONE} ${PORT}` });
    await waitForUpdates(1);
    await names.dns.stopDns();
    try {
      // Several TTLs (1 s) without an answer.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      assert.deepEqual(arrivals(await names.requests(80, 4)), {
        [`${o25}:${PORT}`]: 2,
        [`${o26}:${PORT}`]: 2,
      });
      assert.ok(
        names.routerLog().some((line) => line.msg === 'name lookup failed; the last addresses are kept'),
        'the failure is logged',
      );
      assert.ok(router.running(), 'the router kept running (not a table left behind)');
    } finally {
      await names.dns.startDns();
    }
  });

  test('a name unknown at start: its port is refused (a TCP reset: ECONNREFUSED) while the rest works, then served once it resolves', async () => {
    await names.dns.setRecords({ db: [o25] });
    await names.startRouter({
      EGRESS_DESTINATION: [`81 tcp later.${ZONE} ${PORT}`, `82 tcp ${o26} ${PORT}`, o27].join('\n'),
    });
    const [refused] = await names.requests(81, 1);
    assert.equal(refused?.ok, false);
    assert.equal(
      refused?.ok === false && refused.failure,
      'refused',
      'refused at once (TCP reset to the SYN), not sent to the fallback',
    );
    assert.deepEqual(arrivals(await names.requests(82, 1)), { [`${o26}:${PORT}`]: 1 });
    assert.deepEqual(arrivals(await names.requests(PORT, 1)), { [`${o27}:${PORT}`]: 1 }, 'the fallback');
    await names.dns.setRecords({ db: [o25], later: [o25] });
    const served = await eventually(async () => {
      const [outcome] = await names.requests(81, 1);
      return outcome?.ok ? outcome.local : undefined;
    }, 8_000);
    assert.equal(served, `${o25}:${PORT}`);
  });

  test('a UDP name mapping: datagrams are spread over the addresses too (not health checked)', async () => {
    await names.lab.startEcho({ udp: [9053] });
    await names.dns.setRecords({ dns: [o25, o26] });
    await names.startRouter({ EGRESS_DESTINATION: `53 udp dns.${ZONE} 9053` });
    await waitForUpdates(1);
    const seen: Record<string, number> = {};
    for (let i = 0; i < 4; i++) {
      const reply = await names.lab.udpRequest('client', names.lab.addresses.pod4, 53);
      assert.ok(reply.ok, JSON.stringify(reply));
      seen[reply.reply.local] = (seen[reply.reply.local] ?? 0) + 1;
      assert.equal(reply.reply.peer, names.lab.addresses.egressSource4, 'SNATed to the source');
    }
    assert.deepEqual(seen, { [`${o25}:9053`]: 2, [`${o26}:9053`]: 2 });
  });

  test('a name as the fallback: every other port goes to its addresses', async () => {
    await names.dns.setRecords({ db: [o26] });
    await names.startRouter({ EGRESS_DESTINATION: [`80 tcp ${o25} ${PORT}`, `db.${ZONE}`].join('\n') });
    await waitForUpdates(1);
    assert.deepEqual(arrivals(await names.requests(7002, 2)), { [`${o26}:7002`]: 2 });
    assert.deepEqual(arrivals(await names.requests(80, 1)), { [`${o25}:${PORT}`]: 1 });
  });

  test('legacy mode stays until SIGTERM, with names and without, and then exits 0', async () => {
    await names.dns.setRecords({ db: [o25] });
    for (const list of [`80 tcp db.${ZONE} ${PORT}`, `80 tcp ${o25} ${PORT}`]) {
      const router = await names.startRouter({ EGRESS_DESTINATION: list });
      await new Promise((resolve) => setTimeout(resolve, 3_000)); // past the second announcement
      assert.ok(router.running(), `still running: ${list}`);
      const stopped = Date.now();
      const status = await router.stop();
      assert.ok(Date.now() - stopped < 1_500, 'exits within 1 s of SIGTERM');
      assert.deepEqual(status, { code: 0, signal: null });
    }
  });

  test('a list reload under load: no connection fails, held ones keep going, names keep their addresses', async () => {
    await names.dns.setRecords({ db: [o25, o26], other: [o27] });
    const cm = configMapDir(`80 tcp db.${ZONE} ${PORT}\n`);
    try {
      await names.startRouter({ EGRESS_DESTINATION_FILE: cm.path });
      await waitForUpdates(1);
      const held = await names.dns.hold(80, 50);
      const load = names.requests(80, 300, undefined, 2_000);
      for (let i = 0; i < 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, 400));
        cm.update(
          i % 2 === 0
            ? `80 tcp db.${ZONE} ${PORT}\n81 tcp other.${ZONE} ${PORT}\n`
            : `80 tcp db.${ZONE} ${PORT}\n`,
        );
      }
      const outcomes = await load;
      const seen = arrivals(outcomes);
      assert.deepEqual(Object.keys(seen).sort(), [`${o25}:${PORT}`, `${o26}:${PORT}`], JSON.stringify(seen));
      const reloads = names.routerLog().filter((line) => line.msg === 'destination list reloaded').length;
      assert.ok(reloads >= 2, `reloads: ${reloads}`);
      const summary = await held.finish();
      assert.deepEqual(summary.errors, []);
    } finally {
      cm.remove();
    }
  });
});
