import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { createLab, type Lab } from '../../src/lab/index.js';
import {
  Containers,
  commandSkipReason,
  ensureImages,
  envArgs,
  eventually,
  IMAGES,
  inNamespace,
  podman,
  podmanSkipReason,
  runRouterImage,
  SIDECAR_SECURITY,
} from './_podman.js';

/** The name the lab's DNS server answers, and the outside server it names. */
const NAME = 'backend.egress.test';

function dnsmasqSkipReason(): string | false {
  const probe = spawnSync('dnsmasq', ['--version'], { encoding: 'utf8', timeout: 5000 });
  return probe.status === 0 ? false : 'needs dnsmasq (scripts/install-system-deps installs dnsmasq-base)';
}

const skip = podmanSkipReason() || commandSkipReason('dns-proxy') || dnsmasqSkipReason();

// The DNS proxy pod: the router image as init container in dns-proxy mode, then the dns-proxy image
// as a sidecar relaying pod ports to a name that a DNS server outside (dnsmasq in the lab's outside
// namespace, reached through the egress interface like any other destination) resolves.
describe('egress-dns-proxy image as a sidecar of a lab pod (podman)', { skip }, () => {
  let lab: Lab;
  const containers = new Containers(`erd${process.pid}`);

  before(async () => {
    await ensureImages();
    lab = await createLab({ prefix: `erd${process.pid}` });
    const [o25, o26, o27] = lab.addresses.outside4;
    await lab.startEcho({ tcp: [80, 100, 9000] });
    const dns = await lab.spawnIn('out', 'dnsmasq', [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--pid-file=',
      '--log-facility=-',
      '--log-queries',
      `--listen-address=${o27}`,
      '--bind-interfaces',
      `--address=/${NAME}/${o26}`,
    ]);
    await dns.waitFor(/started/, { timeoutMs: 5000, stream: 'stderr' });

    const init = await runRouterImage(lab, containers, { EGRESS_ROUTER_MODE: 'dns-proxy' });
    assert.equal(init.code, 0, init.stderr);

    // The proxy runs as a non-root user: ports below 1024 need the pod's
    // net.ipv4.ip_unprivileged_port_start=0, as the example manifest sets (containerd and CRI-O
    // set it by default).
    await lab.sysctl('pod', 'net.ipv4.ip_unprivileged_port_start', 0);
    const proxy = await podman([
      'run',
      '--detach',
      ...containers.identity('proxy'),
      ...inNamespace(lab.ns.pod),
      '--dns',
      o27!,
      ...SIDECAR_SECURITY,
      ...envArgs({
        EGRESS_DNS_PROXY_DESTINATION: [
          '# the seed forms: address, address and port, name, name and port',
          `80 ${o25}`,
          `8080 ${o25} 9000`,
          `100 ${NAME}`,
          `8443 ${NAME} 9000`,
        ].join('\n'),
      }),
      IMAGES.dnsProxy,
    ]);
    assert.equal(proxy.code, 0, proxy.stderr);
    const ready = await eventually(async () => {
      const r = await lab.tcpRequest('client', lab.addresses.pod4, 8443, 1000);
      return r.ok ? r : undefined;
    }, 20_000);
    assert.ok(ready, `the proxy relays: ${(await podman(['logs', containers.last('proxy')])).stderr}`);
  });
  after(async () => {
    await containers.removeAll();
    await lab?.destroy();
  });

  test('each port is relayed to its address or name, from the egress source address', async () => {
    const [o25, o26] = lab.addresses.outside4;
    const source = lab.addresses.egressSource4;
    const pod = lab.addresses.pod4;
    const cases = [
      { port: 80, local: `${o25}:80` },
      { port: 8080, local: `${o25}:9000` },
      { port: 100, local: `${o26}:100` },
      { port: 8443, local: `${o26}:9000` },
    ];
    for (const c of cases) {
      assert.deepEqual(
        await lab.tcpRequest('client', pod, c.port),
        { ok: true, reply: { local: c.local, peer: source, proto: 'tcp' } },
        `port ${c.port}`,
      );
    }
  });

  test('ports not in the list are not relayed', async () => {
    const r = await lab.tcpRequest('client', lab.addresses.pod4, 9000, 3000);
    assert.equal(r.ok, false);
  });

  test('podman stop: exits 0 at once when the relayed connections have ended (nothing to drain)', async () => {
    const name = containers.last('proxy');
    const stopAt = Date.now();
    // A grace period longer than the proxy's drain (EGRESS_DNS_PROXY_DRAIN_TIMEOUT_SECONDS, 20 s by
    // default), so that a proxy still draining shows as slow, not as killed.
    const stop = await podman(['stop', '--time', '30', name], { timeoutMs: 40_000 });
    const took = Date.now() - stopAt;
    assert.equal(stop.code, 0, stop.stderr);
    const exit = await podman(['inspect', '--format', '{{.State.ExitCode}}', name]);
    const logs = await podman(['logs', name]);
    assert.equal(exit.stdout.trim(), '0', logs.stdout.slice(-2000));
    assert.ok(took < 2000, `stop took ${took} ms: ${logs.stdout.slice(-1000)}`);
  });
});
