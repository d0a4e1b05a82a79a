import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLab, type Lab } from '../../src/lab/index.js';
import {
  BIN,
  configMapDir,
  eventually,
  gatewayNeighbour,
  macOf,
  podState,
  poisonGatewayNeighbour,
  routerEnv,
  runRouter,
  skipReason,
} from './_router-lab.js';

const skip = skipReason();

// One lab for the whole file: each test sets the pod up from scratch or re-runs set-up on it.
describe('egress router in network namespaces', { skip }, () => {
  let lab: Lab;
  before(async () => {
    lab = await createLab({ prefix: `ert${process.pid}` });
    await lab.startEcho({ tcp: [80, 443, 9000, 9001], udp: [53, 9000] });
  });
  after(async () => {
    await lab?.destroy();
  });

  const list4 = () =>
    [
      '# redirects',
      `80 tcp ${lab.addresses.outside4[0]}`,
      `8080 tcp ${lab.addresses.outside4[1]} 80`,
      `53 udp ${lab.addresses.outside4[0]}`,
      `5353 udp ${lab.addresses.outside4[1]} 53`,
      '',
      `${lab.addresses.outside4[2]}`,
    ].join('\n');

  test('init mode: each mapping, remapping, UDP and fallback reach the outside from the source address', async () => {
    await poisonGatewayNeighbour(lab, lab.addresses.egressSource4);
    const run = await runRouter(
      lab,
      routerEnv(lab, { EGRESS_ROUTER_MODE: 'init', EGRESS_DESTINATION: list4() }),
    );
    assert.equal(run.code, 0, run.stderr);
    const [o25, o26, o27] = lab.addresses.outside4;
    const source = lab.addresses.egressSource4;
    const pod = lab.addresses.pod4;
    const cases = [
      { proto: 'tcp', port: 80, local: `${o25}:80` },
      { proto: 'tcp', port: 8080, local: `${o26}:80` },
      { proto: 'udp', port: 53, local: `${o25}:53` },
      { proto: 'udp', port: 5353, local: `${o26}:53` },
      { proto: 'tcp', port: 9000, local: `${o27}:9000` },
      { proto: 'udp', port: 9000, local: `${o27}:9000` },
    ] as const;
    for (const c of cases) {
      const result =
        c.proto === 'tcp'
          ? await lab.tcpRequest('client', pod, c.port)
          : await lab.udpRequest('client', pod, c.port);
      assert.deepEqual(
        result,
        { ok: true, reply: { local: c.local, peer: source, proto: c.proto } },
        `${c.proto} ${c.port}`,
      );
    }
  });

  test('init mode: the gratuitous ARP reaches the gateway, which forgets the previous owner', async () => {
    // The previous test poisoned the gateway's entry before set-up; set-up's announcement replaced it.
    const mac = await macOf(lab, 'pod', 'macvlan0');
    assert.equal(await gatewayNeighbour(lab, lab.addresses.egressSource4), mac);
  });

  test('re-run on a pod that is set up: succeeds, same state, announces again with the link already up', async () => {
    const before = await podState(lab);
    await poisonGatewayNeighbour(lab, lab.addresses.egressSource4);
    const run = await runRouter(
      lab,
      routerEnv(lab, { EGRESS_ROUTER_MODE: 'init', EGRESS_DESTINATION: list4() }),
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await podState(lab), before);
    assert.equal(
      await gatewayNeighbour(lab, lab.addresses.egressSource4),
      await macOf(lab, 'pod', 'macvlan0'),
    );
    assert.match(before, /ip_forward|^1$/m);
    assert.match(before, /default via 192\.168\.12\.1 dev macvlan0/);
  });

  test('invalid input: one CONTRACT line on stderr, exit 1, nothing changed', async () => {
    const before = await podState(lab);
    const run = await runRouter(
      lab,
      routerEnv(lab, {
        EGRESS_ROUTER_MODE: 'init',
        EGRESS_DESTINATION: `80 tcp ${lab.addresses.outside4[0]}\n80 tcp 300.1.2.3`,
      }),
    );
    assert.equal(run.code, 1);
    assert.equal(run.stderr, "EGRESS_DESTINATION value '80 tcp 300.1.2.3' is invalid\n");
    assert.equal(run.stdout, '');
    assert.equal(await podState(lab), before);
  });

  test('a failing apply leaves the previous state: missing interface, no CAP_NET_ADMIN, read-only /proc/sys', async () => {
    const before = await podState(lab);
    const missing = await runRouter(
      lab,
      routerEnv(lab, {
        EGRESS_ROUTER_MODE: 'init',
        EGRESS_DESTINATION: '203.0.113.99',
        EGRESS_ROUTER_EGRESS_INTERFACE: 'nosuch0',
      }),
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr.trim().split('\n').at(-1)!, /set-up failed: .*nosuch0/);
    assert.equal(await podState(lab), before);

    // The kernel refuses nf_tables without CAP_NET_ADMIN (as in a container without it): already the
    // query whether our table exists, before nft runs. Set-up stops there and nothing was changed.
    const refused = await lab.exec(
      'pod',
      'setpriv',
      ['--bounding-set', '-net_admin', '--inh-caps', '-net_admin', process.execPath, BIN],
      {
        env: routerEnv(lab, { EGRESS_ROUTER_MODE: 'init', EGRESS_DESTINATION: '203.0.113.99' }),
        check: false,
      },
    );
    assert.equal(refused.code, 1);
    assert.match(refused.stderr.trim().split('\n').at(-1)!, /set-up failed: .*(not permitted|Permission)/i);
    assert.equal(await podState(lab), before);

    // /proc/sys read-only (a container without the right mount options): refused before the nft
    // table is touched.
    const readOnly = await lab.exec(
      'pod',
      'unshare',
      [
        '--mount',
        '--',
        'sh',
        '-c',
        'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$@"',
        'ro-proc-sys',
        process.execPath,
        BIN,
      ],
      {
        env: routerEnv(lab, { EGRESS_ROUTER_MODE: 'init', EGRESS_DESTINATION: '203.0.113.99' }),
        check: false,
      },
    );
    assert.equal(readOnly.code, 1, readOnly.stderr);
    assert.match(readOnly.stderr.trim().split('\n').at(-1)!, /set-up failed: .*(EROFS|read-only)/i);
    assert.equal(await podState(lab), before);
  });

  test('without a fallback, other ports are refused at once (TCP reset, ICMP port unreachable)', async () => {
    const run = await runRouter(
      lab,
      routerEnv(lab, {
        EGRESS_ROUTER_MODE: 'init',
        EGRESS_DESTINATION: `80 tcp ${lab.addresses.outside4[0]}`,
      }),
    );
    assert.equal(run.code, 0, run.stderr);
    const started = Date.now();
    const tcp = await lab.tcpRequest('client', lab.addresses.pod4, 9000, 3000);
    assert.equal(tcp.ok ? 'ok' : tcp.failure, 'refused');
    const udp = await lab.udpRequest('client', lab.addresses.pod4, 9000, 3000);
    assert.equal(udp.ok ? 'ok' : udp.failure, 'refused');
    assert.ok(Date.now() - started < 2500, 'refused, not timed out');
    const mapped = await lab.tcpRequest('client', lab.addresses.pod4, 80);
    assert.equal(mapped.ok, true);
  });

  test('legacy mode: follows a mounted ConfigMap, keeps the rules on an invalid list, exits on SIGTERM', async () => {
    const [o25, o26] = lab.addresses.outside4;
    const configMap = configMapDir(`80 tcp ${o25}\n`);
    const router = await lab.spawnIn('pod', process.execPath, [BIN], {
      env: routerEnv(lab, { EGRESS_ROUTER_MODE: 'legacy', EGRESS_DESTINATION_FILE: configMap.path }),
    });
    try {
      await router.waitFor(/egress router set up/, { timeoutMs: 10_000 });
      const first = await lab.tcpRequest('client', lab.addresses.pod4, 80);
      assert.equal(first.ok && first.reply.local, `${o25}:80`);

      const changedAt = Date.now();
      configMap.update(`# moved\n80 tcp ${o26}\n`);
      const moved = await eventually(async () => {
        const r = await lab.tcpRequest('client', lab.addresses.pod4, 80);
        return r.ok && r.reply.local === `${o26}:80` ? Date.now() - changedAt : undefined;
      }, 5000);
      assert.ok(moved !== undefined && moved <= 2000, `new list applied within 2 s (took ${moved} ms)`);

      configMap.update('80 tcp 300.1.2.3\n');
      await router.waitFor(/new destination list is invalid/, { timeoutMs: 5000 });
      const still = await lab.tcpRequest('client', lab.addresses.pod4, 80);
      assert.equal(still.ok && still.reply.local, `${o26}:80`);

      const stopAt = Date.now();
      process.kill(router.pid, 'SIGTERM');
      const status = await router.exited;
      assert.equal(status.code, 0);
      assert.ok(Date.now() - stopAt < 1000, 'exits within 1 s of SIGTERM');
    } finally {
      await router.stop();
      configMap.remove();
    }
  });

  test('dual stack: IPv6 mappings, fallback and unsolicited neighbour advertisement', async () => {
    const [v6a, v6b, v6c] = lab.addresses.outside6;
    const source6 = lab.addresses.egressSource6;
    await poisonGatewayNeighbour(lab, source6);
    const run = await runRouter(
      lab,
      routerEnv(lab, {
        EGRESS_ROUTER_MODE: 'init',
        EGRESS_SOURCE: `${lab.addresses.egressSource4}/24,${source6}/64`,
        EGRESS_GATEWAY: `${lab.addresses.gateway4},${lab.addresses.gateway6}`,
        EGRESS_DESTINATION: [
          `80 tcp ${lab.addresses.outside4[0]}`,
          `80 tcp ${v6a}`,
          `8443 tcp ${v6b} 443`,
          `53 udp ${v6a}`,
          v6c,
        ].join('\n'),
      }),
    );
    assert.equal(run.code, 0, run.stderr);
    const pod6 = lab.addresses.pod6;
    assert.deepEqual(await lab.tcpRequest('client', pod6, 80), {
      ok: true,
      reply: { local: `[${v6a}]:80`, peer: source6, proto: 'tcp' },
    });
    assert.deepEqual(await lab.tcpRequest('client', pod6, 8443), {
      ok: true,
      reply: { local: `[${v6b}]:443`, peer: source6, proto: 'tcp' },
    });
    assert.deepEqual(await lab.udpRequest('client', pod6, 53), {
      ok: true,
      reply: { local: `[${v6a}]:53`, peer: source6, proto: 'udp' },
    });
    assert.deepEqual(await lab.tcpRequest('client', pod6, 9001), {
      ok: true,
      reply: { local: `[${v6c}]:9001`, peer: source6, proto: 'tcp' },
    });
    // IPv4 has no fallback in this list: other IPv4 ports are refused, mapped ones still work.
    const v4 = await lab.tcpRequest('client', lab.addresses.pod4, 80);
    assert.equal(v4.ok && v4.reply.peer, lab.addresses.egressSource4);
    const refused = await lab.tcpRequest('client', lab.addresses.pod4, 9001, 3000);
    assert.equal(refused.ok ? 'ok' : refused.failure, 'refused');
    assert.equal(await gatewayNeighbour(lab, source6), await macOf(lab, 'pod', 'macvlan0'));
    const routes = (await lab.ip('pod', ['-6', 'route', 'show', 'default'])).stdout;
    assert.match(routes, new RegExp(`default via ${lab.addresses.gateway6} dev macvlan0`));
  });

  test('http-proxy mode: network set-up and SNAT only, no destination list needed', async () => {
    const run = await runRouter(lab, routerEnv(lab, { EGRESS_ROUTER_MODE: 'http-proxy' }));
    assert.equal(run.code, 0, run.stderr);
    const table = (await lab.exec('pod', 'nft', ['list', 'table', 'inet', 'egress_router'])).stdout;
    assert.match(table, /snat ip to 192\.168\.12\.99/);
    assert.doesNotMatch(table, /dnat|reject/);
    const direct = await lab.tcpRequest('pod', lab.addresses.outside4[0]!, 80);
    assert.equal(direct.ok && direct.reply.peer, lab.addresses.egressSource4);
  });
});
