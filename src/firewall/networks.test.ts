import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterStateBuilder, readClusterObject } from '../cluster/objects.js';
import type { ClusterState } from '../cluster/types.js';
import { namespaceNetworks } from './networks.js';

/** A NetNamespace as `oc get netnamespace -o yaml` prints it (netid left out when undefined). */
function netNamespace(name: string, netid: number | undefined, netname?: string): unknown {
  return {
    apiVersion: 'network.openshift.io/v1',
    kind: 'NetNamespace',
    metadata: { name },
    netname: netname ?? name,
    ...(netid === undefined ? {} : { netid }),
  };
}

/** The state of these documents, read as a source reads them. */
function stateOf(...documents: unknown[]): ClusterState {
  const builder = new ClusterStateBuilder();
  for (const document of documents) {
    const read = readClusterObject(document);
    if (!read.ok) throw new Error(read.message);
    if (read.object !== undefined) builder.add(read.object);
  }
  return builder.build();
}

describe('namespaceNetworks()', () => {
  test('namespaceNetworks() without NetNamespaces (plain Kubernetes) knows only default, as global', () => {
    assert.deepEqual(namespaceNetworks(stateOf()), new Map([['default', { global: true, joined: [] }]]));
  });

  test('namespaceNetworks() takes netid 0 as global, default or not', () => {
    const networks = namespaceNetworks(
      stateOf(netNamespace('default', 0), netNamespace('openshift-infra', 0), netNamespace('myproject', 12)),
    );
    assert.deepEqual(
      networks,
      new Map([
        ['default', { global: true, joined: [] }],
        ['openshift-infra', { global: true, joined: [] }],
        ['myproject', { global: false, joined: [] }],
      ]),
    );
  });

  test('namespaceNetworks() does not join the global namespaces with each other', () => {
    const networks = namespaceNetworks(stateOf(netNamespace('a', 0), netNamespace('b', 0)));
    assert.deepEqual(networks.get('a'), { global: true, joined: [] });
    assert.deepEqual(networks.get('b'), { global: true, joined: [] });
  });

  test('namespaceNetworks() lists, for each namespace of a shared netid, the others, sorted', () => {
    const networks = namespaceNetworks(
      stateOf(
        netNamespace('c', 5),
        netNamespace('a', 5),
        netNamespace('b', 5),
        netNamespace('d', 6),
        netNamespace('e', 7),
        netNamespace('f', 7),
      ),
    );
    assert.deepEqual(networks.get('a'), { global: false, joined: ['b', 'c'] });
    assert.deepEqual(networks.get('b'), { global: false, joined: ['a', 'c'] });
    assert.deepEqual(networks.get('c'), { global: false, joined: ['a', 'b'] });
    assert.deepEqual(networks.get('d'), { global: false, joined: [] });
    assert.deepEqual(networks.get('e'), { global: false, joined: ['f'] });
    assert.deepEqual(networks.get('f'), { global: false, joined: ['e'] });
    assert.deepEqual(networks.get('default'), { global: true, joined: [] });
  });

  test('namespaceNetworks() keys by netname, the namespace the NetNamespace stands for', () => {
    const networks = namespaceNetworks(
      stateOf(netNamespace('obj-a', 9, 'team-a'), netNamespace('obj-b', 9, 'team-b')),
    );
    assert.deepEqual(networks.get('team-a'), { global: false, joined: ['team-b'] });
    assert.deepEqual(networks.get('team-b'), { global: false, joined: ['team-a'] });
    assert.equal(networks.has('obj-a'), false);
  });

  test('namespaceNetworks() takes a NetNamespace without a netid as its own network, neither global nor joined', () => {
    const networks = namespaceNetworks(
      stateOf(netNamespace('a', undefined), netNamespace('b', undefined), {
        ...(netNamespace('c', 0) as object),
        netid: '0',
      }),
    );
    assert.deepEqual(networks.get('a'), { global: false, joined: [] });
    assert.deepEqual(networks.get('b'), { global: false, joined: [] });
    // A netid that is not a number is no netid (readClusterObject leaves it undefined).
    assert.deepEqual(networks.get('c'), { global: false, joined: [] });
  });

  test('namespaceNetworks() follows a NetNamespace of default with a netid other than 0', () => {
    const networks = namespaceNetworks(stateOf(netNamespace('default', 3), netNamespace('other', 3)));
    assert.deepEqual(networks.get('default'), { global: false, joined: ['other'] });
    assert.deepEqual(networks.get('other'), { global: false, joined: ['default'] });
  });

  test('namespaceNetworks() leaves out namespaces that have no NetNamespace (but default)', () => {
    const networks = namespaceNetworks(
      stateOf({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain' } }, netNamespace('x', 4)),
    );
    assert.deepEqual([...networks.keys()].sort(), ['default', 'x']);
  });
});
