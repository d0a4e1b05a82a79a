import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
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

const HTTP_ECHO = fileURLToPath(new URL('./_http-echo.js', import.meta.url));
const skip = podmanSkipReason() || commandSkipReason('http-proxy');

/** What curl reported: the HTTP status (of the CONNECT for a tunnel), the body, curl's exit code. */
interface CurlResult {
  code: number | null;
  status: number;
  connectStatus: number;
  body: string;
}

// The seed's HTTP proxy pod, as podman runs it: the router image as init container in http-proxy
// mode (address, routes, SNAT), then the http-proxy image as a sidecar in the same network
// namespace. A client pod uses it through http_proxy, as the seed tells clients to.
describe('egress-http-proxy image as a sidecar of a lab pod (podman)', { skip }, () => {
  let lab: Lab;
  const containers = new Containers(`erh${process.pid}`);

  before(async () => {
    await ensureImages();
    lab = await createLab({ prefix: `erh${process.pid}` });
    const server = await lab.spawnIn('out', process.execPath, [HTTP_ECHO, '80', '8000']);
    await server.waitFor(/ready/, { timeoutMs: 5000 });

    const [o25, o26] = lab.addresses.outside4;
    const init = await runRouterImage(lab, containers, { EGRESS_ROUTER_MODE: 'http-proxy' });
    assert.equal(init.code, 0, init.stderr);

    const proxy = await podman([
      'run',
      '--detach',
      ...containers.identity('proxy'),
      ...inNamespace(lab.ns.pod),
      ...SIDECAR_SECURITY,
      ...envArgs({
        // .26 is denied although the range allows it: the first matching rule decides.
        EGRESS_HTTP_PROXY_DESTINATION: `# policy\n!${o26}\n203.0.113.0/24\n`,
      }),
      IMAGES.httpProxy,
    ]);
    assert.equal(proxy.code, 0, proxy.stderr);
    const ready = await eventually(async () => {
      const r = await curl([`http://${o25}/ready`]);
      return r.code === 0 ? r : undefined;
    }, 15_000);
    assert.ok(
      ready,
      `the proxy answers on :8080: ${(await podman(['logs', containers.last('proxy')])).stderr}`,
    );
  });
  after(async () => {
    await containers.removeAll();
    await lab?.destroy();
  });

  /** curl from the client pod with http_proxy pointing at the egress pod, as in the seed. */
  async function curl(args: string[]): Promise<CurlResult> {
    const result = await lab.exec(
      'client',
      'curl',
      ['--silent', '--max-time', '5', '--write-out', '\n%{http_code} %{http_connect}', ...args],
      {
        check: false,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', http_proxy: `http://${lab.addresses.pod4}:8080/` },
      },
    );
    const lines = result.stdout.split('\n');
    const [status, connectStatus] = (lines.pop() ?? '').split(' ').map(Number);
    return {
      code: result.code,
      status: status ?? 0,
      connectStatus: connectStatus ?? 0,
      body: lines.join('\n'),
    };
  }

  test('an allowed request reaches the outside from the egress source address', async () => {
    const [o25] = lab.addresses.outside4;
    const r = await curl([`http://${o25}/allowed?x=1`]);
    assert.equal(r.code, 0);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), {
      local: `${o25}:80`,
      peer: lab.addresses.egressSource4,
      method: 'GET',
      url: '/allowed?x=1',
      host: o25,
    });
  });

  test('a denied address and an address no rule allows are refused with a 4xx, never forwarded', async () => {
    for (const url of [`http://${lab.addresses.outside4[1]}/denied`, 'http://198.51.100.7/unlisted']) {
      const r = await curl([url]);
      assert.ok(r.status >= 400 && r.status < 500, `${url}: status ${r.status}`);
      assert.doesNotMatch(r.body, /"peer"/, url);
    }
  });

  test('CONNECT tunnels follow the same policy', async () => {
    const [o25, o26] = lab.addresses.outside4;
    const allowed = await curl(['--proxytunnel', `http://${o25}:8000/tunnel`]);
    assert.equal(allowed.code, 0);
    assert.equal(allowed.connectStatus, 200);
    assert.equal(JSON.parse(allowed.body).peer, lab.addresses.egressSource4);

    const denied = await curl(['--proxytunnel', `http://${o26}:8000/tunnel`]);
    assert.notEqual(denied.code, 0);
    assert.ok(
      denied.connectStatus >= 400 && denied.connectStatus < 500,
      `CONNECT status ${denied.connectStatus}`,
    );
  });

  test('podman stop: exits 0 at once when no request or tunnel is open (nothing to drain)', async () => {
    const name = containers.last('proxy');
    const stopAt = Date.now();
    // A grace period longer than the proxy's drain (EGRESS_HTTP_PROXY_DRAIN_MS, 25 s by default), so
    // that a proxy still draining shows as slow, not as killed.
    const stop = await podman(['stop', '--time', '30', name], { timeoutMs: 40_000 });
    const took = Date.now() - stopAt;
    assert.equal(stop.code, 0, stop.stderr);
    const exit = await podman(['inspect', '--format', '{{.State.ExitCode}}', name]);
    const logs = await podman(['logs', name]);
    assert.equal(exit.stdout.trim(), '0', logs.stdout.slice(-2000));
    assert.ok(took < 2000, `stop took ${took} ms: ${logs.stdout.slice(-1000)}`);
  });
});
