import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { cleanupStaleLabs, createLab, hasPing, LAB_ROLES, type Lab, listNamespaces } from './lab.js';
import { run } from './process.js';

const SKIP = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : false;
const PORT = 7007;

/** True while the process exists and is not a zombie waiting for its parent. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function labNamespacesLeft(prefix: string): Promise<string[]> {
  return (await listNamespaces()).filter((name) => name.startsWith(`${prefix}-`));
}

interface IpAddressJson {
  ifname: string;
  operstate: string;
  flags: string[];
  linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
  addr_info: { family: string; local: string }[];
}

describe('lab', { skip: SKIP, timeout: 20_000 }, () => {
  let lab: Lab;
  const pids: number[] = [];

  before(async () => {
    lab = await createLab();
    const echo = await lab.startEcho([PORT]);
    pids.push(echo.pid);
  });

  after(async () => {
    await lab?.destroy();
  });

  it('names its namespaces after the default prefix er<pid>', async () => {
    assert.equal(lab.prefix, `er${process.pid}`);
    assert.deepEqual(
      (await labNamespacesLeft(lab.prefix)).sort(),
      LAB_ROLES.map((role) => lab.ns[role]).sort(),
    );
  });

  it('refuses a second lab with the same prefix and leaves the first alone', async () => {
    await assert.rejects(createLab({ prefix: lab.prefix }), /already exists/);
    assert.equal((await labNamespacesLeft(lab.prefix)).length, LAB_ROLES.length);
  });

  it('gives the pod macvlan0, made on the node interface, DOWN and without addresses', async () => {
    const result = await lab.ip('pod', ['-j', '-d', 'address', 'show', 'dev', 'macvlan0']);
    const [link] = JSON.parse(result.stdout) as IpAddressJson[];
    assert.ok(link);
    assert.equal(link.linkinfo?.info_kind, 'macvlan');
    assert.equal(link.linkinfo?.info_data?.mode, 'bridge');
    assert.ok(!link.flags.includes('UP'), `flags ${link.flags.join(',')}`);
    assert.equal(link.operstate, 'DOWN');
    assert.deepEqual(link.addr_info, []);
    const inNode = await lab.ip('node', ['link', 'show', 'dev', 'macvlan0'], { check: false });
    assert.notEqual(inNode.code, 0, 'macvlan0 left the node namespace');
  });

  it("starts the pod with default routes through eth0, as a cluster's pod has", async () => {
    const v4 = await lab.ip('pod', ['route', 'show', 'default']);
    assert.match(v4.stdout, /^default via 10\.128\.0\.1 dev eth0/m);
    const v6 = await lab.ip('pod', ['-6', 'route', 'show', 'default']);
    assert.match(v6.stdout, /^default via fd00:128::1 dev eth0/m);
    const forward = await lab.exec('pod', 'sysctl', ['-n', 'net.ipv4.ip_forward']);
    assert.equal(forward.stdout.trim(), '0');
  });

  it('routes between the node network and the outside through the gateway (ping)', {
    skip: hasPing() ? false : 'ping is not installed (Debian package iputils-ping)',
  }, async () => {
    assert.equal(await lab.ping('node', lab.addresses.outside4[0]!), true);
    assert.equal(await lab.ping('node', lab.addresses.outside6[0]!), true);
  });

  it('routes without NAT: the outside sees the node address as the peer', async () => {
    const { node4, node6, outside4, outside6 } = lab.addresses;
    assert.deepEqual(await lab.tcpRequest('node', outside4[2]!, PORT), {
      ok: true,
      reply: { local: `${outside4[2]}:${PORT}`, peer: node4, proto: 'tcp' },
    });
    assert.deepEqual(await lab.udpRequest('node', outside6[1]!, PORT), {
      ok: true,
      reply: { local: `[${outside6[1]}]:${PORT}`, peer: node6, proto: 'udp' },
    });
  });

  it('answers from every outside address to the gateway, TCP and UDP, both families', async () => {
    const { outside4, outside6, outsideGateway4, outsideGateway6 } = lab.addresses;
    const cases = [
      ...outside4.map((host) => ({ host, local: `${host}:${PORT}`, peer: outsideGateway4 })),
      ...outside6.map((host) => ({ host, local: `[${host}]:${PORT}`, peer: outsideGateway6 })),
    ];
    const results = await Promise.all(
      cases.flatMap(({ host }) => [lab.tcpRequest('gw', host, PORT), lab.udpRequest('gw', host, PORT)]),
    );
    const expected = cases.flatMap(({ local, peer }) => [
      { ok: true, reply: { local, peer, proto: 'tcp' } },
      { ok: true, reply: { local, peer, proto: 'udp' } },
    ]);
    assert.deepEqual(results, expected);
  });

  it('reports refused, timeout and unreachable as typed failures', async () => {
    const { outside4, outside6, egressSource4 } = lab.addresses;
    const tcpRefused = await lab.tcpRequest('gw', outside4[0]!, PORT + 1);
    assert.equal(tcpRefused.ok ? 'ok' : tcpRefused.failure, 'refused');
    const udpRefused = await lab.udpRequest('gw', outside6[0]!, PORT + 1);
    assert.equal(udpRefused.ok ? 'ok' : udpRefused.failure, 'refused');
    // The egress source is not configured yet: nobody answers ARP for it.
    const timeout = await lab.tcpRequest('gw', egressSource4, PORT, 300);
    assert.equal(timeout.ok ? 'ok' : timeout.failure, 'timeout');
    // The client has only its pod network: the outside is unreachable from it.
    const unreachable = await lab.udpRequest('client', outside4[0]!, PORT);
    assert.equal(unreachable.ok ? 'ok' : unreachable.failure, 'unreachable');
  });

  it('stops a whole process group', async () => {
    const handle = await lab.spawnIn('out', 'sh', ['-c', 'sleep 60 & echo started; wait']);
    pids.push(handle.pid);
    await handle.waitFor('started');
    const inside = (await run(['ip', 'netns', 'pids', lab.ns.out])).stdout.split(/\s+/).filter(Boolean);
    const sleeper = inside.map(Number).find((pid) => pid !== handle.pid && !pids.includes(pid));
    assert.ok(sleeper !== undefined, `a sleep among ${inside.join(' ')}`);
    await handle.stop();
    assert.equal(handle.running(), false);
    assert.equal(alive(handle.pid), false);
    assert.equal(alive(sleeper), false, 'the background sleep died with its group');
  });

  it('destroy() removes every namespace and process, and can be called again', async () => {
    const before = lab.processes().map((handle) => handle.pid);
    assert.ok(before.length > 0);
    await lab.destroy();
    await lab.destroy();
    assert.deepEqual(await labNamespacesLeft(lab.prefix), []);
    assert.deepEqual(lab.processes(), []);
    for (const pid of [...pids, ...before]) assert.equal(alive(pid), false, `pid ${pid} is gone`);
  });
});

describe('lab set-up', { skip: SKIP, timeout: 20_000 }, () => {
  it('undoes everything when a step fails half-way', async () => {
    const prefix = `erf${process.pid}`;
    let steps = 0;
    await assert.rejects(
      createLab({
        prefix,
        log: (line) => {
          steps++;
          if (line.includes('macvlan')) throw new Error('injected failure');
        },
      }),
      /injected failure/,
    );
    assert.ok(steps > 5);
    assert.deepEqual(await labNamespacesLeft(prefix), []);
  });

  it('builds an IPv4-only lab with extra outside addresses', async () => {
    const lab = await createLab({ prefix: `er4${process.pid}`, ipv6: false, extraOutsideAddresses: 2 });
    try {
      assert.deepEqual(lab.addresses.outside4, [
        '203.0.113.25',
        '203.0.113.26',
        '203.0.113.27',
        '203.0.113.28',
        '203.0.113.29',
      ]);
      const out = await lab.ip('out', ['-6', '-o', 'address', 'show', 'scope', 'global']);
      assert.equal(out.stdout.trim(), '');
      await lab.startEcho({ udp: [PORT] });
      const result = await lab.udpRequest('node', '203.0.113.29', PORT);
      assert.deepEqual(result, {
        ok: true,
        reply: { local: `203.0.113.29:${PORT}`, peer: '192.168.12.2', proto: 'udp' },
      });
    } finally {
      await lab.destroy();
    }
    assert.deepEqual(await labNamespacesLeft(lab.prefix), []);
  });

  it('cleanupStaleLabs removes leftover lab namespaces of a prefix and their processes', async () => {
    const prefix = `ers${process.pid}`;
    const stale = [`${prefix}-pod`, `${prefix}7-gw`];
    const foreign = [`${prefix}-other`, `${prefix}-x-pod`];
    for (const name of [...stale, ...foreign]) await run(['ip', 'netns', 'add', name]);
    try {
      const script = 'sleep 60 >/dev/null 2>&1 & echo $!';
      const sleeper = await run(['ip', 'netns', 'exec', `${prefix}-pod`, 'sh', '-c', script]);
      const pid = Number(sleeper.stdout.trim());
      assert.ok(alive(pid));
      assert.deepEqual((await cleanupStaleLabs(prefix)).sort(), stale.sort());
      const left = (await listNamespaces()).filter((name) => name.startsWith(prefix));
      assert.deepEqual(left.sort(), foreign.sort(), 'only lab namespaces are removed');
      assert.equal(alive(pid), false);
    } finally {
      for (const name of [...stale, ...foreign]) await run(['ip', 'netns', 'delete', name], { check: false });
    }
  });
});
