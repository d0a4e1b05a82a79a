import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isManifestName, type ManifestFile, readManifestTexts, sameManifestFiles } from './read-manifests.js';

/** The example policy of the seed (OpenShift 3.11 docs, 6.5.1), verbatim, with a namespace added. */
const SEED_POLICY = `{
    "kind": "EgressNetworkPolicy",
    "apiVersion": "v1",
    "metadata": {
        "name": "default",
        "namespace": "project1"
    },
    "spec": {
        "egress": [
            {
                "type": "Allow",
                "to": {
                    "cidrSelector": "1.2.3.0/24"
                }
            },
            {
                "type": "Allow",
                "to": {
                    "dnsName": "www.foo.com"
                }
            },
            {
                "type": "Deny",
                "to": {
                    "cidrSelector": "0.0.0.0/0"
                }
            }
        ]
    }
}
`;

const NAMESPACES = `apiVersion: v1
kind: Namespace
metadata:
  name: project1
---
apiVersion: v1
kind: Namespace
metadata:
  name: project2
`;

describe('readManifestTexts()', () => {
  test('reads every document of a multi-document YAML file', () => {
    const state = readManifestTexts([{ name: 'namespaces.yaml', text: NAMESPACES }]);
    assert.deepEqual([...state.namespaces.keys()], ['project1', 'project2']);
    assert.deepEqual(state.problems, []);
  });

  test("reads the seed's example policy (JSON, apiVersion v1) with a namespace", () => {
    const state = readManifestTexts([{ name: 'policy.json', text: SEED_POLICY }]);
    assert.deepEqual(state.problems, []);
    assert.deepEqual(state.egressNetworkPolicies.get('project1/default'), {
      namespace: 'project1',
      name: 'default',
      creationTimestamp: undefined,
      egress: [
        { type: 'Allow', to: { cidrSelector: '1.2.3.0/24' } },
        { type: 'Allow', to: { dnsName: 'www.foo.com' } },
        { type: 'Deny', to: { cidrSelector: '0.0.0.0/0' } },
      ],
    });
  });

  test('reads the items of a List, the shape `oc get -o yaml` prints', () => {
    const text = `apiVersion: v1
kind: List
items:
- apiVersion: network.openshift.io/v1
  kind: NetNamespace
  metadata:
    name: project1
  netid: 12
  netname: project1
  egressIPs:
  - 192.168.1.100
- apiVersion: network.openshift.io/v1
  kind: HostSubnet
  metadata:
    name: node1
  host: node1
  hostIP: 192.168.1.10
  subnet: 10.128.0.0/23
  egressIPs: []
metadata:
  resourceVersion: ""
`;
    const state = readManifestTexts([{ name: 'get.yaml', text }]);
    assert.deepEqual(state.problems, []);
    assert.deepEqual(state.netNamespaces.get('project1'), {
      name: 'project1',
      netname: 'project1',
      netid: 12,
      egressIPs: ['192.168.1.100'],
    });
    assert.equal(state.hostSubnets.get('node1')?.subnet, '10.128.0.0/23');
  });

  test('takes the kind of items from a typed list that prints none (EgressNetworkPolicyList)', () => {
    const text = JSON.stringify({
      apiVersion: 'network.openshift.io/v1',
      kind: 'EgressNetworkPolicyList',
      items: [{ metadata: { name: 'default', namespace: 'project2' }, spec: { egress: [] } }],
    });
    const state = readManifestTexts([{ name: 'list.json', text }]);
    assert.deepEqual(state.problems, []);
    assert.deepEqual([...state.egressNetworkPolicies.keys()], ['project2/default']);
  });

  test('refuses a namespaced object without metadata.namespace, saying the manifest must name it', () => {
    const unnamespaced = SEED_POLICY.replace(',\n        "namespace": "project1"', '');
    assert.notEqual(unnamespaced, SEED_POLICY);
    const state = readManifestTexts([{ name: 'policy.json', text: unnamespaced }]);
    assert.equal(state.egressNetworkPolicies.size, 0);
    assert.deepEqual(state.problems, [
      {
        origin: 'policy.json',
        message:
          'EgressNetworkPolicy default without metadata.namespace: a manifest in a directory source must name its namespace',
      },
    ]);
  });

  test('reports a document that does not parse with its file and document number, and reads the rest', () => {
    const broken = `apiVersion: v1
kind: Namespace
metadata:
  name: before
---
kind: Namespace
metadata:
  name: [unclosed
---
apiVersion: v1
kind: Namespace
metadata:
  name: after
`;
    const state = readManifestTexts([
      { name: 'a.yaml', text: broken },
      { name: 'b.json', text: '{"kind": "Namespace", "metadata": {"name": "b"}' },
      { name: 'c.yaml', text: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: c\n' },
    ]);
    assert.deepEqual([...state.namespaces.keys()], ['before', 'after', 'c']);
    assert.deepEqual(
      state.problems.map((problem) => problem.origin),
      ['a.yaml document 2', 'b.json'],
    );
    for (const problem of state.problems) {
      assert.match(problem.message, /at line \d+, column \d+$/);
      assert.doesNotMatch(problem.message, /\n/);
    }
  });

  test('reports an object readClusterObject refuses with its document and item, and reads the rest', () => {
    const text = `kind: List
items:
- kind: Namespace
  metadata:
    name: fine
- kind: Pod
  metadata:
    namespace: project1
---
kind: HostSubnet
`;
    const state = readManifestTexts([{ name: 'sub/objects.yml', text }]);
    assert.deepEqual([...state.namespaces.keys()], ['fine']);
    assert.deepEqual(state.problems, [
      { origin: 'sub/objects.yml document 1 item 2', message: 'Pod without metadata.name' },
      { origin: 'sub/objects.yml document 2', message: 'HostSubnet without metadata' },
    ]);
  });

  test('keeps the later of two objects with the same kind and key, and names the one ignored', () => {
    const policy = (cidr: string) =>
      JSON.stringify({
        apiVersion: 'network.openshift.io/v1',
        kind: 'EgressNetworkPolicy',
        metadata: { name: 'default', namespace: 'project1' },
        spec: { egress: [{ type: 'Deny', to: { cidrSelector: cidr } }] },
      });
    // Given out of order: file order is by name.
    const state = readManifestTexts([
      { name: 'b.json', text: policy('10.0.0.0/8') },
      { name: 'a.json', text: policy('0.0.0.0/0') },
    ]);
    assert.deepEqual(state.egressNetworkPolicies.get('project1/default')?.egress, [
      { type: 'Deny', to: { cidrSelector: '10.0.0.0/8' } },
    ]);
    assert.deepEqual(state.problems, [
      {
        origin: 'a.json',
        message:
          "EgressNetworkPolicy 'project1/default' ignored: duplicate of the one in 'b.json', which comes later",
      },
    ]);
  });

  test('a Namespace and a NetNamespace of the same name are not duplicates', () => {
    const text =
      'kind: Namespace\nmetadata:\n  name: p\n---\nkind: NetNamespace\nmetadata:\n  name: p\nnetid: 3\n';
    const state = readManifestTexts([{ name: 'p.yaml', text }]);
    assert.deepEqual(state.problems, []);
    assert.equal(state.namespaces.size, 1);
    assert.equal(state.netNamespaces.size, 1);
  });

  test('leaves out unknown kinds and other API versions silently, and skips empty documents', () => {
    const text = `---
# only a comment
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny
---
apiVersion: example.com/v1
kind: Namespace
metadata:
  name: not-core
---
`;
    const state = readManifestTexts([
      { name: 'other.yaml', text },
      { name: 'empty.yaml', text: '' },
    ]);
    assert.deepEqual(state, readManifestTexts([]));
  });

  test('reports a file that could not be read', () => {
    const state = readManifestTexts([{ name: 'secret.yaml', error: 'cannot read: permission denied' }]);
    assert.deepEqual(state.problems, [{ origin: 'secret.yaml', message: 'cannot read: permission denied' }]);
  });

  test('reports a document whose alias has no anchor', () => {
    const state = readManifestTexts([{ name: 'alias.yaml', text: 'kind: Namespace\nmetadata: *nothing\n' }]);
    assert.equal(state.problems.length, 1);
    assert.equal(state.problems[0]?.origin, 'alias.yaml');
    assert.match(state.problems[0]!.message, /alias/i);
  });
});

describe('isManifestName()', () => {
  test('takes .yaml, .yml and .json, and no hidden name', () => {
    const names = [
      'a.yaml',
      'b.yml',
      'c.json',
      'README.md',
      'a.yaml~',
      '.hidden.yaml',
      '..data',
      '..2024_01_01',
    ];
    assert.deepEqual(names.filter(isManifestName), ['a.yaml', 'b.yml', 'c.json']);
  });
});

describe('sameManifestFiles()', () => {
  test('compares names, texts and read errors in order', () => {
    const read: ManifestFile[] = [
      { name: 'a.yaml', text: 'x' },
      { name: 'b.yaml', error: 'cannot read: permission denied' },
    ];
    assert.equal(sameManifestFiles(read, structuredClone(read)), true);
    assert.equal(sameManifestFiles(read, [read[0]!]), false);
    assert.equal(sameManifestFiles(read, [{ name: 'a.yaml', text: 'y' }, read[1]!]), false);
    assert.equal(sameManifestFiles(read, [read[0]!, { name: 'b.yaml', text: '' }]), false);
    assert.equal(sameManifestFiles(read, [{ name: 'c.yaml', text: 'x' }, read[1]!]), false);
  });
});
