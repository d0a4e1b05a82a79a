/**
 * The node Leases of automatic egress IPs (src/egress-ip/lease-keeper.ts) against the protocol
 * fake of the API server: real HTTP, real list+watch, optimistic concurrency on every write.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createKubernetesApi, type KubernetesApi, loadKubeConfig } from '../../src/cluster/kubernetes-api.js';
import { KubernetesApiError } from '../../src/cluster/kubernetes-error.js';
import { type LeaseKeeper, startLeaseKeeper } from '../../src/egress-ip/lease-keeper.js';
import { nodeLeaseName, readNodeLease } from '../../src/egress-ip/node-leases.js';
import type { EgressHoldings } from '../../src/egress-ip/probes.js';
import { FAKE_LEASE_NAMESPACE, FakeApiServer, kubeconfigFor } from './_fake-apiserver.js';

/** An API whose connection to the server can be cut (a node cut off from the API server). */
function cuttable(api: KubernetesApi): KubernetesApi & { cut: boolean } {
  const watches = new Set<() => void>();
  const wrapper = {
    cut: false,
    server: api.server,
    list: (path: string, signal: AbortSignal) =>
      wrapper.cut
        ? Promise.reject(new KubernetesApiError('connection refused', undefined))
        : api.list(path, signal),
    send: (...args: Parameters<KubernetesApi['send']>) =>
      wrapper.cut
        ? Promise.reject(new KubernetesApiError('connection refused', undefined))
        : api.send(...args),
    watch: (
      path: string,
      query: Readonly<Record<string, string>>,
      callbacks: Parameters<KubernetesApi['watch']>[2],
    ) => {
      if (wrapper.cut) {
        setImmediate(() => callbacks.done(new KubernetesApiError('connection refused', undefined)));
        return () => {};
      }
      // A cut connection delivers nothing more, and nothing says so.
      const stop = api.watch(path, query, {
        event: (event) => {
          if (!wrapper.cut) callbacks.event(event);
        },
        done: (error) => {
          if (!wrapper.cut) callbacks.done(error);
        },
      });
      watches.add(stop);
      return () => {
        watches.delete(stop);
        stop();
      };
    },
  };
  return wrapper;
}

async function until(what: string, check: () => boolean, limitMs = 5000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}

const LEASES = `/apis/coordination.k8s.io/v1/namespaces/${FAKE_LEASE_NAMESPACE}/leases`;

