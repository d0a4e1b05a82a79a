/**
 * The Kubernetes object source against a protocol fake of the API server (test/cluster/
 * _fake-apiserver.ts): a real HTTP server speaking list/watch, not a real API server.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createKubernetesSource } from '../../src/cluster/kubernetes-source.js';
import type { ClusterState, ObjectSource } from '../../src/cluster/types.js';
import { FakeApiServer, type FakeKind, kubeconfigFor } from './_fake-apiserver.js';

const TOKEN = 'sa-token-for-the-test';
/** Short retries, so that each wait below stays well within its bound. */
const TIMING = { retryInitialMs: 50, retryMaxMs: 400, absentRetryMs: 200 };

const ALL_KINDS: FakeKind[] = ['Namespace', 'Pod', 'EgressNetworkPolicy', 'NetNamespace', 'HostSubnet'];

/** Polls until `check` returns a value other than undefined/false, up to 5 s. */
async function eventually<T>(what: string, check: () => T | undefined | false): Promise<T> {
  const giveUpAt = Date.now() + 5000;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > giveUpAt) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

function seed(server: FakeApiServer): void {
  for (const name of ['default', 'team-a', 'team-b']) server.put('Namespace', { metadata: { name } });
  server.put('Pod', {
    metadata: { name: 'web-1', namespace: 'team-a' },
    spec: { nodeName: 'node-1' },
    status: {
      phase: 'Running',
      podIP: '10.128.0.5',
      podIPs: [{ ip: '10.128.0.5' }, { ip: 'fd00:10:128::5' }],
    },
  });
  server.put('Pod', {
    metadata: { name: 'db-1', namespace: 'team-b' },
    spec: { nodeName: 'node-2' },
    status: { phase: 'Running', podIP: '10.129.0.7' },
  });
  server.put('EgressNetworkPolicy', {
    metadata: { name: 'default', namespace: 'team-a', creationTimestamp: '2026-01-02T03:04:05Z' },
    spec: {
      egress: [
        { type: 'Allow', to: { cidrSelector: '1.2.3.0/24' } },
        { type: 'Allow', to: { dnsName: 'www.example.com' } },
        { type: 'Deny', to: { cidrSelector: '0.0.0.0/0' } },
      ],
    },
  });
  server.put('NetNamespace', {
    metadata: { name: 'team-a' },
    netname: 'team-a',
    netid: 100,
    egressIPs: ['192.168.1.100'],
  });
  server.put('NetNamespace', { metadata: { name: 'team-b' }, netname: 'team-b', netid: 101 });
  server.put('HostSubnet', {
    metadata: { name: 'node-1' },
    host: 'node-1',
    hostIP: '192.168.1.10',
    subnet: '10.128.0.0/23',
    egressIPs: ['192.168.1.100'],
    egressCIDRs: ['192.168.1.96/28'],
  });
}

interface Harness {
  readonly server: FakeApiServer;
  readonly kubeconfig: string;
  readonly source: ObjectSource;
  readonly states: ClusterState[];
  readonly errors: Error[];
  readonly logs: { msg: string; [k: string]: unknown }[];
  latest(): ClusterState;
}

/** A key and a self-signed certificate for 127.0.0.1 (PEM), made with openssl. */
interface TestCertificate {
  readonly key: string;
  readonly cert: string;
}

function selfSigned(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'egress-router-k8s-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const result = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-days',
        '1',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`openssl req failed: ${result.stderr ?? result.error}`);
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A seeded fake server and a source pointed at it (not started); both closed after the test.
 *
 * @param tls serve HTTPS with `server`, and trust `trusted` in the kubeconfig
 */
