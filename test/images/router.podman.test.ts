import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLab, type Lab } from '../../src/lab/index.js';
import {
  configMapDir,
  gatewayNeighbour,
  macOf,
  podState,
  poisonGatewayNeighbour,
} from '../router/_router-lab.js';
import {
  Containers,
  ensureImages,
  envArgs,
  eventually,
  IMAGES,
  inNamespace,
  podman,
  podmanSkipReason,
  ROUTER_SECURITY,
  routerImageEnv,
  runRouterImage,
} from './_podman.js';

const skip = podmanSkipReason();

// The router image as the init container (and as the legacy container) of a lab pod: podman joins
// the lab pod's network namespace, as a kubelet's runtime joins the pod sandbox's.
describe('egress-router image in a lab pod (podman)', { skip }, () => {
  let lab: Lab;
  const containers = new Containers(`eri${process.pid}`);

  before(async () => {
    await ensureImages();
    lab = await createLab({ prefix: `eri${process.pid}` });
    await lab.startEcho({ tcp: [80, 9000], udp: [53] });
  });
  after(async () => {
    await containers.removeAll();
    await lab?.destroy();
  });

  /** Runs the router image to completion in the lab pod. */
  const runRouter = (env: Record<string, string>, security?: readonly string[]) =>
    runRouterImage(lab, containers, env, security);

  test('init container: mappings, remapping, UDP and fallback reach the outside from the egress source; the gateway learns the new MAC', async () => {
    const [o25, o26, o27] = lab.addresses.outside4;
    await poisonGatewayNeighbour(lab, lab.addresses.egressSource4);
    const run = await runRouter({
      EGRESS_ROUTER_MODE: 'init',
      EGRESS_DESTINATION: `80 tcp ${o25}\n8080 tcp ${o26} 80\n53 udp ${o25}\n${o27}\n`,
    });
    assert.equal(run.code, 0, run.stderr);

    const source = lab.addresses.egressSource4;
    const pod = lab.addresses.pod4;
    assert.deepEqual(await lab.tcpRequest('client', pod, 80), {
      ok: true,
      reply: { local: `${o25}:80`, peer: source, proto: 'tcp' },
    });
    assert.deepEqual(await lab.tcpRequest('client', pod, 8080), {
      ok: true,
      reply: { local: `${o26}:80`, peer: source, proto: 'tcp' },
    });
    assert.deepEqual(await lab.udpRequest('client', pod, 53), {
      ok: true,
      reply: { local: `${o25}:53`, peer: source, proto: 'udp' },
    });
    assert.deepEqual(await lab.tcpRequest('client', pod, 9000), {
      ok: true,
      reply: { local: `${o27}:9000`, peer: source, proto: 'tcp' },
    });
    assert.equal(await gatewayNeighbour(lab, source), await macOf(lab, 'pod', 'macvlan0'));
  });

  test('a restarted init container finds the pod set up: succeeds and leaves the same state', async () => {
    const before = await podState(lab);
    const run = await runRouter({
      EGRESS_ROUTER_MODE: 'init',
      EGRESS_DESTINATION: `80 tcp ${lab.addresses.outside4[0]}\n8080 tcp ${lab.addresses.outside4[1]} 80\n53 udp ${lab.addresses.outside4[0]}\n${lab.addresses.outside4[2]}\n`,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await podState(lab), before);
  });

  test('the privileges it needs: NET_ADMIN for nft and netlink, a writable /proc/sys for the sysctls; nothing else', async () => {
    const env = { EGRESS_ROUTER_MODE: 'init', EGRESS_DESTINATION: lab.addresses.outside4[2]! };
    const before = await podState(lab);

    const noNetAdmin = await runRouter(env, ['--user', '65532:65532', '--cap-drop', 'all']);
    assert.equal(noNetAdmin.code, 1);
    // Without NET_ADMIN the pod's /proc/sys/net is not writable either: the preflight refuses it
    // before the nft table is touched.
    assert.match(noNetAdmin.stderr.trim().split('\n').at(-1)!, /set-up failed: set net\/.*EACCES/);

    const readOnlyProcSys = await runRouter(env, [
      '--user',
      '65532:65532',
      '--cap-drop',
      'all',
      '--cap-add',
      'NET_ADMIN',
    ]);
    assert.equal(readOnlyProcSys.code, 1);
    assert.match(readOnlyProcSys.stderr.trim().split('\n').at(-1)!, /set-up failed: .*EROFS/);

    // What the hardened invocation grants is enough (the first test used it); running as root with
    // the same capability works too.
    const asRoot = await runRouter(env, [
      '--cap-drop',
      'all',
      '--cap-add',
      'NET_ADMIN',
      '--security-opt',
      'unmask=/proc/sys',
    ]);
    assert.equal(asRoot.code, 0, asRoot.stderr);
    const minimal = await runRouter(env);
    assert.equal(minimal.code, 0, minimal.stderr);
    assert.notEqual(await podState(lab), before, 'the list changed to a fallback only');
    const other = await lab.tcpRequest('client', lab.addresses.pod4, 80);
    assert.equal(other.ok && other.reply.local, `${lab.addresses.outside4[2]}:80`);
  });

  test('invalid input: the CONTRACT error on stderr, exit 1, nothing changed', async () => {
    const before = await podState(lab);
    const run = await runRouter({
      EGRESS_ROUTER_MODE: 'init',
      EGRESS_DESTINATION: `80 tcp ${lab.addresses.outside4[0]}\n80 tcp 300.1.2.3`,
    });
    assert.equal(run.code, 1);
    assert.equal(run.stderr, "EGRESS_DESTINATION value '80 tcp 300.1.2.3' is invalid\n");
    assert.equal(await podState(lab), before);
  });

  test('unit-test mode: the old iptables lines, with no privileges and no network', async () => {
    const run = await podman([
      'run',
      '--rm',
      ...containers.identity('unit-test'),
      '--network',
      'none',
      '--cap-drop',
      'all',
      '--read-only',
      ...envArgs({
        EGRESS_SOURCE: '1.2.3.4',
        EGRESS_GATEWAY: '1.2.3.1',
        EGRESS_ROUTER_MODE: 'unit-test',
        EGRESS_DESTINATION: '80 tcp 10.4.5.6\n8080 tcp 10.7.8.9 80\n10.1.2.3',
      }),
      IMAGES.router,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      [
        '-A PREROUTING -i eth0 -p tcp --dport 80 -j DNAT --to-destination 10.4.5.6',
        '-A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination 10.7.8.9:80',
        '-A PREROUTING -i eth0 -j DNAT --to-destination 10.1.2.3',
        '-A POSTROUTING -j SNAT --to-source 1.2.3.4',
        '',
      ].join('\n'),
    );
  });

  test('legacy container: follows a mounted ConfigMap and stops within 1 s of podman stop, exit 0', async () => {
    const [o25, o26] = lab.addresses.outside4;
    const configMap = configMapDir(`80 tcp ${o25}\n`);
    // The kubelet's ConfigMap volumes are world-readable; the router runs as 65532 here.
    chmodSync(dirname(configMap.path), 0o755);
    const identity = containers.identity('legacy');
    const name = containers.last('legacy');
    try {
      const started = await podman([
        'run',
        '--detach',
        ...identity,
        ...inNamespace(lab.ns.pod),
        ...ROUTER_SECURITY,
        '--volume',
        `${dirname(configMap.path)}:/etc/egress-router:ro`,
        ...envArgs(
          routerImageEnv(lab, {
            EGRESS_ROUTER_MODE: 'legacy',
            EGRESS_DESTINATION_FILE: '/etc/egress-router/destination',
          }),
        ),
        IMAGES.router,
      ]);
      assert.equal(started.code, 0, started.stderr);
      const first = await eventually(async () => {
        const r = await lab.tcpRequest('client', lab.addresses.pod4, 80, 1000);
        return r.ok && r.reply.local === `${o25}:80` ? r : undefined;
      }, 10_000);
      assert.ok(first, `the legacy container set the pod up: ${(await podman(['logs', name])).stdout}`);

      configMap.update(`# moved\n80 tcp ${o26}\n`);
      const moved = await eventually(async () => {
        const r = await lab.tcpRequest('client', lab.addresses.pod4, 80, 1000);
        return r.ok && r.reply.local === `${o26}:80` ? r : undefined;
      }, 5000);
      assert.ok(moved, 'the new list was applied without a restart');
      assert.equal(moved.ok && moved.reply.peer, lab.addresses.egressSource4);

      const stopAt = Date.now();
      const stop = await podman(['stop', '--time', '5', name]);
      const took = Date.now() - stopAt;
      assert.equal(stop.code, 0, stop.stderr);
      const exit = await podman(['inspect', '--format', '{{.State.ExitCode}}', name]);
      assert.equal(exit.stdout.trim(), '0');
      assert.ok(took < 1000, `stopped within 1 s of SIGTERM (took ${took} ms)`);
    } finally {
      await podman(['rm', '--force', '--time', '0', '--ignore', name]);
      configMap.remove();
    }
  });
});