describe('node leases against the API', () => {
  const fake = new FakeApiServer();
  let dir: string;
  let kubeconfig: string;
  const keepers: LeaseKeeper[] = [];
  const api = () => createKubernetesApi(loadKubeConfig(kubeconfig));
  const start = async (
    node: string,
    holdings: () => EgressHoldings,
    client: KubernetesApi = api(),
    log: string[] = [],
  ) => {
    const keeper = await startLeaseKeeper({
      api: client,
      namespace: FAKE_LEASE_NAMESPACE,
      node,
      holdings,
      onChange: () => {},
      log: (_fields, msg) => log.push(msg),
    });
    if (keeper) keepers.push(keeper);
    return keeper;
  };

  before(async () => {
    await fake.listen();
    dir = mkdtempSync(join(tmpdir(), 'leases-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigFor(fake.url));
  });
  after(async () => {
    for (const keeper of keepers) keeper.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('each node writes its Lease and sees the others alive with what they host', async () => {
    const a = await start('lease-a', () => ({
      node: 'lease-a',
      automatic: ['10.0.0.5'],
      since: { '10.0.0.5': 42 },
    }));
    const b = await start('lease-b', () => ({ node: 'lease-b', automatic: [] }));
    assert.ok(a && b);
    await Promise.all([a.settled(), b.settled()]);
    assert.equal(a.fenced(), false);
    await until('b sees a', () => b.current().get('10.0.0.5')?.[0]?.node === 'lease-a');
    assert.deepEqual(b.current().get('10.0.0.5'), [{ node: 'lease-a', since: 42 }]);
    await until('a sees b', () => a.alive().has('lease-b'));
    assert.equal(a.alive().has('lease-a'), false, 'a node is not its own peer');
    const stored = readNodeLease(
      (
        await api().send(
          'GET',
          `/apis/coordination.k8s.io/v1/namespaces/${FAKE_LEASE_NAMESPACE}/leases/${nodeLeaseName('lease-a')}`,
          undefined,
          AbortSignal.timeout(2000),
        )
      ).body,
    );
    assert.deepEqual(stored?.holdings, { candidate: true, ips: { '10.0.0.5': 42 } });
    a.close();
    b.close();
  });

  test('a node cut from the API fences itself before any other node counts it down', async () => {
    const client = cuttable(api());
    const log: string[] = [];
    const cut = await start(
      'cut-a',
      () => ({ node: 'cut-a', automatic: ['10.0.0.7'], since: { '10.0.0.7': 1 } }),
      client,
      log,
    );
    const other = await start('cut-b', () => ({ node: 'cut-b', automatic: [] }));
    assert.ok(cut && other);
    await Promise.all([cut.settled(), other.settled()]);
    await until('each sees the other', () => other.alive().has('cut-a') && cut.alive().has('cut-b'));
    client.cut = true;
    const cutAt = Date.now();
    let fencedAt: number | undefined;
    let downAt: number | undefined;
    await until('a fenced and b counts a down', () => {
      if (fencedAt === undefined && cut.fenced()) fencedAt = Date.now();
      if (downAt === undefined && !other.alive().has('cut-a')) downAt = Date.now();
      return fencedAt !== undefined && downAt !== undefined;
    });
    assert.ok(fencedAt !== undefined && downAt !== undefined);
    assert.ok(
      fencedAt < downAt,
      `fenced ${fencedAt - cutAt} ms after the cut, down for b after ${downAt - cutAt} ms`,
    );
    assert.ok(downAt - cutAt < 2500, `down after ${downAt - cutAt} ms`);
    assert.equal(other.current().has('10.0.0.7'), false, 'what a down node held counts for nothing');
    // While fenced its view is the last one it had: b still alive.
    assert.ok(cut.alive().has('cut-b'));
    assert.ok(log.includes('egress lease fenced: hosting no automatic IP'), log.join('; '));
    // Back: its next renewal comes back through its watch, and it is current again.
    client.cut = false;
    await until('a current again', () => !cut.fenced(), 5000);
    await until('b sees a again', () => other.alive().has('cut-a'));
    cut.close();
    other.close();
  });

  test('a restarted agent reads what its Lease says it hosted, unless the Lease went stale', async () => {
    const first = await start('restart-a', () => ({
      node: 'restart-a',
      automatic: ['10.0.0.8'],
      since: { '10.0.0.8': 5 },
    }));
    assert.ok(first);
    await first.settled();
    first.close();
    const again = await start('restart-a', () => ({ node: 'restart-a', automatic: [] }));
    assert.ok(again);
    assert.deepEqual(again.initial(), {
      node: 'restart-a',
      automatic: ['10.0.0.8'],
      since: { '10.0.0.8': 5 },
    });
    await again.settled();
    assert.equal(again.fenced(), false, 'its update went through with the version it read');
    again.close();
    // Gone for longer than staleMs: another node may host its IPs now, so it takes nothing back.
    const late = await start('restart-b', () => ({
      node: 'restart-b',
      automatic: ['10.0.0.9'],
      since: { '10.0.0.9': 6 },
    }));
    assert.ok(late);
    await late.settled();
    late.close();
    await new Promise((resolve) => setTimeout(resolve, 1_700));
    const back = await start('restart-b', () => ({ node: 'restart-b', automatic: [] }));
    assert.equal(back?.initial(), undefined);
    back?.close();
  });

  test('a write that lost the race (409) reads the Lease again and goes on', async () => {
    const log: string[] = [];
    const keeper = await start('race-a', () => ({ node: 'race-a', automatic: [] }), api(), log);
    assert.ok(keeper);
    await keeper.settled();
    const path = `/apis/coordination.k8s.io/v1/namespaces/${FAKE_LEASE_NAMESPACE}/leases/${nodeLeaseName('race-a')}`;
    const current = (await api().send('GET', path, undefined, AbortSignal.timeout(2000))).body as {
      metadata: { name: string; namespace: string };
    };
    // Someone else writes it (the version the keeper holds is old now).
    fake.put('Lease', structuredClone(current) as never);
    await until('the conflict', () => log.includes('egress lease: conflict; read again'));
    const conflicts = fake.requests.filter((r) => r.kind === 'Lease' && r.status === 409).length;
    assert.ok(conflicts >= 1);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(keeper.fenced(), false, 'renewed again after the conflict');
    keeper.close();
  });

  test('a node that offers no egressCIDRs only watches: no Lease of its own, never fenced', async () => {
    const offering = await start('watch-a', () => ({
      node: 'watch-a',
      automatic: ['10.0.0.4'],
      since: { '10.0.0.4': 3 },
    }));
    const keeper = await startLeaseKeeper({
      api: api(),
      namespace: FAKE_LEASE_NAMESPACE,
      node: 'watch-b',
      holdings: () => ({ node: 'watch-b', automatic: [] }),
      renews: () => false,
      onChange: () => {},
    });
    assert.ok(offering && keeper);
    keepers.push(keeper);
    await keeper.settled();
    assert.equal(keeper.fenced(), false);
    await until('it sees the offering node', () => keeper.current().get('10.0.0.4')?.[0]?.node === 'watch-a');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const written = fake.requests.filter(
      (r) => r.kind === 'Lease' && r.path.endsWith(nodeLeaseName('watch-b')),
    );
    assert.deepEqual(written, []);
    const answer = await api().send(
      'GET',
      `${LEASES}/${nodeLeaseName('watch-b')}`,
      undefined,
      AbortSignal.timeout(2000),
    );
    assert.equal(answer.status, 404);
    offering.close();
    keeper.close();
  });

  test('an API without Leases (OpenShift 3.11) leaves the decision to the probes', async () => {
    fake.setServed('Lease', false);
    const log: string[] = [];
    try {
      assert.equal(await start('old-a', () => ({ node: 'old-a', automatic: [] }), api(), log), undefined);
      assert.deepEqual(log, ['egress leases not available: the probes decide']);
    } finally {
      fake.setServed('Lease', true);
    }
  });
});
