import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectRequest, getRequest, ProxyLab, skipReason, sleep } from './_proxy-lab.js';

const skip = skipReason();

// On SIGTERM the proxy stops accepting, lets open tunnels and requests finish for
// EGRESS_HTTP_PROXY_DRAIN_MS, then cuts what is left and exits 0.
describe('http-proxy: shutdown', { skip }, () => {
  let lab: ProxyLab;
  before(async () => {
    lab = await ProxyLab.create('sht');
  });
  after(async () => {
    await lab?.destroy();
  });

  test('SIGTERM: new connections refused, not ready, open tunnel and request finish, exit 0 once they are done', async () => {
    const proxy = await lab.startProxy({
      EGRESS_HTTP_PROXY_DESTINATION: '*',
      EGRESS_HTTP_PROXY_DRAIN_MS: '10000',
    });
    const tunnel = await lab.connect();
    const request = await lab.connect();
    try {
      tunnel.write(connectRequest('allowed.test:7'));
      await tunnel.readUntil('\r\n\r\n');
      request.write(getRequest('http://allowed.test/slow?ms=1000'));
      await sleep(100);

      const stopping = Date.now();
      process.kill(proxy.handle.pid, 'SIGTERM');
      await proxy.waitForLog((line) => line.msg === 'stopping: draining open requests and tunnels');
      await assert.rejects(lab.connect(), /relay: error ECONNREFUSED/, 'no longer accepting');
      assert.deepEqual(await lab.admin('/readyz'), { status: 503, body: 'not ready\n' });
      assert.deepEqual(await lab.admin('/healthz'), { status: 200, body: 'ok\n' });

      assert.equal((await request.readResponse()).status, 200, 'the request in flight is answered');
      tunnel.write('draining\n');
      assert.equal(await tunnel.read(9), 'draining\n', 'the tunnel still relays');
      assert.ok(proxy.handle.running(), 'still running while a tunnel is open');
      tunnel.end();
      assert.equal(await tunnel.closed(3000), 'EOF 9\n');

      const status = await proxy.handle.exited;
      assert.deepEqual(status, { code: 0, signal: null });
      const took = Date.now() - stopping;
      assert.ok(
        took < 5000,
        `exited ${took} ms after SIGTERM, once the tunnel closed, not after the drain time`,
      );
      const lines = proxy.logs();
      assert.equal(lines.at(-1)?.msg, 'stopped');
      assert.ok(lines.some((line) => line.msg === 'tunnel' && line.status === 200 && line.bytes_in === 9));
    } finally {
      tunnel.destroy();
      request.destroy();
      await proxy.stop();
    }
  });

  test('SIGTERM: a tunnel still open when the drain time is over is cut, and the proxy exits 0', async () => {
    const proxy = await lab.startProxy({
      EGRESS_HTTP_PROXY_DESTINATION: '*',
      EGRESS_HTTP_PROXY_DRAIN_MS: '1500',
    });
    const tunnel = await lab.connect();
    try {
      tunnel.write(connectRequest('allowed.test:7'));
      await tunnel.readUntil('\r\n\r\n');
      const stopping = Date.now();
      process.kill(proxy.handle.pid, 'SIGTERM');
      await sleep(700);
      tunnel.write('alive\n');
      assert.equal(await tunnel.read(6), 'alive\n', 'relays during the drain');
      assert.equal(await tunnel.closed(4000), '', 'cut at the end of the drain');
      const cut = Date.now() - stopping;
      assert.ok(cut >= 1400 && cut < 3000, `cut ${cut} ms after SIGTERM`);
      assert.deepEqual(await proxy.handle.exited, { code: 0, signal: null });
    } finally {
      tunnel.destroy();
      await proxy.stop();
    }
  });

  test('SIGTERM with EGRESS_HTTP_PROXY_DRAIN_MS=0: tunnels are cut and the proxy exits at once', async () => {
    const proxy = await lab.startProxy({
      EGRESS_HTTP_PROXY_DESTINATION: '*',
      EGRESS_HTTP_PROXY_DRAIN_MS: '0',
    });
    const tunnel = await lab.connect();
    try {
      tunnel.write(connectRequest('allowed.test:7'));
      await tunnel.readUntil('\r\n\r\n');
      const stopping = Date.now();
      process.kill(proxy.handle.pid, 'SIGTERM');
      assert.deepEqual(await proxy.handle.exited, { code: 0, signal: null });
      assert.ok(Date.now() - stopping < 1000);
      assert.equal(await tunnel.closed(2000), '');
    } finally {
      tunnel.destroy();
      await proxy.stop();
    }
  });
});