async function harness(
  t: TestContext,
  prepare?: (server: FakeApiServer) => void,
  tls?: { server: TestCertificate; trusted: TestCertificate },
): Promise<Harness> {
  const server = new FakeApiServer();
  server.token = TOKEN;
  await server.listen(tls?.server);
  seed(server);
  prepare?.(server);
  const dir = mkdtempSync(join(tmpdir(), 'egress-router-k8s-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigFor(server.url, { token: TOKEN, caPem: tls?.trusted.cert }));
  const logs: Harness['logs'] = [];
  const source = createKubernetesSource({
    kubeconfig,
    debounceMs: 20,
    log: (e) => logs.push(e),
    timing: TIMING,
  });
  t.after(async () => {
    await source.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const states: ClusterState[] = [];
  return {
    server,
    kubeconfig,
    source,
    states,
    errors: [],
    logs,
    latest: () => states.at(-1)!,
  };
}

async function started(t: TestContext, prepare?: (server: FakeApiServer) => void): Promise<Harness> {
  const h = await harness(t, prepare);
  await h.source.start(
    (state) => h.states.push(state),
    (error) => h.errors.push(error),
  );
  const served = ALL_KINDS.filter((kind) => h.server.requestsOf(kind, false).at(-1)?.status === 200).length;
  await eventually('every watch open', () => h.server.openWatches() === served);
  return h;
}

test('start() lists all five kinds, delivers one whole state before it resolves, then watches with bookmarks', async (t) => {
  const h = await harness(t);
  let statesWhenResolved = -1;
  await h.source
    .start((state) => h.states.push(state))
    .then(() => {
      statesWhenResolved = h.states.length;
    });
  assert.equal(statesWhenResolved, 1);
  assert.equal(h.source.description, `kubernetes ${h.server.url}`);
  const state = h.latest();
  assert.deepEqual([...state.namespaces.keys()].sort(), ['default', 'team-a', 'team-b']);
  assert.deepEqual(state.pods.get('team-a/web-1'), {
    namespace: 'team-a',
    name: 'web-1',
    nodeName: 'node-1',
    hostNetwork: false,
    phase: 'Running',
    ips: ['10.128.0.5', 'fd00:10:128::5'],
  });
  assert.deepEqual(state.pods.get('team-b/db-1')?.ips, ['10.129.0.7']);
  const policy = state.egressNetworkPolicies.get('team-a/default');
  assert.equal(policy?.creationTimestamp, '2026-01-02T03:04:05Z');
  assert.deepEqual(policy?.egress, [
    { type: 'Allow', to: { cidrSelector: '1.2.3.0/24' } },
    { type: 'Allow', to: { dnsName: 'www.example.com' } },
    { type: 'Deny', to: { cidrSelector: '0.0.0.0/0' } },
  ]);
  assert.deepEqual(state.netNamespaces.get('team-a'), {
    name: 'team-a',
    netname: 'team-a',
    netid: 100,
    egressIPs: ['192.168.1.100'],
  });
  assert.equal(state.netNamespaces.get('team-b')?.netid, 101);
  assert.deepEqual(state.hostSubnets.get('node-1'), {
    name: 'node-1',
    host: 'node-1',
    hostIP: '192.168.1.10',
    subnet: '10.128.0.0/23',
    egressIPs: ['192.168.1.100'],
    egressCIDRs: ['192.168.1.96/28'],
  });
  assert.deepEqual(state.problems, []);

  await eventually('every watch open', () => h.server.openWatches() === 5);
  for (const kind of ALL_KINDS) {
    const [list, ...moreLists] = h.server.requestsOf(kind, false);
    assert.equal(moreLists.length, 0, `one list of ${kind}`);
    assert.equal(list?.authorization, `Bearer ${TOKEN}`);
    const [watch] = h.server.requestsOf(kind, true);
    assert.equal(watch?.allowWatchBookmarks, true, `${kind} watch asks for bookmarks`);
    assert.equal(
      watch?.resourceVersion,
      String(h.server.resourceVersion),
      `${kind} watch from the list's version`,
    );
  }
});

/** 1,201 more pods (1,203 in all with the seed's): three pages of 500. */
function manyPods(server: FakeApiServer): void {
  for (let i = 0; i < 1201; i++) {
    server.put('Pod', {
      metadata: { name: `batch-${i}`, namespace: 'team-a' },
      spec: { nodeName: 'node-1' },
      status: { phase: 'Running', podIP: `10.130.${i >> 8}.${i & 255}` },
    });
  }
}

test('a collection past one page is listed in pages of 500 (continue tokens), then watched from the list', async (t) => {
  const h = await started(t, manyPods);
  assert.equal(h.latest().pods.size, 1203);
  const lists = h.server.requestsOf('Pod', false);
  assert.deepEqual(
    lists.map((r) => [r.status, r.limit, r.continue === undefined ? 'first' : 'continued']),
    [
      [200, '500', 'first'],
      [200, '500', 'continued'],
      [200, '500', 'continued'],
    ],
  );
  assert.deepEqual(
    h.server.requestsOf('Namespace', false).map((r) => r.limit),
    ['500'],
    'a small collection: one page',
  );
  assert.equal(h.server.requestsOf('Pod', true)[0]?.resourceVersion, String(h.server.resourceVersion));
  assert.deepEqual(h.errors, []);
});

test('a continue token the server no longer honours (410) lists the collection again, whole, as client-go does', async (t) => {
  const h = await started(t, (server) => {
    manyPods(server);
    server.continueExpires = true;
  });
  assert.equal(h.latest().pods.size, 1203);
  assert.deepEqual(
    h.server.requestsOf('Pod', false).map((r) => [r.status, r.limit ?? 'no limit', r.continue !== undefined]),
    [
      [200, '500', false],
      [410, '500', true],
      [200, 'no limit', false],
    ],
  );
  assert.deepEqual(h.errors, []);
});

test('ADDED, MODIFIED and DELETED events are applied; a burst comes as few states', async (t) => {
  const h = await started(t);
  const before = h.states.length;
  h.server.put('Namespace', { metadata: { name: 'team-c' } });
  h.server.put('Pod', {
    metadata: { name: 'api-1', namespace: 'team-c' },
    spec: { nodeName: 'node-1' },
    status: { phase: 'Pending' },
  });
  h.server.put('Pod', {
    metadata: { name: 'api-1', namespace: 'team-c' },
    spec: { nodeName: 'node-1' },
    status: { phase: 'Running', podIPs: [{ ip: '10.128.0.9' }] },
  });
  h.server.put('EgressNetworkPolicy', {
    metadata: { name: 'default', namespace: 'team-a' },
    spec: { egress: [{ type: 'Deny', to: { cidrSelector: '0.0.0.0/0' } }] },
  });
  h.server.remove('NetNamespace', 'team-b');
  h.server.remove('Pod', 'db-1', 'team-b');
  h.server.put('HostSubnet', {
    metadata: { name: 'node-2' },
    host: 'node-2',
    hostIP: '192.168.1.11',
    subnet: '10.129.0.0/23',
  });
  const state = await eventually('the changes', () => {
    const s = h.latest();
    return s.hostSubnets.has('node-2') &&
      s.pods.get('team-c/api-1')?.phase === 'Running' &&
      !s.pods.has('team-b/db-1')
      ? s
      : undefined;
  });
  assert.ok(state.namespaces.has('team-c'));
  assert.deepEqual(state.pods.get('team-c/api-1')?.ips, ['10.128.0.9']);
  assert.deepEqual(state.egressNetworkPolicies.get('team-a/default')?.egress, [
    { type: 'Deny', to: { cidrSelector: '0.0.0.0/0' } },
  ]);
  assert.equal(state.netNamespaces.has('team-b'), false);
  assert.ok(
    h.states.length - before < 7,
    `seven changes in one burst gave ${h.states.length - before} states`,
  );
  // A change the agent does not read (a pod's labels) is not a new state.
  const count = h.states.length;
  h.server.put('Pod', {
    metadata: { name: 'api-1', namespace: 'team-c', labels: { app: 'api' } },
    spec: { nodeName: 'node-1' },
    status: { phase: 'Running', podIPs: [{ ip: '10.128.0.9' }] },
  });
  await delay(150);
  assert.equal(h.states.length, count);
});

test('watch connections dropped by the server are opened again from the last resource version, without a relist', async (t) => {
  const h = await started(t);
  const seen = String(h.server.resourceVersion);
  h.server.dropWatches('destroy');
  // Changes while no watch is open: the new watches must replay them from the history.
  h.server.put('Namespace', { metadata: { name: 'during-the-gap' } });
  h.server.remove('Pod', 'web-1', 'team-a');
  await eventually('the changes of the gap', () => {
    const s = h.latest();
    return s.namespaces.has('during-the-gap') && !s.pods.has('team-a/web-1') ? s : undefined;
  });
  await eventually('every watch open again', () => h.server.openWatches() === 5);
  for (const kind of ALL_KINDS) {
    assert.equal(h.server.requestsOf(kind, false).length, 1, `no relist of ${kind}`);
    const watches = h.server.requestsOf(kind, true);
    assert.equal(watches.length, 2, `${kind} watched twice`);
    assert.equal(watches[1]!.resourceVersion, seen, `${kind} watched again from ${seen}`);
  }
  assert.ok(h.errors.some((e) => /^kubernetes source: watch of pods failed: /.test(e.message)));
  // Watches that end cleanly are opened again too.
  h.server.dropWatches('end');
  h.server.put('Namespace', { metadata: { name: 'after-a-clean-end' } });
  await eventually('the change after a clean end', () => h.latest().namespaces.has('after-a-clean-end'));
  assert.equal(h.server.requestsOf('Namespace', false).length, 1);
});

test('410 Gone as the HTTP status of a watch: the relist replaces the cache (what was deleted in the gap is gone)', async (t) => {
  const h = await started(t);
  h.server.dropWatches('destroy');
  h.server.remove('Pod', 'web-1', 'team-a');
  h.server.remove('HostSubnet', 'node-1');
  h.server.compact();
  await eventually('the relist without the deleted objects', () => {
    const s = h.latest();
    return !s.pods.has('team-a/web-1') && !s.hostSubnets.has('node-1') ? s : undefined;
  });
  assert.ok(h.server.requestsOf('Pod', true).some((r) => r.status === 410));
  assert.equal(h.server.requestsOf('Pod', false).length, 2);
  assert.ok(h.logs.some((l) => l.msg.includes('expired (410)') && l.kind === 'Pod'));
  await eventually('every watch open again', () => h.server.openWatches() === 5);
  h.server.put('Pod', { metadata: { name: 'web-2', namespace: 'team-a' }, status: { podIP: '10.128.0.6' } });
  await eventually('a change after the relist', () => h.latest().pods.has('team-a/web-2'));
});

for (const endAfterErrorEvent of [true, false]) {
  const how = endAfterErrorEvent ? 'the server ends the stream' : 'the server leaves the stream open';
  test(`410 Gone as an ERROR event in the watch stream (${how}): relist`, async (t) => {
    const h = await started(t, (server) => {
      server.goneAs = 'event';
      server.endAfterErrorEvent = endAfterErrorEvent;
    });
    h.server.dropWatches('destroy');
    h.server.remove('Namespace', 'team-b');
    h.server.remove('EgressNetworkPolicy', 'default', 'team-a');
    h.server.compact();
    await eventually('the relist without the deleted objects', () => {
      const s = h.latest();
      return !s.namespaces.has('team-b') && s.egressNetworkPolicies.size === 0 ? s : undefined;
    });
    assert.equal(h.server.requestsOf('Namespace', false).length, 2);
    assert.equal(h.server.requestsOf('EgressNetworkPolicy', false).length, 2);
    await eventually('every watch open again', () => h.server.openWatches() === 5);
    h.server.put('Namespace', { metadata: { name: 'team-d' } });
    await eventually('a change after the relist', () => h.latest().namespaces.has('team-d'));
  });
}

test('BOOKMARK events advance the resource version without a new state', async (t) => {
  const h = await started(t);
  // Changes to other kinds move the server's version past the pods watch's.
  h.server.put('Namespace', { metadata: { name: 'team-x' } });
  h.server.put('Namespace', { metadata: { name: 'team-y' } });
  await eventually('the namespaces', () => h.latest().namespaces.has('team-y'));
  const count = h.states.length;
  const bookmarked = String(h.server.resourceVersion);
  h.server.bookmark('Pod');
  await delay(200);
  assert.equal(h.states.length, count, 'a bookmark is not a new state');
  // Had the bookmark not advanced the pods watch's version, watching again after the compaction
  // would meet 410 and list again.
  h.server.compact();
  h.server.dropWatches('destroy', 'Pod');
  await eventually('the pods watch open again', () => h.server.openWatches('Pod') === 1);
  const watches = h.server.requestsOf('Pod', true);
  assert.equal(watches.at(-1)?.resourceVersion, bookmarked);
  assert.equal(watches.at(-1)?.status, 200);
  assert.equal(h.server.requestsOf('Pod', false).length, 1, 'no relist of pods');
});

test('watch failures back off (doubling), keep the resource version, and are reported', async (t) => {
  const h = await started(t);
  const seen = String(h.server.resourceVersion);
  h.server.fail({ kind: 'Pod', watch: true, status: 500, times: 3 });
  h.server.dropWatches('destroy', 'Pod');
  h.server.put('Pod', { metadata: { name: 'late-1', namespace: 'team-a' }, status: { podIP: '10.128.0.8' } });
  await eventually('the pod after the failures', () => h.latest().pods.has('team-a/late-1'));
  const retries = h.logs
    .filter((l) => l.kind === 'Pod' && typeof l.retryInMs === 'number')
    .map((l) => l.retryInMs);
  assert.deepEqual(retries, [50, 100, 200, 400]);
  assert.ok(
    h.errors.some((e) =>
      e.message.startsWith('kubernetes source: watch of pods failed: 500 Internal Server Error'),
    ),
  );
  assert.ok(
    h.server
      .requestsOf('Pod', true)
      .slice(1)
      .every((r) => r.resourceVersion === seen),
  );
  assert.equal(h.server.requestsOf('Pod', false).length, 1);
});

test('a kind the server does not serve (404: no CRDs) is empty, logged once, the rest works, and is picked up once served', async (t) => {
  const network: FakeKind[] = ['EgressNetworkPolicy', 'NetNamespace', 'HostSubnet'];
  const h = await harness(t, (server) => {
    for (const kind of network) server.setServed(kind, false);
  });
  await h.source.start((state) => h.states.push(state));
  const state = h.latest();
  assert.equal(state.namespaces.size, 3);
  assert.equal(state.pods.size, 2);
  assert.equal(state.egressNetworkPolicies.size, 0);
  assert.equal(state.netNamespaces.size, 0);
  assert.equal(state.hostSubnets.size, 0);
  h.server.put('Pod', { metadata: { name: 'web-3', namespace: 'team-a' }, status: { podIP: '10.128.0.10' } });
  await eventually('a pod change', () => h.latest().pods.has('team-a/web-3'));
  await eventually('a few retries', () => h.server.requestsOf('HostSubnet', false).length >= 3);
  for (const kind of network) {
    assert.equal(
      h.logs.filter((l) => l.kind === kind && l.msg.includes('not served')).length,
      1,
      `${kind} logged once`,
    );
  }
  h.server.setServed('HostSubnet', true);
  await eventually('the host subnets once served', () => h.latest().hostSubnets.has('node-1'));
  h.server.put('HostSubnet', {
    metadata: { name: 'node-9' },
    host: 'node-9',
    hostIP: '192.168.1.19',
    subnet: '10.130.0.0/23',
  });
  await eventually('a change to them', () => h.latest().hostSubnets.has('node-9'));
});

test('a 403 on the first list: start() rejects with one line and nothing stays open', async (t) => {
  const message =
    'pods is forbidden: User "system:serviceaccount:egress:agent" cannot list resource "pods" in API group "" at the cluster scope';
  const h = await harness(t, (server) => server.fail({ kind: 'Pod', watch: false, status: 403, message }));
  const states: ClusterState[] = [];
  await assert.rejects(
    h.source.start((state) => states.push(state)),
    (error: Error) => {
      assert.equal(error.message, `kubernetes source: cannot list pods: 403 Forbidden: ${message}`);
      assert.ok(!error.message.includes('\n'));
      return true;
    },
  );
  assert.equal(states.length, 0);
  await eventually('no watch open', () => h.server.openWatches() === 0);
  await delay(100);
  assert.equal(h.server.openWatches(), 0);
});

test('wrong credentials: start() rejects with the 401', async (t) => {
  const h = await harness(t);
  h.server.token = 'another-token';
  await assert.rejects(
    h.source.start(() => {}),
    /^Error: kubernetes source: cannot list [a-z]+: 401 Unauthorized: Unauthorized$/,
  );
});

const openssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

test("over HTTPS: the kubeconfig's CA is trusted, and a server it did not sign is refused in one line", {
  skip: openssl ? false : 'openssl is not installed (it makes the test certificates)',
}, async (t) => {
  const serverCertificate = selfSigned();
  const trusted = await harness(t, undefined, { server: serverCertificate, trusted: serverCertificate });
  assert.match(trusted.server.url, /^https:/);
  await trusted.source.start((state) => trusted.states.push(state));
  assert.equal(trusted.latest().namespaces.size, 3);
  trusted.server.put('Namespace', { metadata: { name: 'over-tls' } });
  await eventually('a change over TLS', () => trusted.latest().namespaces.has('over-tls'));

  const stranger = await harness(t, undefined, { server: serverCertificate, trusted: selfSigned() });
  await assert.rejects(
    stranger.source.start(() => {}),
    (error: Error) => {
      assert.match(error.message, /^kubernetes source: cannot list [a-z]+: .*certificate/);
      assert.ok(!error.message.includes('\n'));
      return true;
    },
  );
});

test('close() stops every watch and timer, is idempotent, and no state comes after it', async (t) => {
  const h = await started(t, (server) => server.setServed('NetNamespace', false));
  await h.source.close();
  await h.source.close();
  await eventually('no watch open', () => h.server.openWatches() === 0);
  const count = h.states.length;
  h.server.put('Namespace', { metadata: { name: 'after-close' } });
  await delay(300);
  assert.equal(h.states.length, count);
  assert.equal(h.server.requestsOf('NetNamespace', false).length, 1, 'no retry of the 404 kind after close');
});

test('close() before the first state: start() rejects, and a second start() is refused', async (t) => {
  const h = await harness(t);
  const starting = h.source.start(() => {});
  await h.source.close();
  await assert.rejects(starting, /^Error: kubernetes source: closed before the first state$/);
  await assert.rejects(
    h.source.start(() => {}),
    /^Error: kubernetes source: already started$/,
  );
  await delay(100);
  assert.equal(h.server.openWatches(), 0);
});

test('a process that starts and closes the source exits by itself (no handle left open)', async (t) => {
  const h = await harness(t);
  const module = fileURLToPath(new URL('../../src/cluster/kubernetes-source.js', import.meta.url));
  const script = [
    `const { createKubernetesSource } = await import(${JSON.stringify(module)});`,
    `const source = createKubernetesSource({ kubeconfig: ${JSON.stringify(h.kubeconfig)} });`,
    'let n = 0;',
    'await source.start((state) => { n = state.namespaces.size; });',
    'await new Promise((resolve) => setTimeout(resolve, 100));',
    'await source.close();',
    "console.log('closed with ' + n + ' namespaces');",
  ].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const code = await Promise.race([exited, delay(5000, 'timeout' as const, { ref: false })]);
  if (code === 'timeout') child.kill('SIGKILL');
  assert.equal(code, 0, output);
  assert.equal(output.trim(), 'closed with 3 namespaces');
});
