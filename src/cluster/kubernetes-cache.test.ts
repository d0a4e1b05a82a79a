import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildClusterState, KindCache } from './kubernetes-cache.js';

const pod = (name: string, ip: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: 'team-a', resourceVersion: '7', ...extra },
  spec: { nodeName: 'node-1' },
  status: { phase: 'Running', podIP: ip },
});

test('KindCache.replace() reads list items with the kind as hint and tells whether anything changed', () => {
  const cache = new KindCache('Pod');
  assert.equal(cache.replace([pod('a', '10.0.0.1'), pod('b', '10.0.0.2')]), true);
  assert.deepEqual([...buildClusterState([cache]).pods.keys()], ['team-a/a', 'team-a/b']);
  assert.equal(cache.replace([pod('a', '10.0.0.1'), pod('b', '10.0.0.2')]), false, 'the same list again');
  assert.equal(cache.replace([pod('b', '10.0.0.2')]), true, 'an object gone');
  assert.deepEqual([...buildClusterState([cache]).pods.keys()], ['team-a/b']);
});

test('KindCache.put() and delete(): a change the agent does not read is not a change', () => {
  const cache = new KindCache('Pod');
  assert.equal(cache.put(pod('a', '10.0.0.1')), true);
  assert.equal(cache.put(pod('a', '10.0.0.1', { resourceVersion: '8', labels: { app: 'x' } })), false);
  assert.equal(cache.put(pod('a', '10.0.0.9')), true);
  assert.deepEqual(buildClusterState([cache]).pods.get('team-a/a')?.ips, ['10.0.0.9']);
  assert.equal(cache.delete(pod('a', '10.0.0.9')), true);
  assert.equal(cache.delete(pod('a', '10.0.0.9')), false);
  assert.equal(cache.size, 0);
});

test('KindCache: refused objects are problems with origin "<Kind> <namespace>/<name>", removed like objects', () => {
  const cache = new KindCache('NetNamespace');
  cache.replace([{ metadata: { name: 'team-a' }, netid: 1 }, { metadata: {} }]);
  const pods = new KindCache('Pod');
  pods.put({ metadata: { name: 'lost' } });
  assert.deepEqual(buildClusterState([cache, pods]).problems, [
    { origin: 'NetNamespace ?', message: 'NetNamespace without metadata.name' },
    { origin: 'Pod lost', message: 'Pod lost without metadata.namespace' },
  ]);
  pods.delete({ metadata: { name: 'lost' } });
  assert.equal(buildClusterState([cache, pods]).problems.length, 1);
  assert.equal(buildClusterState([cache, pods]).netNamespaces.get('team-a')?.netid, 1);
});

test('KindCache: an object of another API version is not read, and replaces what had its name', () => {
  const cache = new KindCache('HostSubnet');
  cache.put({ metadata: { name: 'node-1' }, hostIP: '192.168.1.10', subnet: '10.128.0.0/23' });
  assert.equal(
    cache.put({ apiVersion: 'example.com/v1', kind: 'HostSubnet', metadata: { name: 'node-1' } }),
    true,
  );
  assert.equal(cache.size, 0);
});
