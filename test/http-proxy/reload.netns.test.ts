import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  configMapDir,
  connectRequest,
  getRequest,
  ProxyLab,
  type RunningProxy,
  skipReason,
  sleep,
} from './_proxy-lab.js';

const skip = skipReason();

/** One request of the load: when it was sent and answered, and the status (0: no answer). */
interface Sample {
  readonly sent: number;
  readonly answered: number;
  readonly status: number;
}

// EGRESS_HTTP_PROXY_DESTINATION_FILE, mounted from a ConfigMap, is followed: a change applies to new
// requests at once and atomically, open tunnels stay up, an invalid or missing file changes nothing.
describe('http-proxy: live policy reload', { skip }, () => {
  let lab: ProxyLab;
  let proxy: RunningProxy;
  let configMap: ReturnType<typeof configMapDir>;
  before(async () => {
    configMap = configMapDir('# v1: the outside network\n203.0.113.0/24\n');
    lab = await ProxyLab.create('rel');
    proxy = await lab.startProxy({ EGRESS_HTTP_PROXY_DESTINATION_FILE: configMap.path });
  });
  after(async () => {
    try {
      await lab?.destroy();
    } finally {
      configMap?.remove();
    }
  });

  const reloads = (result: string) =>
    proxy
      .logs()
      .filter((line) =>
        result === 'applied'
          ? line.msg === 'policy reloaded'
          : result === 'invalid'
            ? line.msg === 'new policy is invalid; the running policy stays'
            : line.msg === 'policy file unreadable; the running policy stays',
      ).length;

  async function status(url: string): Promise<number> {
    return (await lab.raw(getRequest(url))).status;
  }

  test('under load: a new policy applies to new requests at once, never half; an open tunnel stays up', async () => {
    const tunnel = await lab.connect();
    try {
      tunnel.write(connectRequest('203.0.113.25:7'));
      assert.equal(await tunnel.readUntil('\r\n\r\n'), 'HTTP/1.1 200 Connection established\r\n\r\n');
      tunnel.write('before\n');
      assert.equal(await tunnel.read(7), 'before\n');

      const samples: Sample[] = [];
      let stop = false;
      const worker = async () => {
        while (!stop) {
          const sent = Date.now();
          const answer = await lab.raw(getRequest('http://203.0.113.25/'), 3000).catch(() => ({ status: 0 }));
          samples.push({ sent, answered: Date.now(), status: answer.status });
        }
      };
      const workers = Array.from({ length: 4 }, worker);
      await sleep(500);
      const changed = Date.now();
      configMap.update('# v2: one server less\n!203.0.113.25\n203.0.113.0/24\n');
      await proxy.waitForLog((line) => line.msg === 'policy reloaded', 3000);
      const applied = Date.now();
      await sleep(500);
      stop = true;
      await Promise.all(workers);

      assert.ok(applied - changed < 2000, `applied ${applied - changed} ms after the change`);
      assert.deepEqual([...new Set(samples.map((s) => s.status))].sort(), [200, 403], 'only 200 and 403');
      const oldPolicy = samples.filter((s) => s.answered < changed);
      const newPolicy = samples.filter((s) => s.sent > applied);
      assert.ok(
        oldPolicy.length > 10 && newPolicy.length > 10,
        `${oldPolicy.length} before, ${newPolicy.length} after`,
      );
      assert.ok(
        oldPolicy.every((s) => s.status === 200),
        'every request answered before the change was allowed',
      );
      assert.ok(
        newPolicy.every((s) => s.status === 403),
        'every request sent after the reload was denied',
      );

      tunnel.write('after\n');
      assert.equal(await tunnel.read(6), 'after\n', 'the tunnel opened under the old policy still relays');
      const fresh = await lab.raw(connectRequest('203.0.113.25:7'));
      assert.equal(fresh.status, 403, 'a new tunnel sees the new policy');
      tunnel.end();
      assert.equal(await tunnel.closed(3000), 'EOF 13\n');
    } finally {
      tunnel.destroy();
    }
  });

  test('an invalid new file is logged with its first error; the running policy stays', async () => {
    configMap.update('203.0.113.0/24\n!foo bar\n*\nexample.test\n');
    const line = await proxy.waitForLog((l) => l.msg === 'new policy is invalid; the running policy stays');
    assert.equal(line.error, "Bad destination 'foo bar'");
    assert.equal(line.line, 2);
    assert.equal(line.file, configMap.path);
    assert.equal(await status('http://203.0.113.25/'), 403);
    assert.equal(await status('http://203.0.113.26/'), 200);
    assert.equal(reloads('invalid'), 1);
  });

  test('a file that disappears is logged; the running policy stays', async () => {
    configMap.break();
    const line = await proxy.waitForLog((l) => l.msg === 'policy file unreadable; the running policy stays');
    assert.equal(line.file, configMap.path);
    assert.equal(await status('http://203.0.113.25/'), 403);
    assert.equal(await status('http://203.0.113.26/'), 200);
  });

  test('a valid file again is applied', async () => {
    configMap.update('!203.0.113.26\n*\n');
    await proxy.waitForLog((l) => l.msg === 'policy reloaded' && l.rules === 1);
    assert.equal(await status('http://203.0.113.25/'), 200);
    assert.equal(await status('http://203.0.113.26/'), 403);
    assert.equal(reloads('applied'), 2);
  });

  test('the reloads and the running rules are counted in the metrics', async () => {
    const { status: code, body } = await lab.admin('/metrics');
    assert.equal(code, 200);
    assert.match(body, /^egress_http_proxy_policy_reloads_total\{result="applied"\} 2$/m);
    assert.match(body, /^egress_http_proxy_policy_reloads_total\{result="invalid"\} 1$/m);
    assert.match(body, /^egress_http_proxy_policy_reloads_total\{result="unreadable"\} 1$/m);
    assert.match(body, /^egress_http_proxy_policy_rules 1$/m);
  });
});
